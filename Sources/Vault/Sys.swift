import Common
import Glibc
import Age

/// Thin wrappers over libc: "-1 and errno" becomes a typed error, EINTR is retried.
public enum Sys {
    /// The `strerror(3)` text of `e` (default: the current `errno`).
    public static func errnoString(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    /// Calls `body` again while it returns a negative value with `errno` EINTR. Returns its result and 0,
    /// or the negative result and its errno.
    @discardableResult
    public static func retry(_ body: () -> Int) -> (Int, Int32) {
        while true {
            let r = body()
            if r >= 0 { return (r, 0) }
            let e = errno
            if e != EINTR { return (r, e) }
        }
    }

    /// `open(2)` with `O_CLOEXEC` added, retried on EINTR: the fd (the caller closes it) and 0, or -1 and
    /// the errno.
    public static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> (fd: Int32, errno: Int32) {
        let (r, e) = retry { Int(Glibc.open(path, flags | O_CLOEXEC, mode)) }
        return (Int32(r), e)
    }

    /// `open` that creates `path`'s directories (0700) only when the open fails:
    /// files written often (the launch log, the run file) pay no mkdir chain.
    /// - Returns: the fd, or -1 and the errno of the second open.
    /// - Throws: `VaultError(.io)` when a directory can't be created.
    public static func openCreatingDirectories(_ path: String, _ flags: Int32, _ mode: mode_t) throws(VaultError) -> (fd: Int32, errno: Int32) {
        let opened = open(path, flags, mode)
        guard opened.fd < 0 else { return opened }
        try makeDirectories(directory(of: path))
        return open(path, flags, mode)
    }

    /// Writes all of `buf` to `fd`.
    public static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer) -> Int32 {
        var off = 0
        while off < buf.count {
            let (n, e) = retry { Glibc.write(fd, buf.baseAddress! + off, buf.count - off) }
            if n < 0 { return e }
            off += n
        }
        return 0
    }

    /// Writes `text`'s UTF-8 bytes to `fd`, as the buffer form: 0, or the errno of the
    /// write that failed (callers writing to stderr may ignore it).
    @discardableResult
    public static func writeAll(_ fd: Int32, _ text: String) -> Int32 {
        var t = text
        return t.withUTF8 { writeAll(fd, UnsafeRawBufferPointer($0)) }
    }

    /// Reads a whole non-secret file (an encrypted vault, a launch log): a
    /// regular file only (`RegularFile`), at most `limit` bytes.
    /// - Throws: `VaultError` (`.missing`, `.notRegularFile`, `.io`, `.input` when too large).
    public static func readFile(_ path: String, limit: Int = 256 << 20) throws(VaultError) -> [UInt8] {
        do { return try RegularFile.read(path, limit: limit) } catch { throw VaultError(error) }
    }

    /// Reads `fd` to EOF, at most `limit` bytes.
    public static func readAll(_ fd: Int32, path: String, limit: Int) throws(VaultError) -> [UInt8] {
        do { return try RegularFile.readAll(fd, path: path, limit: limit) } catch { throw VaultError(error) }
    }

    /// Opens a file named by the user that holds a secret (`--from-file`, an
    /// import file): a regular file, or a pipe given as `/dev/stdin` or `/dev/fd/N`.
    /// - Returns: the fd; the caller closes it and reads it with `readSecret`.
    /// - Throws: `VaultError` (`.missing`, `.notRegularFile`, `.io`).
    public static func openInput(_ path: String) throws(VaultError) -> Int32 {
        do {
            return try RegularFile.open(path, pipes: RegularFile.isExplicitPipeName(path) ? .allowed : .refused).fd
        } catch { throw VaultError(error) }
    }

    /// Reads everything from `fd` into guarded memory, never into a Swift buffer.
    ///
    /// With `timeoutMs`, `fd` may be non-blocking (a pipe from ``openPrivate(_:what:allowPipe:)``):
    /// each read waits with `poll(2)` and the whole read fails with `.io` once `timeoutMs`
    /// milliseconds have passed without EOF, so a writer that never finishes can't hang us.
    /// - Throws: `.io` on a read error or the timeout, `.input` past `limit` bytes.
    public static func readSecret(_ fd: Int32, what: String, limit: Int = 1 << 20, timeoutMs: Int? = nil) throws(VaultError) -> SecretBytes {
        var builder = SecretBuilder(capacity: 4096)
        let start = MonotonicClock.nowMs()
        while true {
            if let timeoutMs {
                let left = timeoutMs - Int(MonotonicClock.nowMs() - start)
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let r = left > 0 ? poll(&p, 1, Int32(left)) : 0
                if r < 0 && errno == EINTR { continue }
                if r == 0 {
                    throw VaultError(.io, "\(what): nothing more arrived within \(timeoutMs / 1000)s and the writer did not close it",
                                     hints: ["the command behind the pipe must print the identity and exit"])
                }
            }
            var failure: Int32 = 0
            builder.appendInPlace(maxCount: 4096) { dst in
                let (n, e) = retry { Glibc.read(fd, dst.baseAddress!, dst.count) }
                if n < 0 { failure = e; return 0 }
                if n == 0 { failure = -1 }
                return n
            }
            if failure == -1 { break }
            if failure == EAGAIN && timeoutMs != nil { continue }
            if failure != 0 { throw VaultError(.io, "can't read \(what): \(errnoString(failure))") }
            if builder.count > limit { throw VaultError(.input, "\(what) is larger than \(limit) bytes") }
        }
        return builder.finish()
    }

