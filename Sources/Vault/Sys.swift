import Glibc
import Age
import FileAccess

/// Thin wrappers over libc: "-1 and errno" becomes a typed error, EINTR is retried.
public enum Sys {
    public static func errnoString(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    @discardableResult
    public static func retry(_ body: () -> Int) -> (Int, Int32) {
        while true {
            let r = body()
            if r >= 0 { return (r, 0) }
            let e = errno
            if e != EINTR { return (r, e) }
        }
    }

    public static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> (fd: Int32, errno: Int32) {
        let (r, e) = retry { Int(Glibc.open(path, flags | O_CLOEXEC, mode)) }
        return (Int32(r), e)
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

    public static func writeAll(_ fd: Int32, _ text: String) {
        var t = text
        t.withUTF8 { _ = writeAll(fd, UnsafeRawBufferPointer($0)) }
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
    public static func readSecret(_ fd: Int32, what: String, limit: Int = 1 << 20) throws(VaultError) -> SecretBytes {
        var builder = SecretBuilder(capacity: 4096)
        while true {
            var failure: Int32 = 0
            builder.appendInPlace(maxCount: 4096) { dst in
                let (n, e) = retry { Glibc.read(fd, dst.baseAddress!, dst.count) }
                if n < 0 { failure = e; return 0 }
                if n == 0 { failure = -1 }
                return n
            }
            if failure == -1 { break }
            if failure != 0 { throw VaultError(.io, "can't read \(what): \(errnoString(failure))") }
            if builder.count > limit { throw VaultError(.input, "\(what) is larger than \(limit) bytes") }
        }
        return builder.finish()
    }

    /// Opens `path` and checks that it is a regular file owned by us and not
    /// readable by group or others, as ssh does for private keys.
    /// `pipes: .allowed` accepts a pipe (`/dev/stdin`, `/dev/fd/N`) without those checks.
    /// - Throws: `VaultError` (`.missing`, `.notRegularFile`, `.permissions`, `.io`).
    public static func openPrivate(_ path: String, what: String, pipes: RegularFile.Pipes = .refused) throws(VaultError) -> Int32 {
        let fd: Int32, st: stat
        do { (fd, st) = try RegularFile.open(path, pipes: pipes) } catch { throw VaultError(error, what: what) }
        if st.st_mode & S_IFMT == S_IFIFO { return fd }   // a pipe given on purpose: it has no owner to check
        if st.st_uid != geteuid() {
            close(fd)
            throw VaultError(.permissions, "\(what) \(path) is owned by uid \(st.st_uid), not by you (uid \(geteuid()))",
                             hints: ["chown \(geteuid()) \(path) && chmod 600 \(path)"])
        }
        if st.st_mode & 0o077 != 0 {
            close(fd)
            throw VaultError(.permissions,
                             "\(what) \(path) is accessible by group or others (mode \(String(st.st_mode & 0o777, radix: 8)))",
                             hints: ["chmod 600 \(path)"])
        }
        return fd
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func fsyncDirectory(of path: String) {
        let dir = directory(of: path)
        let (fd, _) = open(dir, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func basename(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// mkdir -p with mode 0700 for the directories it creates.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws(VaultError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw VaultError(.io, "can't create \(current): \(errnoString())")
            }
        }
    }

    public static func getenv(_ name: String) -> String? {
        guard let v = Glibc.getenv(name) else { return nil }
        return String(cString: v)
    }
}

/// Which file is at a path, and which version of it: device, inode, size and
/// modification time (stat(2)). A rename over the path or a write changes it.
public struct FileStamp: Sendable, Equatable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var modifiedSeconds: Int64
    public var modifiedNanoseconds: Int64

    /// nil when the path can't be stat'ed.
    public static func of(_ path: String) -> FileStamp? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileStamp(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                         modifiedSeconds: Int64(st.st_mtim.tv_sec), modifiedNanoseconds: Int64(st.st_mtim.tv_nsec))
    }
}
