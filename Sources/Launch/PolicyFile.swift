import Glibc
import Vault
import Profile

/// minijail-style policy files.
///
/// A policy file is an ALLOWLIST, as in minijail: every syscall it names is
/// allowed and every other one is refused with the profile's action (EPERM or
/// SIGSYS). The format:
///
///     # comment; also after a name
///     read
///     write: 1          # "name: 1" means the same as "name"
///
/// One syscall name per line; blank lines are ignored. minijail's argument
/// filters (`ioctl: arg1 == TCGETS`), `return N` and `@include` are refused
/// with an error rather than silently widened or narrowed. The launcher's own
/// last syscalls (`SeccompPolicy.launcherSyscalls`) are always allowed.
extension SeccompPolicy {
    /// Largest policy file read (minijail's biggest real policies are ~10 KiB).
    public static let maxPolicyFileSize = 1 << 20

    /// Parses a policy file's text (the format above) into an `.allowlist` policy; each rule's origin is
    /// `origin:LINE` (1-based). Names are not checked against libseccomp here: `compile` throws `.unknownSyscall`.
    /// - Throws: `LaunchError.policy` for an `@` directive, an argument filter or return value, or a line that
    ///   is not a syscall name (letters, digits and `_`).
    public static func allowlist(parsing text: String, origin: String,
                                 action: Action = .errno) throws(LaunchError) -> SeccompPolicy {
        var rules: [Rule] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let at = "\(origin):\(index + 1)"
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = trim(line)
            if trimmed.isEmpty { continue }
            if trimmed.hasPrefix("@") {
                throw .policy(origin: at, message: "directives such as \(trimmed.split(separator: " ")[0]) are not supported")
            }
            let parts = trimmed.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = trim(parts[0])
            if parts.count == 2, trim(parts[1]) != "1" {
                throw .policy(origin: at, message: "only \"\(name)\" or \"\(name): 1\" is supported, "
                                  + "not argument filters or return values (\"\(trim(parts[1]))\")")
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw .policy(origin: at, message: "expected a syscall name, got \"\(trimmed)\"")
            }
            rules.append(Rule(name, origin: at))
        }
        return SeccompPolicy(kind: .allowlist, rules: rules, action: action)
    }

    /// Reads and parses the policy file at `path`: a regular file of at most `maxPolicyFileSize` bytes,
    /// held to the owner/mode rule of profiles (`Profile.trustProblem`).
    /// - Throws: `LaunchError.untrusted` when others could have written it; `.policy` when it is too large,
    ///   not a regular file, or has a line that is not understood; `.system` when it can't be opened or read.
    public static func allowlist(contentsOf path: String, action: Action = .errno) throws(LaunchError) -> SeccompPolicy {
        func failure(_ error: RegularFile.Failure) -> LaunchError {
            switch error.reason {
            case .tooLarge: return .policy(origin: path, message: "larger than \(maxPolicyFileSize) bytes")
            case .notRegular(let type): return .policy(origin: path, message: "\(type), not a regular file")
            case let .system(call, e): return .system(call: "\(call) \(path)", errno: e)
            }
        }
        let fd: Int32, st: stat
        do { (fd, st) = try RegularFile.open(path) } catch { throw failure(error) }
        defer { close(fd) }
        // It decides what the bot may call: the owner/mode rule of profiles.
        if let (problem, fix) = Profile.trustProblem(path, st, what: "seccomp policy") {
            throw .untrusted(path: path, message: problem, fix: fix)
        }
        let bytes: [UInt8]
        do { bytes = try RegularFile.readAll(fd, path: path, limit: maxPolicyFileSize) } catch { throw failure(error) }
        return try allowlist(parsing: String(decoding: bytes, as: UTF8.self), origin: path, action: action)
    }
}

private func trim(_ s: Substring) -> String {
    String(s.drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" })
            .reversed().drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }).reversed())
}
