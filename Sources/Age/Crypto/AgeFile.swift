/// Encrypting and decrypting whole age files.
///
/// Decryption reads as a short story: dearmor, parse the header, try each
/// identity, check the header MAC in constant time, then open the STREAM
/// payload. It is all-or-nothing: no plaintext is returned unless the whole
/// payload authenticated.
public enum AgeFile {
    static let chunkSize = 64 * 1024
    static let tagSize = 16
    static let nonceSize = 16

    /// The parsed header of a (possibly armored) file, and the binary file.
    public static func inspect(_ file: [UInt8], armored: Bool? = nil) throws(AgeError) -> (header: Header, binary: [UInt8], payloadOffset: Int) {
        let binary = try (armored ?? Armor.isArmored(file)) ? Armor.decode(file) : file
        let (header, offset) = try HeaderFormat.parse(binary)
        return (header, binary, offset)
    }

    /// Decrypts `file`. `armored` nil sniffs for armor.
    public static func decrypt(_ file: [UInt8], identities: [any Identity], armored: Bool? = nil,
                               maxPlaintext: Int = 1 << 30) throws(AgeError) -> SecretBytes {
        let (header, binary, payloadOffset) = try inspect(file, armored: armored)
        if header.stanzas.contains(where: { $0.type == "scrypt" }) && header.stanzas.count != 1 {
            throw .header("an scrypt stanza must be alone in the header")
        }
        let fileKey = try unwrapFileKey(header, identities: identities)
        try verifyMAC(header, fileKey: fileKey)
        guard binary.count - payloadOffset >= nonceSize else { throw .header("missing payload nonce") }
        let nonce = Array(binary[payloadOffset..<(payloadOffset + nonceSize)])
        let payloadKey = Primitives.hkdf(ikm: fileKey, salt: nonce, info: "payload")
        return try openStream(binary, from: payloadOffset + nonceSize, key: payloadKey, maxPlaintext: maxPlaintext)
    }

    /// The first identity that unwraps a stanza wins; malformed stanzas stop the search.
    static func unwrapFileKey(_ header: Header, identities: [any Identity]) throws(AgeError) -> SecretBytes {
        for identity in identities {
            switch try identity.unwrap(header.stanzas) {
            case .some(let key): return key
            case .none: continue
            }
        }
        throw .noMatch
    }

    static func verifyMAC(_ header: Header, fileKey: borrowing SecretBytes) throws(AgeError) {
        let hmacKey = Primitives.hkdf(ikm: fileKey, salt: [], info: "header")
        var mac = [UInt8](repeating: 0, count: 32)
        hmacKey.withUnsafeBytes { k in
            header.macInput.withUnsafeBytes { m in mac.withUnsafeMutableBytes { Primitives.hmac(key: k, m, into: $0) } }
        }
        let ok = header.mac.withUnsafeBytes { Primitives.equal32(mac, $0) }
        guard ok else { throw .hmac }
    }

    static func chunkNonce(_ counter: UInt64, last: Bool) -> [UInt8] {
        var n = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { n[10 - i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
        n[11] = last ? 1 : 0
        return n
    }

    static func openStream(_ file: [UInt8], from offset: Int, key: borrowing SecretBytes, maxPlaintext: Int) throws(AgeError) -> SecretBytes {
        let sealed = chunkSize + tagSize
        let payloadCount = file.count - offset
        guard payloadCount > 0 else { throw .payload("no chunks") }
        let full = payloadCount / sealed, rem = payloadCount % sealed
        let chunks = rem == 0 ? full : full + 1
        if rem != 0 && rem < tagSize { throw .payload("truncated chunk") }
        let size = payloadCount - chunks * tagSize
        guard size <= maxPlaintext else { throw .payload("plaintext larger than \(maxPlaintext) bytes") }
        let out = SecretBytes(count: size)
        let result: Result<Void, AgeError> = file.withUnsafeBytes { (all: UnsafeRawBufferPointer) in Result { () throws(AgeError) in
        let payload = UnsafeRawBufferPointer(rebasing: all[offset...])
        try key.withUnsafeBytes { (k: UnsafeRawBufferPointer) throws(AgeError) in
            try out.withUnsafeMutableBytesUnchecked { (dst: UnsafeMutableRawBufferPointer) throws(AgeError) in
                for i in 0..<chunks {
                    let last = i == chunks - 1
                    let start = i * sealed, end = min(start + sealed, payload.count)
                    let c = UnsafeRawBufferPointer(rebasing: payload[start..<end])
                    let plainStart = i * chunkSize
                    let p = UnsafeMutableRawBufferPointer(rebasing: dst[plainStart..<(plainStart + c.count - tagSize)])
                    let ok = chunkNonce(UInt64(i), last: last).withUnsafeBytes { Primitives.open(key: k, nonce: $0, c, into: p) }
                    guard ok else {
                        throw .payload(last ? "last chunk failed to authenticate (truncated or tampered)" : "chunk \(i) failed to authenticate")
                    }
                    if last && p.count == 0 && i > 0 { throw .payload("last chunk is empty") }
                }
            }
        }
        } }
        try result.get()
        return out
    }

    /// Encrypts `plaintext` to `recipients`. Output is binary, or ASCII-armored.
    public static func encrypt(_ plaintext: borrowing SecretBytes, to recipients: [any Recipient], armor: Bool = false) throws(AgeError) -> [UInt8] {
        guard !recipients.isEmpty else { throw .invalid("no recipients") }
        if recipients.count > 1 && recipients.contains(where: { $0.mustBeAlone }) {
            throw .invalid("a passphrase can't be combined with other recipients")
        }
        let fileKey = SecretBytes.random(count: fileKeySize)
        var stanzas: [Stanza] = []
        for r in recipients { stanzas += try r.wrap(fileKey) }
        let macInput = HeaderFormat.marshalWithoutMAC(stanzas)
        let hmacKey = Primitives.hkdf(ikm: fileKey, salt: [], info: "header")
        var mac = [UInt8](repeating: 0, count: 32)
        hmacKey.withUnsafeBytes { k in macInput.withUnsafeBytes { m in mac.withUnsafeMutableBytes { Primitives.hmac(key: k, m, into: $0) } } }
        var out = HeaderFormat.marshal(stanzas, mac: mac)
        let nonce = Primitives.randomBytes(nonceSize)
        out += nonce
        let payloadKey = Primitives.hkdf(ikm: fileKey, salt: nonce, info: "payload")
        let chunks = max(1, (plaintext.count + chunkSize - 1) / chunkSize)
        let headerEnd = out.count
        out += [UInt8](repeating: 0, count: plaintext.count + chunks * tagSize)
        payloadKey.withUnsafeBytes { k in
            plaintext.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    for i in 0..<chunks {
                        let ps = i * chunkSize, pe = min(ps + chunkSize, plaintext.count)
                        let cs = headerEnd + i * (chunkSize + tagSize)
                        let p = UnsafeRawBufferPointer(rebasing: src[ps..<pe])
                        let c = UnsafeMutableRawBufferPointer(rebasing: dst[cs..<(cs + (pe - ps) + tagSize)])
                        chunkNonce(UInt64(i), last: i == chunks - 1).withUnsafeBytes { Primitives.seal(key: k, nonce: $0, p, into: c) }
                    }
                }
            }
        }
        return armor ? Armor.encode(out) : out
    }
}
