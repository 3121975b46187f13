/// An X25519 public key, `age1…`.
public final class X25519Recipient: Recipient, Equatable, Hashable, CustomStringConvertible, @unchecked Sendable {
    /// The raw 32-byte X25519 public key (RFC 7748), not its Bech32 text.
    public let publicKey: [UInt8]
    static let hrp = "age"
    static let label = Array("age-encryption.org/v1/X25519".utf8)

    /// From a raw public key. Low-order points are not checked here; `wrap` refuses them.
    /// - Throws: `AgeError.invalid` unless `publicKey` is 32 bytes.
    public init(publicKey: [UInt8]) throws(AgeError) {
        guard publicKey.count == 32 else { throw .invalid("an X25519 public key is 32 bytes") }
        self.publicKey = publicKey
    }

    /// Parses `age1…`.
    public convenience init(parsing text: String) throws(AgeError) {
        let bytes = Array(text.utf8)
        var out = [UInt8](repeating: 0, count: bytes.count)
        let decoded = bytes.withUnsafeBytes { t in out.withUnsafeMutableBytes { Bech32.decode(t, into: $0) } }
        guard let decoded, decoded.hrp == Self.hrp, decoded.count == 32, text == text.lowercased() else {
            // Never echo the input: people paste identities (AGE-SECRET-KEY-1…) here by mistake.
            if text.uppercased().hasPrefix("AGE-SECRET-KEY-") {
                throw .invalid("that is a secret key (AGE-SECRET-KEY-1…), not a recipient; it was not stored or printed. Use its public key: age-keygen -y FILE")
            }
            throw .invalid("not a valid recipient: expected age1… (an X25519 public key)")
        }
        try self.init(publicKey: Array(out[0..<32]))
    }

