import Accounts
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Vault

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
    /// directory must be owned by us or root, writable by nobody else: not by others,
    /// and by the group only when it is the owner's user private group
    /// (``Accounts/isPrivateGroup(_:of:)``, so a clone made under umask 002 passes).
    /// A sticky directory (`/tmp`) is fine. One error names every problem, with the owner
    /// and mode seen, and one command that fixes the file and its directory together.
    static func checkTrusted(_ path: String, _ st: stat) throws(ProfileError) {
        let me = geteuid()
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let dirPath = dir.isEmpty ? "/" : dir
        var ds = stat()
        let haveDir = stat(dirPath, &ds) == 0
        var problems: [String] = [], chown: [String] = [], chmod: [String] = []
        func judge(_ s: stat, _ p: String, _ label: String, sticky: Bool) {
            let ownerOK = s.st_uid == me || s.st_uid == 0
            let groupWrites = s.st_mode & 0o020 != 0 && !Accounts.isPrivateGroup(s.st_gid, of: s.st_uid)
            let othersWrite = s.st_mode & 0o002 != 0
            if sticky && s.st_mode & S_ISVTX != 0 { return }
            guard !ownerOK || groupWrites || othersWrite else { return }
            var why: [String] = []
            if !ownerOK { why.append("not owned by you (uid \(me)) or root"); chown.append(p) }
            if groupWrites { why.append("writable by group \(s.st_gid), which is not the owner's private group") }
            if othersWrite { why.append("writable by others") }
            if groupWrites || othersWrite { chmod.append(p) }
            problems.append("\(label) \(p) is owned by \(FileTrust.describeOwner(s.st_uid)) with mode \(FileTrust.modeString(s.st_mode)): \(why.joined(separator: ", "))")
        }
        if haveDir { judge(ds, dirPath, "its directory", sticky: true) }
        judge(st, path, "the file", sticky: false)
        guard !problems.isEmpty else { return }
        // Problems were collected directory first; the command lists the directory first too.
        var fix: [String] = []
        if !chown.isEmpty, FileTrust.inUserNamespace, let outside = FileTrust.outsideUID(me) {
            // Nobody in here can chown an unmapped file: say who must, and to whom.
            throw ProfileError(kind: .unreadable,
                               message: "\(path): refusing a profile that others could have written: \(problems.reversed().joined(separator: "; "))",
                               hint: "outside this user namespace, as root: chown \(outside) \(chown.joined(separator: " "))"
                                   + (chmod.isEmpty ? "" : " && chmod go-w \(chmod.joined(separator: " "))")
                                   + " (uid \(me) here is uid \(outside) there; paths as seen here)")
        }
        if !chown.isEmpty { fix.append("chown \(me) \(chown.joined(separator: " "))") }
        if !chmod.isEmpty { fix.append("chmod go-w \(chmod.joined(separator: " "))") }
        throw ProfileError(kind: .unreadable,
                           message: "\(path): refusing a profile that others could have written: \(problems.reversed().joined(separator: "; "))",
                           hint: fix.joined(separator: " && ") + (chown.isEmpty || me == 0 ? "" : " (as root)"))
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
