import Accounts
import Common
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
        guard let text = String(validUTF8: bytes) else {
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
    /// config, refuse one that someone else could have written (``trustProblem(_:_:what:)``).
    /// `what` names the file in the error ("profile", "template").
    static func checkTrusted(_ path: String, _ st: stat, what: String = "profile") throws(ProfileError) {
        if let (problem, hint) = trustProblem(path, st, what: what) {
            throw ProfileError(kind: .unreadable, message: "\(path): \(problem)", hint: hint)
        }
    }

    /// Who could have written a file that decides what the bot runs, gets or may do (a
    /// profile, a template, a seccomp policy file). The file and its directory must be owned by us or root and
    /// writable by nobody else: not by others, and by the group only when it is the
    /// owner's user private group (``Accounts/isPrivateGroup(_:of:)``, so a clone made
    /// under umask 002 passes) and we don't hold that group without owning the file
    /// (a supplementary group from `docker --group-add`, Kubernetes `supplementalGroups`,
    /// `setpriv --groups`: a same-uid bot holds it too). A sticky directory (`/tmp`, a
    /// kubelet volume root) excuses the write bits of group and others, the sticky bit
    /// keeping them from renaming or removing our file, but only when the directory is
    /// owned by us or root (its owner can replace any file in it). When `path` is a
    /// symbolic link, the link's directory and the target's directory are both judged.
    ///
    /// - Parameters: `st` is the `fstat` of the file as opened (the link's target).
    ///   `what` names the kind of file in the message ("profile", "template", "seccomp policy").
    /// - Returns: nil when trusted, else one message naming every problem (owner and mode
    ///   seen; it doesn't repeat `path` first) and one command that fixes the files and
    ///   directories together.
    public static func trustProblem(_ path: String, _ st: stat, what: String) -> (message: String, hint: String)? {
        let me = geteuid()
        var dirs = [Sys.directory(of: path)]
        var ls = stat()
        if lstat(path, &ls) == 0, ls.st_mode & S_IFMT == S_IFLNK, let real = realpath(path, nil) {
            let target = Sys.directory(of: String(cString: real))
            free(real)
            if target != dirs[0] { dirs.append(target) }
        }
        var problems: [String] = [], chown: [String] = [], chmod: [String] = []
        func judge(_ s: stat, _ p: String, _ label: String, directory: Bool) {
            let ownerOK = s.st_uid == me || s.st_uid == 0
            let excused = directory && ownerOK && s.st_mode & S_ISVTX != 0
            let groupWrites = s.st_mode & 0o020 != 0 && !excused && !groupIsPrivate(s.st_gid, of: s.st_uid)
            let othersWrite = s.st_mode & 0o002 != 0 && !excused
            guard !ownerOK || groupWrites || othersWrite else { return }
            var why: [String] = []
            if !ownerOK { why.append("not owned by you (uid \(me)) or root"); chown.append(p) }
            if groupWrites { why.append("writable by group \(s.st_gid), which is not the owner's private group") }
            if othersWrite { why.append("writable by others") }
            if groupWrites || othersWrite { chmod.append(p) }
            problems.append("\(label) \(p) is owned by \(FileTrust.describeOwner(s.st_uid)) with mode \(FileTrust.modeString(s.st_mode)): \(why.joined(separator: ", "))")
        }
        for (i, dir) in dirs.enumerated() {
            var ds = stat()
            if stat(dir, &ds) == 0 { judge(ds, dir, i == 0 ? "its directory" : "its link's target directory", directory: true) }
        }
        judge(st, path, dirs.count > 1 ? "the link's target" : "the file", directory: false)
        guard !problems.isEmpty else { return nil }
        // Problems were collected directory first; the command lists the directory first too.
        let message = "refusing a \(what) that others could have written: \(problems.reversed().joined(separator: "; "))"
        // Never a sticky directory of ours or root's (excused above): `go-w` can't break /tmp.
        let chmodCommand = "chmod go-w \(chmod.joined(separator: " "))"
        if !chown.isEmpty, FileTrust.inUserNamespace, let outside = FileTrust.outsideUID(me) {
            // Nobody in here can chown an unmapped file: say who must, and to whom.
            return (message, "outside this user namespace, as root: chown \(outside) \(chown.joined(separator: " "))"
                        + (chmod.isEmpty ? "" : " && " + chmodCommand)
                        + " (uid \(me) here is uid \(outside) there; paths as seen here)")
        }
        var fix: [String] = []
        if !chown.isEmpty { fix.append("chown \(me) \(chown.joined(separator: " "))") }
        if !chmod.isEmpty { fix.append(chmodCommand) }
        return (message, fix.joined(separator: " && ") + (chown.isEmpty || me == 0 ? "" : " (as root)"))
    }

    /// The private-group rule, minus a group we hold without owning the file: then
    /// we, and a bot running as us, can write it.
    static func groupIsPrivate(_ gid: gid_t, of owner: uid_t) -> Bool {
        guard Accounts.isPrivateGroup(gid, of: owner) else { return false }
        return owner == geteuid() || !Accounts.callerGroups().contains(gid)
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
