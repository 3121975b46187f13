/// Why an age file could not be decrypted.
///
/// "Not mine" (`noMatch`) is kept apart from "broken" (`header`, `payload`,
/// `armor`, `hmac`): the first means try another identity, the others mean stop.
public enum AgeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The ASCII armor is malformed.
    case armor(String)
    /// The header does not parse, or a stanza is malformed.
    case header(String)
    /// No identity could unwrap the file key.
    case noMatch
    /// The file key unwrapped, but the header MAC does not match.
    case hmac
    /// The payload is truncated, tampered with, or has trailing data.
    case payload(String)
    /// Bad input to an encryption or key-handling call.
    case invalid(String)

    public var description: String {
        switch self {
        case .armor(let m): return "invalid armor: \(m)"
        case .header(let m): return "invalid header: \(m)"
        case .noMatch: return "no identity matched any of the recipients"
        case .hmac: return "header MAC mismatch: the file was modified or is corrupt"
        case .payload(let m): return "payload failure: \(m)"
        case .invalid(let m): return m
        }
    }
}
