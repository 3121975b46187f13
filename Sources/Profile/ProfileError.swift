import Common

/// Why a profile could not be found, read or accepted.
///
/// `message` is one line, starts lowercase and names the file, e.g.
/// `profiles/bot.toml: [sandbox] unknown key "seccom" (line 12)`; `hints` are the lines after it. Exit code 125.
public struct ProfileError: UserFacingError, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case notFound      // no profile by that name, or the file is missing
        case unreadable    // the file exists but cannot be read, is too large or is not UTF-8
        case syntax        // not valid TOML
        case unknownKey    // a key the schema does not have
        case wrongType     // a key whose value has the wrong TOML type
        case invalidValue  // right type, but the value is not acceptable
    }

    public var kind: Kind
    public var message: String
    public var hints: [String]
    /// The 1-based line the problem is on, when known.
    public var line: Int?

    public init(kind: Kind, message: String, hint: String? = nil, line: Int? = nil) {
        self.kind = kind
        self.message = message
        self.hints = hint.map { [$0] } ?? []
        self.line = line
    }

    public var description: String { message }
}
