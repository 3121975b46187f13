import Glibc
import Common
import Age

/// A vault failure: one line for people, hints, and a kind for code. Exit code 125.
public struct VaultError: UserFacingError, CustomStringConvertible, Sendable {
    /// The class of failure, for code and tests to match on; `message` is for people.
    public enum Kind: Sendable, Equatable {
        /// The identity can't decrypt; damaged (or scrypt too costly); not age; unsafe owner, mode or type;
        /// missing file, identity or passphrase; lock held; bad name; empty value; no such secret; I/O; bad
        /// vault document; bad input.
        case wrongKey, corrupt, notAgeFile, permissions, missing, locked, invalidName, emptyValue,
             unknownName, io, format, input
        /// A FIFO, device or directory where a file was expected (RegularFile).
        case notRegularFile
        /// A value that cannot reach a bot intact: it holds a NUL byte.
        case undeliverable
    }
    /// The class of failure.
    public var kind: Kind
    /// The error line's text, without the `run-with-keys: error: ` prefix.
    public var message: String
    /// What to do about it, one line each; empty when there is nothing to add.
    public var hints: [String]

    /// An error of `kind` with its one-line `message` and hints.
    public init(_ kind: Kind, _ message: String, hints: [String] = []) {
        self.kind = kind
        self.message = message
        self.hints = hints
    }

    /// The same text as `message`.
    public var description: String { message }

    /// A `RegularFile` failure on a file described as `what` ("vault", "identity file"; empty: none).
    public init(_ failure: RegularFile.Failure, what: String = "") {
        let prefix = what.isEmpty ? "" : what + " "
        switch failure.reason {
        case .system(_, let e) where e == ENOENT:
            self.init(.missing, "can't read \(prefix)\(failure.path): \(Sys.errnoString(e))")
        case .system:
            self.init(.io, prefix.isEmpty ? failure.description : "\(prefix.dropLast()): \(failure.description)")
        case .notRegular:
            self.init(.notRegularFile, "\(prefix)\(failure.description)", hints: failure.hint.map { [$0] } ?? [])
        case .tooLarge:
            self.init(.input, "\(prefix)\(failure.description)")
        }
    }

    /// Wraps an age failure on `path`, keeping "wrong key" apart from "damaged file".
    static func decrypting(_ path: String, _ error: AgeError, keySource: String) -> VaultError {
        switch error {
        case .noMatch:
            return VaultError(.wrongKey, "\(path): the identity from \(keySource) can't decrypt this vault",
                              hints: ["the vault was encrypted to other recipients or with a passphrase; pass the right key with --identity PATH",
                                      "`run-with-keys recipients list` (with a working key) shows who can decrypt it"])
        case .workFactorTooHigh:
            return VaultError(.corrupt, "\(path): \(error.headerDetail!)",
                              hints: ["the passphrase vault asks for more scrypt work than run-with-keys allows (2^22); re-encrypt it with a lower work factor"])
        case .scryptFailed:   // within the cap, so the machine is short of memory (scrypt at 2^22 needs 4 GiB)
            return VaultError(.io, "\(path): \(error.headerDetail!)",
                              hints: ["scrypt needs 2^N KiB for work factor N (4 GiB at 22); free memory, raise the memory limit (ulimit -v, a container's limit), or re-encrypt with a lower work factor"])
        case .unsupportedVersion:
            return VaultError(.notAgeFile, "\(path) is not an age-encrypted vault",
                              hints: ["a vault starts with \"age-encryption.org/v1\"; check --vault or RUN_WITH_KEYS_HOME"])
        default:
            return VaultError(.corrupt, "\(path) is damaged or was tampered with (\(error))",
                              hints: ["nothing was changed; restore the vault from a backup"])
        }
    }
}
