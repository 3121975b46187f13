#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import FileAccess

extension Profile {
    /// Profiles are small; anything bigger is refused before parsing.
    public static let maxFileSize = 1 << 20

    /// Reads and validates the profile at `path`. `name` defaults to the file's stem.
    /// `home` is where `extends = "NAME"` looks first (default: run-with-keys' home from the environment).
    public static func load(path: String, name: String? = nil, home: String? = nil) throws(ProfileError) -> Profile {
        try parse(toml: readText(path), path: path, name: name ?? stem(of: path), home: home)
    }

    /// The file's text, after the trust checks.
    static func readText(_ path: String) throws(ProfileError) -> String {
        let bytes = try readFile(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ProfileError(kind: .unreadable, message: "\(path): not valid UTF-8")
        }
        return text
    }

    /// "profiles/bot.toml" -> "bot".
    public static func stem(of path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        return base.hasSuffix(".toml") && base.count > 5 ? String(base.dropLast(5)) : base
    }

    /// A profile decides what runs, as whom, and with which keys: like ssh with its
    /// config, refuse one that someone else could have written. The file and its
    /// directory must be owned by us or root and not writable by group or others.
    static func checkTrusted(_ path: String, _ st: stat) throws(ProfileError) {
        let me = geteuid()
        func trusted(_ s: stat) -> Bool { (s.st_uid == me || s.st_uid == 0) && s.st_mode & 0o022 == 0 }
        guard trusted(st) else {
            throw ProfileError(kind: .unreadable,
                               message: "\(path): refusing a profile that is owned by uid \(st.st_uid) or writable by group or others",
                               hint: "chown \(me) \(path) && chmod go-w \(path)")
        }
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        var ds = stat()
        if stat(dir.isEmpty ? "/" : dir, &ds) == 0, !trusted(ds), ds.st_mode & S_ISVTX == 0 {
            throw ProfileError(kind: .unreadable,
                               message: "\(path): refusing a profile in a directory that others can write to (\(dir.isEmpty ? "/" : dir))",
                               hint: "chmod go-w \(dir.isEmpty ? "/" : dir), or move the profile to <home>/profiles")
        }
    }

    static func readFile(_ path: String) throws(ProfileError) -> [UInt8] {
        let fd: Int32, st: stat
        do { (fd, st) = try RegularFile.open(path) } catch { throw ProfileError(path, error) }
        defer { close(fd) }
        try checkTrusted(path, st)
        do { return try RegularFile.readAll(fd, path: path, limit: maxFileSize) } catch {
            if case .tooLarge = error.reason {
                throw ProfileError(kind: .unreadable, message: "\(path): larger than \(maxFileSize / 1024) KiB; not a profile")
            }
            throw ProfileError(path, error)
        }
    }
}

extension ProfileError {
    /// A `RegularFile` failure on the file at `path`; `what` prefixes the message ("template").
    init(_ path: String, _ failure: RegularFile.Failure, what: String = "", hint: String? = nil) {
        let prefix = what.isEmpty ? "" : what + " "
        switch failure.reason {
        case let .system(call, e):
            self.init(kind: e == ENOENT ? .notFound : .unreadable,
                      message: "\(prefix)\(path): cannot \(call == "open" ? "open" : call): \(String(cString: strerror(e)))", hint: hint)
        case .notRegular(let type):
            self.init(kind: .unreadable, message: "\(prefix)\(path): \(type), not a regular file", hint: failure.hint)
        case .tooLarge(let limit):
            self.init(kind: .unreadable, message: "\(prefix)\(path): larger than \(limit) bytes", hint: hint)
        }
    }
}
