import Glibc
import Profile

/// What `execve(2)` refuses with E2BIG, checked before anything starts (so that
/// `check` catches it and `run` says why), from execve(2) "Limits on size of
/// arguments and environment":
/// - each argument and each environment string ("NAME=value") with its NUL must
///   fit in `MAX_ARG_STRLEN` (32 pages: 131072 bytes);
/// - all of them, with their NULs and one pointer each (plus the two NULL
///   terminators), must fit in `sysconf(_SC_ARG_MAX)` (a quarter of the stack
///   rlimit, at least 32 pages).
public enum ExecLimits {
    /// MAX_ARG_STRLEN: bytes of one argv or envp string, its NUL included.
    public static let maxStringBytes = 32 * 4096

    /// The total limit on this system, in bytes (`sysconf(_SC_ARG_MAX)`).
    public static var maxTotalBytes: Int { max(sysconf(Int32(_SC_ARG_MAX)), 32 * 4096) }

    /// - Parameters:
    ///   - arguments: the argv strings.
    ///   - environment: per variable: its name, its value's size in bytes, and the secret it holds (nil: not a secret).
    /// - Throws: `PlanError` naming the argument or variable (never a value), with a hint to use `as = "file"`.
    public static func check(arguments: [String], environment: [(name: String, valueBytes: Int, secret: String?)],
                             profile: Profile, totalLimit: Int = maxTotalBytes) throws(PlanError) {
        func fileHint(_ name: String, _ secret: String?) -> [String] {
            guard let secret else { return ["pass a large value in a file instead of the environment"] }
            return ["inject it as a file: \(name) = { secret = \"\(secret)\", as = \"file\" } (the variable then holds a path)"]
        }
        var total = (arguments.count + environment.count + 2) * MemoryLayout<UnsafeRawPointer>.size
        for (i, a) in arguments.enumerated() {
            let n = a.utf8.count + 1
            if n > maxStringBytes {
                throw PlanError("\(profile.path): argument \(i) of the command is \(n) bytes, over the kernel's limit of \(maxStringBytes) bytes for one argument (MAX_ARG_STRLEN); execve would fail with E2BIG",
                                hints: ["pass a large value in a file instead"])
            }
            total += n
        }
        for v in environment {
            let n = v.name.utf8.count + 1 + v.valueBytes + 1
            if n > maxStringBytes {
                throw PlanError("\(profile.path): the environment variable \(v.name) would be \(n) bytes, over the kernel's limit of \(maxStringBytes) bytes for one environment string (MAX_ARG_STRLEN); execve would fail with E2BIG",
                                hints: fileHint(v.name, v.secret))
            }
            total += n
        }
        if total > totalLimit {
            let biggest = environment.max { $0.valueBytes < $1.valueBytes }
            throw PlanError("\(profile.path): the command's arguments and environment take \(total) bytes, over this system's limit of \(totalLimit) bytes (ARG_MAX); execve would fail with E2BIG",
                            hints: biggest.map { fileHint($0.name, $0.secret) } ?? ["shorten the command's arguments"])
        }
    }
}
