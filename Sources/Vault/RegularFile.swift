import Glibc

/// The one way run-with-keys opens a file it was given by name (a profile, a
/// template, a seccomp policy file, the vault, an identity, an env file, a
/// `--from-file` value, the launch log, a run file): open without blocking,
/// check with `fstat(2)` that it is a regular file, and only then read.
///
/// A FIFO, a device or a directory in a file's place would otherwise hang the
/// open or the read forever (a FIFO with no writer blocks `open(2)`; a FIFO or a
/// terminal blocks `read(2)`). The open uses `O_NONBLOCK` (no effect on regular
/// files, and keeps a FIFO's open from waiting for a writer), `O_CLOEXEC` and
/// `O_NOCTTY`; `noFollow` adds `O_NOFOLLOW`.
///
/// The one exception is a pipe given on purpose (`/dev/stdin`, `/dev/fd/N` from a
/// shell's process substitution): a caller that accepts one passes
/// `pipes: .allowed`, and the pipe is then read to EOF, in blocking mode, up to the
/// caller's size limit.
public enum RegularFile {
    /// Whether a pipe (FIFO) is accepted in place of a regular file.
    public enum Pipes: Sendable {
        /// The default: a FIFO fails like any other non-regular file (`.notRegular`).
        case refused
        /// Accepted, switched to blocking reads: read it to EOF.
        case allowed
        /// Accepted and left non-blocking, for a caller that reads it with `poll(2)` and a timeout.
        case allowedNonBlocking
    }

    /// Why a file was not opened or read. `description` is one line naming the path.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// Which step failed, with its detail.
        public enum Reason: Sendable, Equatable {
            /// `open(2)` or `fstat(2)` failed with this errno (ENOENT: missing).
            case system(call: String, errno: Int32)
            /// Not a regular file; `type` says what it is ("a FIFO", "a directory", …).
            case notRegular(type: String)
            /// Larger than the caller's limit (bytes).
            case tooLarge(limit: Int)
        }
        /// The path as the caller gave it.
        public var path: String
        /// Why the file was not opened or read.
        public var reason: Reason

        /// A failure on `path`.
        public init(path: String, reason: Reason) { self.path = path; self.reason = reason }

        /// True when the file does not exist (ENOENT).
        public var isMissing: Bool { if case .system(_, ENOENT) = reason { return true }; return false }

        /// `can't open PATH: <strerror>` (or `stat`, `read`), `PATH is a FIFO, not a regular file`, or
        /// `PATH is larger than N bytes`.
        public var description: String {
            switch reason {
            case let .system(call, e): return "can't \(call) \(path): \(String(cString: strerror(e)))"
            case let .notRegular(type): return "\(path) is \(type), not a regular file"
            case let .tooLarge(limit): return "\(path) is larger than \(limit) bytes"
            }
        }

        /// A hint for people, for `notRegular`.
        public var hint: String? {
            if case .notRegular = reason { return "give the path of a regular file (not a FIFO, device or directory)" }
            return nil
        }
    }

    /// "a FIFO", "a directory", … for a `st_mode`.
    public static func typeName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }

    /// Opens `path` for reading and checks it is a regular file (or, with
    /// `pipes: .allowed`, a pipe, switched back to blocking reads).
    /// - Returns: the open fd (close-on-exec; the caller closes it) and its `stat`.
    /// - Throws: `Failure` (`.system` for open/fstat errors, `.notRegular`).
    public static func open(_ path: String, noFollow: Bool = false, pipes: Pipes = .refused) throws(Failure) -> (fd: Int32, stat: stat) {
        let flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (noFollow ? O_NOFOLLOW : 0)
        var fd: Int32
        repeat { fd = Glibc.open(path, flags) } while fd < 0 && errno == EINTR
        guard fd >= 0 else {
            let e = errno
            // O_NOFOLLOW on a symlink fails with ELOOP: say what it is.
            if e == ELOOP && noFollow { throw Failure(path: path, reason: .notRegular(type: "a symbolic link")) }
            throw Failure(path: path, reason: .system(call: "open", errno: e))
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw Failure(path: path, reason: .system(call: "stat", errno: e))
        }
        let type = st.st_mode & S_IFMT
        if type == S_IFREG { return (fd, st) }
        if type == S_IFIFO && pipes != .refused {
            if pipes == .allowed { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) }
            return (fd, st)
        }
        close(fd)
        throw Failure(path: path, reason: .notRegular(type: typeName(st.st_mode)))
    }

    /// Reads `fd` to EOF, refusing more than `limit` bytes. For files that hold no
    /// secret (secrets are read into guarded memory by the Vault module).
    /// - Throws: `Failure` (`.system` "read", `.tooLarge`).
    public static func readAll(_ fd: Int32, path: String, limit: Int) throws(Failure) -> [UInt8] {
        // A regular file's size is known: read it into one array of that size, not
        // 64 KiB at a time into a growing one (the vault of `list` is a few hundred KiB).
        var st = stat()
        let size = fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? Int(st.st_size) : 0
        var out: [UInt8] = []
        if size > 0 && size <= limit {
            var failed: Int32 = 0
            out = [UInt8](unsafeUninitializedCapacity: size) { dst, filled in
                while filled < size {
                    let n = Glibc.read(fd, dst.baseAddress! + filled, size - filled)
                    if n < 0 && errno == EINTR { continue }
                    if n < 0 { failed = errno; break }
                    if n == 0 { break }
                    filled += n
                }
            }
            if failed != 0 { throw Failure(path: path, reason: .system(call: "read", errno: failed)) }
            if out.count < size { return out }   // shorter than it was: EOF came first
        }
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            var n: Int
            repeat { n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) } } while n < 0 && errno == EINTR
            if n < 0 { throw Failure(path: path, reason: .system(call: "read", errno: errno)) }
            if n == 0 { return out }
            out += buf[0..<n]
            if out.count > limit { throw Failure(path: path, reason: .tooLarge(limit: limit)) }
        }
    }

    /// `open` + `readAll` + close: the bytes of a regular file of at most `limit` bytes.
    /// - Throws: `Failure`.
    public static func read(_ path: String, limit: Int, noFollow: Bool = false, pipes: Pipes = .refused) throws(Failure) -> [UInt8] {
        let (fd, _) = try open(path, noFollow: noFollow, pipes: pipes)
        defer { close(fd) }
        return try readAll(fd, path: path, limit: limit)
    }

    /// Whether `path` names a pipe the user gave on purpose: `/dev/stdin` or
    /// `/dev/fd/N` (what a shell's `<(…)` expands to), the only names for which
    /// callers pass `pipes: .allowed`.
    public static func isExplicitPipeName(_ path: String) -> Bool {
        path == "/dev/stdin" || (path.hasPrefix("/dev/fd/") && path.count > 8 && path.dropFirst(8).allSatisfy(\.isNumber))
            || (path.hasPrefix("/proc/self/fd/") && path.count > 14 && path.dropFirst(14).allSatisfy(\.isNumber))
    }
}
