import Common

/// Why an age file could not be decrypted.
///
/// "Not mine" (`noMatch`) is kept apart from "broken" (`header`, `payload`,
/// `armor`, `hmac`): the first means try another identity, the others mean stop.
public enum AgeError: UserFacingError, Equatable, Sendable, CustomStringConvertible {
    /// The ASCII armor is malformed.
    case armor(String)
    /// The header does not parse, or a stanza is malformed.
    case header(String)
    /// The file does not start with `age-encryption.org/v1` (another version, or not age).
    /// A header failure, like the three below.
    case unsupportedVersion
    /// An scrypt stanza asks for more work (log2 N = `workFactor`) than we allow (`limit`).
    case workFactorTooHigh(workFactor: Int, limit: Int)
    /// scrypt could not run (out of memory) while unwrapping a passphrase stanza.
    case scryptFailed
    /// No identity could unwrap the file key.
    case noMatch
    /// The file key unwrapped, but the header MAC does not match.
    case hmac
    /// The payload is truncated, tampered with, or has trailing data.
    case payload(String)
    /// Bad input to an encryption or key-handling call.
    case invalid(String)

    /// The failure in one line: `invalid armor: …`, `invalid header: …`, `payload failure: …`, a fixed
    /// sentence for `noMatch` and `hmac`, or `.invalid`'s text as is.
    public var description: String {
        switch self {
        case .armor(let m): return "invalid armor: \(m)"
        case .header(let m): return "invalid header: \(m)"
        case .unsupportedVersion, .workFactorTooHigh, .scryptFailed: return "invalid header: \(headerDetail!)"
        case .noMatch: return "no identity matched any of the recipients"
        case .hmac: return "header MAC mismatch: the file was modified or is corrupt"
        case .payload(let m): return "payload failure: \(m)"
        case .invalid(let m): return m
        }
    }

    /// The typed header failures in words, without the "invalid header: " prefix.
    public var headerDetail: String? {
        switch self {
        case .unsupportedVersion: return "unsupported version or not an age file"
        case let .workFactorTooHigh(n, limit): return "scrypt work factor \(n) is too high (the limit is \(limit))"
        case .scryptFailed: return "scrypt failed (out of memory?)"
        default: return nil
        }
    }

    /// The error line's text (`description`), without the `run-with-keys: error: ` prefix.
    public var message: String { description }
}
