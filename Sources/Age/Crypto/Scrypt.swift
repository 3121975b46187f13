/// The scrypt stanza's salt label (age v1 spec, 'scrypt recipient stanza'): the salt is this followed by 16 random bytes.
let scryptLabel = Array("age-encryption.org/v1/scrypt".utf8)

/// A passphrase recipient: one `scrypt` stanza, which must be the only stanza in its header
/// (age v1 spec, 'scrypt recipient stanza'; scrypt is RFC 7914).
public final class ScryptRecipient: Recipient {
    let passphrase: SecretBytes
    /// log2 of scrypt's N (r = 8, p = 1), 1...30; 18 by default, about 256 MiB of memory.
    public let workFactor: Int
    /// Always true: the age spec forbids an scrypt stanza next to any other stanza.
    public var mustBeAlone: Bool { true }

    /// `passphrase` is used byte for byte; `workFactor` is log2 N, 1...30 (a programming error otherwise:
    /// a trap, not a vault no one can open).
    public init(passphrase: consuming SecretBytes, workFactor: Int = 18) {
        precondition((1...30).contains(workFactor), "scrypt work factor \(workFactor) out of 1...30")
        self.passphrase = passphrase
        self.workFactor = workFactor
    }

    /// One `scrypt` stanza: a fresh 16-byte salt, the work factor in decimal, and a 32-byte body (the
    /// file key sealed with ChaCha20-Poly1305, RFC 7539, under the scrypt-derived key and a zero nonce).
    /// - Throws: `AgeError.invalid` when libsodium's scrypt fails (out of memory, or a work factor it refuses).
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

/// A passphrase identity: unwraps the file key from a lone `scrypt` stanza (age v1 spec,
/// 'scrypt recipient stanza'), refusing work factors above `maxWorkFactor`.
public final class ScryptIdentity: Identity {
    let passphrase: SecretBytes
    /// Work factors above this are refused: 2^22 is about 4 GiB and seconds of CPU.
    public let maxWorkFactor: Int

    /// `passphrase` is used byte for byte; `maxWorkFactor` is the largest log2 N accepted (22 by default).
    public init(passphrase: consuming SecretBytes, maxWorkFactor: Int = 22) {
        self.passphrase = passphrase
        self.maxWorkFactor = maxWorkFactor
    }

    /// The file key, or nil when there is no `scrypt` stanza or the passphrase does not open it.
    /// - Throws: `AgeError.header` when the scrypt stanza is not alone or is malformed (not two arguments after
    ///   the type, salt not 16 bytes of canonical base64, work factor not 1 to 99 without leading zeros, body
    ///   not 32 bytes); `.workFactorTooHigh` above `maxWorkFactor`; `.scryptFailed` when scrypt fails (out of memory).
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
