import Common

/// Why a profile could not be found, read or accepted.
///
/// `message` is one line, starts lowercase and names the file, e.g.
/// `profiles/bot.toml: [sandbox] unknown key "seccom" (line 12)`; `hints` are the lines after it. Exit code 125.
public struct ProfileError: UserFacingError, Sendable, Equatable, CustomStringConvertible {
    /// The category of failure, for callers that must tell failures apart (never by `message`).
    public enum Kind: Sendable, Equatable {
        case notFound      // no profile by that name, or the file is missing
        case unreadable    // the file exists but cannot be read, is too large or is not UTF-8
        case syntax        // not valid TOML
        case unknownKey    // a key the schema does not have
        case wrongType     // a key whose value has the wrong TOML type
        case invalidValue  // right type, but the value is not acceptable
    }

    /// Which category this failure is in.
    public var kind: Kind
    /// The error line, without the `run-with-keys: error: ` prefix (see above).
    public var message: String
    /// The lines printed after `message` as `run-with-keys: hint: …`; `init` sets at most one.
    public var hints: [String]
    /// The 1-based line the problem is on, when known.
    public var line: Int?

    /// `hint`, when given, becomes the only hint; `line` is 1-based.
    public init(kind: Kind, message: String, hint: String? = nil, line: Int? = nil) {
        self.kind = kind
        self.message = message
        self.hints = hint.map { [$0] } ?? []
        self.line = line
    }

    /// The same text as `message`.
    public var description: String { message }
}