    /// Opens a vault or identity file by name and checks who could have written it and
    /// who can read it (``FileTrust``; the table in the README, "Which owners and modes are
    /// accepted"). Refused: anything but a regular file (a FIFO only with `allowPipe`);
    /// group- or other-writable; owned by someone other than you or root, unless on a
    /// read-only mount; readable by group or others, unless on a read-only mount or owned
    /// by root while you are not root and only its group, which is your own (effective or
    /// real gid), can read it.
    ///
    /// - Parameter allowPipe: accept a pipe or FIFO owned by you or root and writable by
    ///   nobody else: only for a path the user named explicitly (`--identity /dev/fd/63`
    ///   from process substitution, `/dev/stdin`); read it with ``readSecret(_:what:limit:timeoutMs:)``.
    /// - Returns: the descriptor, opened `O_RDONLY | O_NONBLOCK | O_CLOEXEC`, and whether it is a pipe.
    /// - Throws: `.missing` when the path doesn't exist, `.permissions` for a refusal
    ///   (message: owner and mode seen; hint: the command that fixes it), `.io` otherwise.
    public static func openPrivate(_ path: String, what: String, allowPipe: Bool = false) throws(VaultError) -> (fd: Int32, isPipe: Bool) {
        // RegularFile opens without blocking (a FIFO planted in its place can't hang us) and
        // fstat's; a pipe is kept (non-blocking) for the rules below to judge.
        let fd: Int32, st: stat
        do { (fd, st) = try RegularFile.open(path, pipes: .allowedNonBlocking) } catch {
            if case .notRegular(let type) = error.reason {
                throw VaultError(.notRegularFile, "\(what) \(path) is \(type), not a regular file")
            }
            throw VaultError(error, what: what)
        }
        do throws(VaultError) {
            let isPipe = try checkPrivate(path, what: what, st, readOnlyMount: FileTrust.isReadOnlyMount(fd), allowPipe: allowPipe)
            // A pipe is read only when the user named one on purpose (`<(…)`, /dev/stdin):
            // a FIFO made with mkfifo, whose writer may never come, is refused at once.
            if isPipe && !RegularFile.isExplicitPipeName(path) {
                throw VaultError(.notRegularFile, "\(what) \(path) is a FIFO, not a regular file",
                                 hints: ["a pipe is read only when given as /dev/stdin or /dev/fd/N (process substitution: --identity <(command))"])
            }
            return (fd, isPipe)
        } catch {
            close(fd)
            throw error
        }
    }

