/// The scrypt passphrase recipient and identity.
let scryptLabel = Array("age-encryption.org/v1/scrypt".utf8)

public final class ScryptRecipient: Recipient {
    let passphrase: SecretBytes
    public let workFactor: Int
    public var mustBeAlone: Bool { true }

    public init(passphrase: consuming SecretBytes, workFactor: Int = 18) {
        self.passphrase = passphrase
        self.workFactor = workFactor
    }

    public func wrap(_ fileKey: borrowing SecretBytes) throws(AgeError) -> [Stanza] {
        let salt = Primitives.randomBytes(16)
        let key = SecretBytes(count: 32)
        let ok = passphrase.withUnsafeBytes { p in
            key.withUnsafeMutableBytesUnchecked { Primitives.scrypt(passphrase: p, salt: scryptLabel + salt, logN: workFactor, into: $0) }
        }
        guard ok else { throw .invalid("scrypt failed (out of memory?)") }
        return [Stanza(type: "scrypt", args: [String(decoding: Base64.encode(salt), as: UTF8.self), String(workFactor)],
                       body: wrapBody(fileKey, key: key))]
    }
}

public final class ScryptIdentity: Identity {
    let passphrase: SecretBytes
    /// Work factors above this are refused: 2^22 is about 4 GiB and seconds of CPU.
    public let maxWorkFactor: Int

    public init(passphrase: consuming SecretBytes, maxWorkFactor: Int = 22) {
        self.passphrase = passphrase
        self.maxWorkFactor = maxWorkFactor
    }

    public func unwrap(_ stanzas: [Stanza]) throws(AgeError) -> SecretBytes? {
        for stanza in stanzas where stanza.type == "scrypt" {
            guard stanzas.count == 1 else { throw .header("an scrypt stanza must be alone in the header") }
            guard stanza.args.count == 2 else { throw .header("scrypt stanza: wrong number of arguments") }
            guard let salt = Base64.decode(Array(stanza.args[0].utf8)), salt.count == 16 else {
                throw .header("scrypt stanza: invalid salt")
            }
            let wf = Array(stanza.args[1].utf8)
            guard let first = wf.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9"), wf.count <= 2,
                  wf.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let logN = Int(stanza.args[1]), logN > 0 else {
                throw .header("scrypt stanza: invalid work factor")
            }
            guard logN <= maxWorkFactor else {
                throw .workFactorTooHigh(workFactor: logN, limit: maxWorkFactor)
            }
            guard stanza.body.count == fileKeySize + 16 else { throw .header("scrypt stanza: invalid body size") }
            let key = SecretBytes(count: 32)
            let ok = passphrase.withUnsafeBytes { p in
                key.withUnsafeMutableBytesUnchecked { Primitives.scrypt(passphrase: p, salt: scryptLabel + salt, logN: logN, into: $0) }
            }
            guard ok else { throw .scryptFailed }
            if let fileKey = unwrapBody(stanza.body, key: key) { return fileKey }
        }
        return nil
    }
}