    /// The Bech32 (BIP 173) text with HRP `age`, lowercase: `age1…`.
    public var description: String {
        var out = [UInt8](repeating: 0, count: Bech32.encodedLength(hrp: Self.hrp, dataCount: 32))
        publicKey.withUnsafeBytes { k in
            _ = out.withUnsafeMutableBytes { Bech32.encode(hrp: Self.hrp, data: k, uppercase: false, into: $0) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Equal when the 32-byte public keys are equal.
    public static func == (a: X25519Recipient, b: X25519Recipient) -> Bool { a.publicKey == b.publicKey }
    /// Hashes the 32-byte public key.
    public func hash(into h: inout Hasher) { h.combine(publicKey) }

    /// One `X25519` stanza for `fileKey`, with a fresh ephemeral share (age v1 spec, 'X25519 recipient stanza').
    /// - Throws: `AgeError.invalid` when the public key is a low-order point (the shared secret is all zeros).
    public func wrap(_ fileKey: borrowing SecretBytes) throws(AgeError) -> [Stanza] {
        let ephemeral = SecretBytes.random(count: 32)
        let share = ephemeral.withUnsafeBytes { Primitives.x25519Base(scalar: $0) }
        let shared = SecretBytes(count: 32)
        let ok = ephemeral.withUnsafeBytes { e in
            publicKey.withUnsafeBytes { p in shared.withUnsafeMutableBytesUnchecked { Primitives.x25519(scalar: e, point: p, into: $0) } }
        }
        guard ok else { throw .invalid("the recipient's public key is a low-order point") }
        let wrapKey = X25519Identity.wrapKey(shared: shared, share: share, recipient: publicKey)
        return [Stanza(type: "X25519", args: [String(decoding: Base64.encode(share), as: UTF8.self)],
                       body: wrapBody(fileKey, key: wrapKey))]
    }
}

/// An X25519 secret key, `AGE-SECRET-KEY-1…`.
public final class X25519Identity: Identity {
    let secretKey: SecretBytes
    /// The matching recipient: X25519(secret key, basepoint) (RFC 7748, section 5).
    public let recipient: X25519Recipient
    static let hrp = "age-secret-key-"

    /// From the raw 32-byte scalar (not its Bech32 text); the recipient is derived from it.
    /// - Throws: `AgeError.invalid` unless `secretKey` is 32 bytes.
    public init(secretKey: consuming SecretBytes) throws(AgeError) {
        guard secretKey.count == 32 else { throw .invalid("an X25519 secret key is 32 bytes") }
        let pub = secretKey.withUnsafeBytes { Primitives.x25519Base(scalar: $0) }
        self.secretKey = secretKey
        self.recipient = try X25519Recipient(publicKey: pub)
    }

    /// A new identity whose secret key is 32 random bytes (`SecretBytes.random`).
    public static func generate() -> X25519Identity {
        try! X25519Identity(secretKey: SecretBytes.random(count: 32))
    }

    /// `AGE-SECRET-KEY-1…`, in guarded memory.
    public func encoded() -> SecretBytes {
        let n = Bech32.encodedLength(hrp: Self.hrp, dataCount: 32)
        let out = SecretBytes(count: n)
        secretKey.withUnsafeBytes { k in
            out.withUnsafeMutableBytesUnchecked { _ = Bech32.encode(hrp: Self.hrp, data: k, uppercase: true, into: $0) }
        }
        return out
    }

    /// Parses an identity file held in guarded memory: one `AGE-SECRET-KEY-1…`
    /// per line, `#` comments and blank lines allowed.
    public static func parseFile(_ text: borrowing SecretBytes) throws(AgeError) -> [X25519Identity] {
        var result: [X25519Identity] = []
        try text.withUnsafeBytes { (all: UnsafeRawBufferPointer) throws(AgeError) in
            var lineNumber = 0
            var start = 0
            while start < all.count {
                var end = start
                while end < all.count && all[end] != 0x0a { end += 1 }
                lineNumber += 1
                var line = UnsafeRawBufferPointer(rebasing: all[start..<end])
                start = end + 1
                if line.last == 0x0d { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
                // Trim spaces.
                while let f = line.first, f == 0x20 || f == 0x09 { line = UnsafeRawBufferPointer(rebasing: line.dropFirst()) }
                while let l = line.last, l == 0x20 || l == 0x09 { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
                if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
                let key = SecretBytes(count: line.count)
                let decoded = key.withUnsafeMutableBytesUnchecked { Bech32.decode(line, into: $0) }
                guard let decoded, decoded.hrp == hrp, decoded.count == 32 else {
                    throw .invalid("malformed identity on line \(lineNumber): expected AGE-SECRET-KEY-1…")
                }
                result.append(try X25519Identity(secretKey: key.slice(0..<32)))
            }
        }
        if result.isEmpty { throw .invalid("no identities found") }
        return result
    }

    static func wrapKey(shared: borrowing SecretBytes, share: [UInt8], recipient: [UInt8]) -> SecretBytes {
        Primitives.hkdf(ikm: shared, salt: share + recipient, info: "age-encryption.org/v1/X25519")
    }

    /// The file key from the first `X25519` stanza whose body opens under this identity; nil if none does
    /// (other stanza types are ignored). Age v1 spec, 'X25519 recipient stanza'.
    /// - Throws: `AgeError.header` for an `X25519` stanza without exactly one argument after the type, a share
    ///   that is not 32 bytes of canonical base64, a body that is not 32 bytes, or a low-order share.
    public func unwrap(_ stanzas: [Stanza]) throws(AgeError) -> SecretBytes? {
        for stanza in stanzas where stanza.type == "X25519" {
            guard stanza.args.count == 1 else { throw .header("X25519 stanza: wrong number of arguments") }
            guard let share = Base64.decode(Array(stanza.args[0].utf8)), share.count == 32 else {
                throw .header("X25519 stanza: invalid ephemeral share")
            }
            guard stanza.body.count == fileKeySize + 16 else { throw .header("X25519 stanza: invalid body size") }
            let shared = SecretBytes(count: 32)
            let ok = secretKey.withUnsafeBytes { k in
                share.withUnsafeBytes { p in shared.withUnsafeMutableBytesUnchecked { Primitives.x25519(scalar: k, point: p, into: $0) } }
            }
            guard ok else { throw .header("X25519 stanza: low-order ephemeral share") }
            let key = Self.wrapKey(shared: shared, share: share, recipient: recipient.publicKey)
            if let fileKey = unwrapBody(stanza.body, key: key) { return fileKey }
        }
        return nil
    }
}