    /// The rules of ``openPrivate(_:what:allowPipe:)`` on a stat result; returns whether it is a pipe.
    static func checkPrivate(_ path: String, what: String, _ st: stat, readOnlyMount ro: Bool, allowPipe: Bool) throws(VaultError) -> Bool {
        let me = geteuid(), owner = st.st_uid, mode = st.st_mode & 0o7777
        // The words of the error messages are made only for an error: describing the owner
        // reads /proc/sys/kernel/overflowuid, about 0.2 ms of every `list` and launch.
        func seen() -> String { "owner \(FileTrust.describeOwner(owner)), mode \(FileTrust.modeString(mode))" }
        let type = st.st_mode & S_IFMT
        if type == S_IFIFO && allowPipe {
            guard owner == me || owner == 0, mode & 0o022 == 0 else {
                throw VaultError(.permissions, "\(what) \(path) is a pipe that someone else could write to (\(seen()))",
                                 hints: ["pass a pipe you made: --identity <(command that prints the identity), or --identity /dev/stdin"])
            }
            return true
        }
        guard type == S_IFREG else {
            throw VaultError(.permissions, "\(what) \(path) is not a regular file",
                             hints: type == S_IFIFO || type == S_IFCHR || type == S_IFSOCK
                                ? ["a pipe is read only as --identity or RUN_WITH_KEYS_IDENTITY (process substitution <(…) or /dev/stdin)"] : [])
        }
        func fix() -> String { owner == me ? "chmod 600 \(path)" : "chown \(me) \(path) && chmod 600 \(path)" }
        let roHint = "it is on a read-only mount: fix it where it comes from (the host file, or the Kubernetes Secret's defaultMode)"
        if mode & 0o022 != 0 {
            throw VaultError(.permissions, "\(what) \(path) is writable by group or others (\(seen()))",
                             hints: ro ? [roHint] : [fix()])
        }
        if owner != me && owner != 0 && !ro {
            throw VaultError(.permissions, "\(what) \(path) is owned by \(FileTrust.describeOwner(owner)), not by you (uid \(me)) or root (mode \(FileTrust.modeString(mode)))",
                             hints: [fix(), "a file owned by another user is accepted only on a read-only mount (docker -v …:ro, a Kubernetes Secret volume)"])
        }
        // Root gave the file to our own group (Kubernetes fsGroup with runAsGroup, a
        // service's group): only we can read it. A shared group (`users`) is refused.
        let ownGroup = st.st_gid == getegid() || st.st_gid == getgid()
        let rootGaveGroup = owner == 0 && me != 0 && mode & 0o004 == 0 && ownGroup
        if mode & 0o044 != 0 && !ro && !rootGaveGroup {
            let sharedGroup = owner == 0 && me != 0 && mode & 0o004 == 0
            let message = sharedGroup
                ? "\(what) \(path) is readable by group \(st.st_gid), which is not your group (gid \(getegid())) (\(seen()))"
                : "\(what) \(path) is readable by group or others (\(seen()))"
            let rootFix = "as root: chgrp \(getegid()) \(path)" + (mode & 0o004 != 0 || mode & 0o040 == 0 ? " && chmod 640 \(path)" : "")
            throw VaultError(.permissions, message,
                             hints: owner == me || me == 0 ? [fix()] : [rootFix + " (root-owned and readable by your own group only is accepted)"])
        }
        return false
    }

    /// True when `access(2)` (`F_OK`) finds `path`; symbolic links are followed, so a dangling one is false.
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// `fsync(2)` on the directory of `path`, so a rename or create there is durable; failures are ignored.
    public static func fsyncDirectory(of path: String) {
        let dir = directory(of: path)
        let (fd, _) = open(dir, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// The directory part of `path` ("." without a slash, "/" for a top-level
    /// name). Split at the last "/" byte, not Character: a name may start with a
    /// combining mark, which joins the slash before it into one Character.
    public static func directory(of path: String) -> String {
        let u = path.utf8
        guard let slash = u.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return slash == u.startIndex ? "/" : String(decoding: u[..<slash], as: UTF8.self)
    }

    /// The last name of `path`, split as `directory(of:)` does.
    public static func basename(_ path: String) -> String {
        let u = path.utf8
        guard let slash = u.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(decoding: u[u.index(after: slash)...], as: UTF8.self)
    }

    /// mkdir -p with mode 0700 for the directories it creates.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws(VaultError) {
        var current = path.utf8.first == UInt8(ascii: "/") ? "" : "."
        // Split at "/" bytes: a name may start with a combining mark (see `directory(of:)`).
        for part in path.utf8.split(separator: UInt8(ascii: "/")) {
            current += "/" + String(decoding: part, as: UTF8.self)
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw VaultError(.io, "can't create \(current): \(errnoString())")
            }
        }
    }

    /// `getenv(3)`: the variable's value, nil when unset ("" when set but empty).
    public static func getenv(_ name: String) -> String? {
        guard let v = Glibc.getenv(name) else { return nil }
        return String(cString: v)
    }
}

/// Which file is at a path, and which version of it: device, inode, size and
/// modification time (stat(2)). A rename over the path or a write changes it.
public struct FileStamp: Sendable, Equatable {
    /// `st_dev`: the device the file is on.
    public var device: UInt64
    /// `st_ino`: the inode number.
    public var inode: UInt64
    /// `st_size`, in bytes.
    public var size: Int64
    /// `st_mtim`: whole seconds since the Unix epoch.
    public var modifiedSeconds: Int64
    /// `st_mtim`: nanoseconds past `modifiedSeconds`, 0 to 999 999 999.
    public var modifiedNanoseconds: Int64

    /// nil when the path can't be stat'ed.
    public static func of(_ path: String) -> FileStamp? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileStamp(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                         modifiedSeconds: Int64(st.st_mtim.tv_sec), modifiedNanoseconds: Int64(st.st_mtim.tv_nsec))
    }
}
