import Common
import Age

/// A vault failure: one line for people, hints, and a kind for code. Exit code 125.
public struct VaultError: UserFacingError, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case wrongKey, corrupt, notAgeFile, permissions, missing, locked, invalidName, emptyValue,
             unknownName, io, format, input
    }
    public var kind: Kind
    public var message: String
    public var hints: [String]

    public init(_ kind: Kind, _ message: String, hints: [String] = []) {
        self.kind = kind
        self.message = message
        self.hints = hints
    }

    public var description: String { message }

    /// Wraps an age failure on `path`, keeping "wrong key" apart from "damaged file".
    static func decrypting(_ path: String, _ error: AgeError, keySource: String) -> VaultError {
        switch error {
        case .noMatch:
            return VaultError(.wrongKey, "\(path): the identity from \(keySource) can't decrypt this vault",
                              hints: ["the vault was encrypted to other recipients or with a passphrase; pass the right key with --identity PATH",
                                      "`run-with-keys recipients list` (with a working key) shows who can decrypt it"])
        case .workFactorTooHigh, .scryptFailed:
            return VaultError(.corrupt, "\(path): \(error.headerDetail!)",
                              hints: ["the passphrase vault asks for more scrypt work than run-with-keys allows (2^22); re-encrypt it with a lower work factor"])
        case .unsupportedVersion:
            return VaultError(.notAgeFile, "\(path) is not an age-encrypted vault",
                              hints: ["a vault starts with \"age-encryption.org/v1\"; check --vault or RUN_WITH_KEYS_HOME"])
        default:
            return VaultError(.corrupt, "\(path) is damaged or was tampered with (\(error))",
                              hints: ["nothing was changed; restore the vault from a backup"])
        }
    }
}
