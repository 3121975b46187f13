/// Something that can unwrap a file key from a header's stanzas.
public protocol Identity: AnyObject {
    /// The file key, or nil when no stanza is addressed to this identity
    /// ("not mine": the caller tries the next identity). Throws `.header` when
    /// a stanza of this identity's type is malformed ("broken": stop).
    func unwrap(_ stanzas: [Stanza]) throws(AgeError) -> SecretBytes?
}

/// Something that can wrap a file key into stanzas.
public protocol Recipient: AnyObject {
    func wrap(_ fileKey: borrowing SecretBytes) throws(AgeError) -> [Stanza]
    /// True for recipients that must be the only one in a header (scrypt).
    var mustBeAlone: Bool { get }
}

extension Recipient {
    /// By default a recipient may share a header with other recipients.
    public var mustBeAlone: Bool { false }
}

let fileKeySize = 16
let zeroNonce = [UInt8](repeating: 0, count: 12)

/// Unwraps a 32-byte stanza body (16-byte file key + tag) with `key`; nil if the tag fails.
func unwrapBody(_ body: [UInt8], key: borrowing SecretBytes) -> SecretBytes? {
    var fileKey = SecretBytes(count: fileKeySize)
    let ok = key.withUnsafeBytes { k in
        zeroNonce.withUnsafeBytes { n in
            body.withUnsafeBytes { c in
                fileKey.withUnsafeMutableBytes { Primitives.open(key: k, nonce: n, c, into: $0) }
            }
        }
    }
    guard ok else { return nil }
    return fileKey
}

func wrapBody(_ fileKey: borrowing SecretBytes, key: borrowing SecretBytes) -> [UInt8] {
    var body = [UInt8](repeating: 0, count: fileKeySize + 16)
    key.withUnsafeBytes { k in
        zeroNonce.withUnsafeBytes { n in
            fileKey.withUnsafeBytes { p in
                body.withUnsafeMutableBytes { Primitives.seal(key: k, nonce: n, p, into: $0) }
            }
        }
    }
    return body
}
