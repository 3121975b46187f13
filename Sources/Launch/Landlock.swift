import Common
import CSys
import Glibc
import Profile
import Vault

/// Landlock for the bot, built in the parent: the ABI probe, the rules for
/// `[sandbox] filesystem/read/write/exec/connect/bind/signals`, and the ruleset fd
/// the fork child enforces with landlock_restrict_self(2).
///
/// Landlock rules only allow: a ruleset *handles* some access rights, and every
/// handled right is denied except beneath the paths (and on the TCP ports) that a
/// rule grants it for. Best effort as in the kernel's samples/landlock/sandboxer.c:
/// rights the running ABI doesn't know are dropped; a feature whose rights are all
/// missing is reported as missing. Sources: landlock(7), landlock_create_ruleset(2),
/// landlock_add_rule(2), Documentation/userspace-api/landlock.rst.
public enum Landlock {
    /// What the kernel offers.
    public enum Support: Sendable, Equatable {
        /// ABI version: 1 (5.13), 2 REFER (5.19), 3 TRUNCATE (6.2), 4 TCP ports (6.7),
        /// 5 IOCTL_DEV (6.10), 6 scopes (6.12), 7 audit flags (6.15).
        case abi(Int32)
        /// landlock_create_ruleset(2) failed: ENOSYS (no Landlock, or a seccomp
        /// filter refusing it) or EOPNOTSUPP (built in but not in `lsm=`).
        case unavailable(errno: Int32)

        /// The ABI version; nil when Landlock is unavailable.
        public var version: Int32? { if case .abi(let v) = self { return v } else { return nil } }
    }

    /// The running kernel's Landlock, asked once per process.
    public static let support: Support = {
        let r = rwk_landlock_abi()
        return r > 0 ? .abi(r) : .unavailable(errno: -r)
    }()

    // MARK: access rights

    /// Every filesystem right of ABI 1 (EXECUTE … MAKE_SYM).
    static let fsABI1: UInt64 = (RWK_LL_FS_MAKE_SYM << 1) - 1
    /// The rights a rule on a non-directory may hold (others are EINVAL there).
    static let fileRights: UInt64 = RWK_LL_FS_EXECUTE | RWK_LL_FS_WRITE_FILE | RWK_LL_FS_READ_FILE
        | RWK_LL_FS_TRUNCATE | RWK_LL_FS_IOCTL_DEV

    /// All filesystem rights ABI `abi` knows; 0 for no Landlock.
    public static func filesystemRights(abi: Int32) -> UInt64 {
        guard abi >= 1 else { return 0 }
        var rights = fsABI1
        if abi >= 2 { rights |= RWK_LL_FS_REFER }
        if abi >= 3 { rights |= RWK_LL_FS_TRUNCATE }
        if abi >= 5 { rights |= RWK_LL_FS_IOCTL_DEV }
        return rights
    }

    /// The kernel's own interfaces that a root bot gets read-only under hide-keys:
    /// written to as uid 0 with no capability at all they hand out the system
    /// (kernel.core_pattern and kernel.modprobe run a program outside any sandbox,
    /// tracefs' uprobe_events reads any process's memory, a cgroup v1
    /// release_agent, binfmt_misc, sysrq-trigger). File modes are their only check.
    public static let kernelInterfaces = ["/proc", "/sys"]

    /// `read`: read files, list directories.
    public static let readRights: UInt64 = RWK_LL_FS_READ_FILE | RWK_LL_FS_READ_DIR
    /// `exec`: read + execute.
    public static let execRights: UInt64 = readRights | RWK_LL_FS_EXECUTE
    /// `write`: read + write, create and remove entries of any kind, truncate,
    /// rename/link across directories (REFER) and device ioctls.
    public static let writeRights: UInt64 = readRights | RWK_LL_FS_WRITE_FILE | RWK_LL_FS_REMOVE_DIR
        | RWK_LL_FS_REMOVE_FILE | RWK_LL_FS_MAKE_CHAR | RWK_LL_FS_MAKE_DIR | RWK_LL_FS_MAKE_REG
        | RWK_LL_FS_MAKE_SOCK | RWK_LL_FS_MAKE_FIFO | RWK_LL_FS_MAKE_BLOCK | RWK_LL_FS_MAKE_SYM
        | RWK_LL_FS_REFER | RWK_LL_FS_TRUNCATE | RWK_LL_FS_IOCTL_DEV

    // MARK: rules

    /// One path-beneath rule: `access` on `path` and everything below it.
    public struct PathRule: Sendable, Equatable {
        /// Where the rule applies; `create` opens it with O_PATH|O_NOFOLLOW and skips it when it is missing
        /// or a symlink.
        public var path: String
        /// LANDLOCK_ACCESS_FS_* rights (`RWK_LL_FS_*`) granted beneath `path`; `create` keeps only the
        /// handled ones, and only `fileRights` on a non-directory.
        public var access: UInt64
        /// A rule granting `access` on `path` and everything below it.
        public init(path: String, access: UInt64) {
            self.path = path
            self.access = access
        }
    }

    /// "Every entry of `directory` but these names": a path-beneath rule for each
    /// entry, granting `access` (only its file rights on a non-directory).
    /// Symlinks get none. The plan never lists the directory: the entries are
    /// read when the ruleset is created (`rwk_landlock_add_entries`), two
    /// syscalls each, so a crowded /etc or /tmp costs microseconds, not a
    /// Swift string per entry.
    ///
    /// Which entries are skipped is decided as Swift String equality, which is
    /// how the names were made (from realpath's bytes, invalid UTF-8 repaired to
    /// U+FFFD, and compared with canonical equivalence): an ASCII entry against
    /// ASCII names byte for byte in C (the same thing), anything else by a call
    /// back into Swift. Where bytes and Strings disagree (an NFD twin of a hidden
    /// NFC name, a non-UTF-8 name that repairs to a hidden one), the entry gets
    /// no rule: hidden too, never the other way round. A directory or entry we
    /// can't open (EACCES, gone) gets no rules either.
    public struct EntriesRule: Sendable, Equatable {
        /// An absolute, canonical directory.
        public var directory: String
        /// Names in `directory` that get no rule (sorted).
        public var except: [String]
        /// LANDLOCK_ACCESS_FS_* rights for each entry: all of them on a directory, only the file rights
        /// on anything else; `create` keeps only the handled ones.
        public var access: UInt64
        /// A rule for every entry of `directory` but the names in `except`, granting `access`.
        public init(directory: String, except: [String], access: UInt64) {
            self.directory = directory
            self.except = except
            self.access = access
        }
    }

    /// A complete ruleset, before it is handed to the kernel.
    public struct Ruleset: Sendable, Equatable {
        /// Handled filesystem rights (`handled_access_fs`, LANDLOCK_ACCESS_FS_*); 0: none.
        public var handledFilesystem: UInt64 = 0
        /// Handled TCP rights (`handled_access_net`: LANDLOCK_ACCESS_NET_BIND_TCP, _CONNECT_TCP;
        /// ABI 4); 0: none.
        public var handledNetwork: UInt64 = 0
        /// IPC scopes (`scoped`: LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, LANDLOCK_SCOPE_SIGNAL; ABI 6);
        /// 0: none.
        public var scoped: UInt64 = 0
        /// Path-beneath rules (LANDLOCK_RULE_PATH_BENEATH).
        public var pathRules: [PathRule] = []
        /// "Every entry but these" rules, expanded into path-beneath rules by `create`.
        public var entryRules: [EntriesRule] = []
        /// (rights, TCP port)
        public var portRules: [(access: UInt64, port: UInt16)] = []

        /// Nothing handled and nothing scoped, whatever the rules: such a ruleset would restrict nothing.
        public var isEmpty: Bool { handledFilesystem == 0 && handledNetwork == 0 && scoped == 0 }

        /// Field by field, `portRules` element by element (an array of tuples is not Equatable).
        public static func == (a: Ruleset, b: Ruleset) -> Bool {
            a.handledFilesystem == b.handledFilesystem && a.handledNetwork == b.handledNetwork && a.scoped == b.scoped
                && a.pathRules == b.pathRules && a.entryRules == b.entryRules && a.portRules.map(\.access) == b.portRules.map(\.access)
                && a.portRules.map(\.port) == b.portRules.map(\.port)
        }

        /// Creates the ruleset in the kernel and adds every rule. Each path is opened
        /// with O_PATH|O_NOFOLLOW; a rule on a non-directory keeps only the file rights.
        /// A path that vanished since the rules were computed is skipped. Entry
        /// rules are expanded here (see `EntriesRule`).
        /// - Returns: the ruleset fd (close-on-exec); the caller owns it.
        /// - Throws: `LaunchError.system` naming the failing call.
        public func create() throws(LaunchError) -> Int32 {
            let fd = rwk_landlock_create_ruleset(handledFilesystem, handledNetwork, scoped)
            guard fd >= 0 else { throw .system(call: "landlock_create_ruleset", errno: -fd) }
            do throws(LaunchError) {
                for rule in pathRules {
                    let pfd = open(rule.path, RWK_O_PATH | O_NOFOLLOW | O_CLOEXEC)
                    if pfd < 0 {
                        if errno == ENOENT { continue }
                        throw LaunchError.system(call: "open \(rule.path) for a Landlock rule", errno: errno)
                    }
                    defer { close(pfd) }
                    var st = stat()
                    guard fstat(pfd, &st) == 0 else { throw LaunchError.system(call: "fstat \(rule.path)", errno: errno) }
                    let isDir = st.st_mode & S_IFMT == S_IFDIR
                    if st.st_mode & S_IFMT == S_IFLNK { continue }  // swapped for a symlink meanwhile
                    let access = (isDir ? rule.access : rule.access & Landlock.fileRights) & handledFilesystem
                    guard access != 0 else { continue }
                    let r = rwk_landlock_add_path_rule(fd, access, pfd)
                    if r < 0 { throw LaunchError.system(call: "landlock_add_rule \(rule.path)", errno: -r) }
                }
                for rule in entryRules {
                    let dirAccess = rule.access & handledFilesystem
                    let fileAccess = rule.access & Landlock.fileRights & handledFilesystem
                    let names = CArena()
                    let skip = Unmanaged.passRetained(SkipNames(rule.except))
                    defer { skip.release() }
                    let r = rwk_landlock_add_entries(fd, rule.directory, names.stringArray(rule.except), Int32(rule.except.count),
                                                     rule.except.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } } ? 1 : 0,
                                                     SkipNames.test, skip.toOpaque(), dirAccess, fileAccess)
                    if r < 0 { throw LaunchError.system(call: "reading \(rule.directory) for its Landlock rules", errno: -r) }
                }
                for rule in portRules {
                    let r = rwk_landlock_add_port_rule(fd, rule.access & handledNetwork, UInt64(rule.port))
                    if r < 0 { throw LaunchError.system(call: "landlock_add_rule tcp port \(rule.port)", errno: -r) }
                }
            } catch {
                close(fd)
                throw error
            }
            return fd
        }
    }

    /// `path` with symlinks, "." and ".." resolved. A path that doesn't exist
    /// (yet) is its nearest existing ancestor, canonicalised, plus the rest.
    public static func canonical(_ path: String) -> String {
        if let r = realpath(path, nil) {
            defer { free(r) }
            return String(cString: r)
        }
        let trimmed = path.utf8.count > 1 && path.utf8.last == UInt8(ascii: "/")
            ? String(decoding: path.utf8.dropLast(), as: UTF8.self) : path
        guard trimmed.utf8.contains(UInt8(ascii: "/")) else { return canonical(".") + "/" + trimmed }
        let parent = Sys.directory(of: trimmed)
        let name = Sys.basename(trimmed)
        let base = canonical(parent)
        if name.isEmpty || name == "." { return base }
        if name == ".." { return parentOf(base) }
        return base == "/" ? "/" + name : base + "/" + name
    }

    /// The parent of an absolute path ("/" for "/" and top-level names), split at
    /// the last "/" byte (`Sys.directory(of:)`).
    static func parentOf(_ path: String) -> String {
        let parent = Sys.directory(of: path)
        return parent == "." ? "/" : parent
    }

    /// The absolute paths named in an identity command (`~/` expanded against
    /// `userHome`): words, and the value after `=` in `--opt=/path`, quotes
    /// stripped. `/` itself is left out, and so are programs the bot can't
    /// change (a regular file with an execute bit, such as /usr/bin/pass, owned
    /// by another user than `botUid`, in directories that user doesn't own,
    /// none of them writable by group or others): hiding them would only cost
    /// rules. A program the bot could rewrite is hidden, or a bot could plant
    /// code that the next launch runs outside the sandbox.
    public static func pathTokens(in command: String, userHome: String, botUid: uid_t) -> [String] {
        var out: [String] = []
        for word in command.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == ";" || $0 == "|" }) {
            var token = Substring(word)
            if let eq = token.lastIndex(of: "=") { token = token[token.index(after: eq)...] }
            let quotes: Set<Character> = ["\"", "'", "(", ")", "<", ">", "&"]
            while let f = token.first, quotes.contains(f) { token = token.dropFirst() }
            while let l = token.last, quotes.contains(l) { token = token.dropLast() }
            var path = String(token)
            if path.hasPrefix("~/") { path = userHome + path.dropFirst() }
            guard path.hasPrefix("/"), path != "/" else { continue }
            var st = stat()
            if stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_mode & 0o111 != 0,
               !writable(canonical(path), by: botUid) { continue }
            if !out.contains(path) { out.append(path) }
        }
        return out
    }

    /// Whether `uid` could replace the file at canonical `path`: it or a
    /// directory above it is owned by `uid` (root can do anything), or writable
    /// by group or others.
    static func writable(_ path: String, by uid: uid_t) -> Bool {
        if uid == 0 { return true }
        var p = path
        while true {
            var st = stat()
            guard lstat(p, &st) == 0 else { return true }
            if st.st_uid == uid || st.st_mode & 0o022 != 0 && !(st.st_mode & S_ISVTX != 0 && p != path) { return true }
            if p == "/" { return false }
            p = parentOf(p)
        }
    }

    /// True when `path` is `dir` or lies below it (both canonical), compared as
    /// bytes, as the kernel does: `hasPrefix` on Characters misses a name that
    /// starts with a combining mark (the mark and the slash are one Character).
    public static func isWithin(_ path: String, _ dir: String) -> Bool {
        let p = path.utf8, d = dir.utf8
        if d.elementsEqual("/".utf8) { return true }
        guard p.starts(with: d) else { return false }
        let rest = p.dropFirst(d.count)
        return rest.isEmpty || rest.first == UInt8(ascii: "/")
    }

    /// The canonical hidden paths: duplicates and paths inside another hidden path removed, sorted.
    public static func hiddenSet(_ paths: [String]) -> [String] {
        let all = Array(Set(Set(paths.filter { !$0.isEmpty }).map(canonical))).sorted()
        return all.filter { p in !all.contains { $0 != p && isWithin(p, $0) } }
    }

    /// "Everything but H": for every directory on the way from `/` to a hidden
    /// path, an entries rule granting `access` on each entry that is neither on
    /// the way to a hidden path nor hidden itself (symlinks get no rule: their
    /// targets have their own, or are hidden; following one could grant a hidden
    /// path). The directories on the way get READ_DIR only, through one rule on
    /// `/` (READ_DIR inherits down, so names everywhere stay listable, contents not).
    /// A directory on the way that doesn't exist (yet) gets no rules when the
    /// ruleset is created: a hidden path that appears later is still hidden.
    /// - Parameter hidden: canonical paths (see `hiddenSet`); nonexistent ones are fine.
    /// - Returns: the `/` rule, and one entries rule per directory on the way (sorted).
    public static func everythingBut(_ hidden: [String], access: UInt64) -> (paths: [PathRule], entries: [EntriesRule]) {
        guard !hidden.isEmpty else { return ([PathRule(path: "/", access: access)], []) }
        if hidden.contains("/") { return ([], []) }
        // directory on the way -> the names in it that are on the way or hidden.
        // Split at "/" bytes; names that are canonically equivalent (NFC and NFD
        // twins) merge here, and `create` skips every entry equal to one of them
        // as a Swift String: the safe side (see `EntriesRule`).
        var skip: [String: Set<String>] = [:]
        for h in hidden {
            var p = h
            while !p.utf8.elementsEqual("/".utf8) {
                let parent = parentOf(p)
                skip[parent, default: []].insert(Sys.basename(p))
                p = parent
            }
        }
        let entries = skip.keys.sorted().map { EntriesRule(directory: $0, except: skip[$0]!.sorted(), access: access) }
        return ([PathRule(path: "/", access: RWK_LL_FS_READ_DIR)], entries)
    }
}

/// The names an entries rule skips, asked from C for every entry that isn't
/// ASCII (`rwk_landlock_add_entries`): the entry's bytes decoded as Swift
/// decodes a path (invalid UTF-8 repaired) and compared as Strings.
private final class SkipNames {
    let names: Set<String>
    init(_ names: [String]) { self.names = Set(names) }

    static let test: rwk_name_test = { context, name, count in
        guard let context, let name else { return 1 }
        let skip = Unmanaged<SkipNames>.fromOpaque(context).takeUnretainedValue()
        let text = String(decoding: UnsafeRawBufferPointer(start: name, count: count), as: UTF8.self)
        return skip.names.contains(text) ? 1 : 0
    }
}

extension Containment {
    /// Works out what the profile's `[sandbox]` asks for, what this kernel can do,
    /// and the Landlock ruleset that does it (nil when nothing is to be enforced).
    /// `keyMaterial`: the paths to hide (see `LaunchPlan.build`).
    /// - Throws: `PlanError` for an allowlist path that is or contains key material.
    /// `rootBot`: the bot runs as uid 0; hide-keys then leaves it `/proc` and `/sys`
    /// read-only (`Landlock.kernelInterfaces`).
    public static func plan(_ sandbox: SandboxSpec, keyMaterial: [String], profilePath: String, rootBot: Bool = false,
                            support: Landlock.Support = Landlock.support) throws(PlanError) -> (Containment, Landlock.Ruleset?) {
        let abi = support.version ?? 0
        let hidden = Landlock.hiddenSet(keyMaterial)
        var c = Containment(hiddenPaths: hidden, connectPorts: sandbox.connect, bindPorts: sandbox.bind)
        c.filesystemMode = sandbox.filesystem.rawValue
        c.landlockABI = support.version
        var ruleset = Landlock.Ruleset()

        let noLandlock: (String, String)
        if case .unavailable(let e) = support, e == EOPNOTSUPP {
            noLandlock = ("Landlock is built into this kernel but not enabled",
                          "add landlock to the lsm= kernel parameter (see /sys/kernel/security/lsm)")
        } else {
            noLandlock = ("this kernel has no Landlock (needs Linux 5.13+ with landlock in the lsm= list)",
                          "use a kernel with CONFIG_SECURITY_LANDLOCK=y and landlock in lsm=, or set the feature off in [sandbox]")
        }
        func tooOld(_ need: Int32, _ linux: String, _ what: String) -> (String, String) {
            abi == 0 ? noLandlock
                : ("this kernel's Landlock is ABI \(abi); \(what) needs ABI \(need) (Linux \(linux)+)",
                   "upgrade the kernel, or set the feature off in [sandbox]")
        }

        // Filesystem.
        let fsRights = Landlock.filesystemRights(abi: abi)
        switch sandbox.filesystem {
        case .off:
            c.set(Status(feature: .filesystem, active: false, detail: "off"))
        case .hideKeys, .allowlist:
            let detail: String
            // A root bot's read-only kernel interfaces, unless key material lies in
            // one (an identity at /proc/self/fd/N): that tree keeps the hide rules.
            let readOnly = rootBot && sandbox.filesystem == .hideKeys
                ? Landlock.kernelInterfaces.filter { k in !hidden.contains { Landlock.isWithin($0, k) } } : []
            if sandbox.filesystem == .hideKeys {
                detail = "hide-keys: \(hidden.count) path\(hidden.count == 1 ? "" : "s") hidden"
                    + (readOnly.isEmpty ? "" : "; " + readOnly.joined(by: " and ") + " read-only (the bot is root)")
            } else {
                for entry in sandbox.read + sandbox.write + sandbox.exec {
                    let path = Landlock.canonical(entry.path)
                    for h in hidden where Landlock.isWithin(path, h) || Landlock.isWithin(h, path) {
                        let line = entry.line.map { " (line \($0))" } ?? ""
                        let how = path == h ? "is" : Landlock.isWithin(path, h) ? "lies inside" : "contains"
                        throw PlanError("\(profilePath): \(entry.key): \(entry.path) \(how) run-with-keys' key material \(h)\(line)",
                                        hints: ["the bot never gets the identity, the vault, run-with-keys' home, its profile's directory or its templates; list the directories it needs instead"])
                    }
                }
                detail = "allowlist: \(sandbox.read.count) read, \(sandbox.write.count) write, \(sandbox.exec.count) exec"
            }
            if abi >= 1 {
                ruleset.handledFilesystem = fsRights
                if sandbox.filesystem == .hideKeys {
                    (ruleset.pathRules, ruleset.entryRules) = Landlock.everythingBut(hidden + readOnly, access: fsRights)
                    ruleset.pathRules += readOnly.map { Landlock.PathRule(path: $0, access: Landlock.execRights) }
                } else {
                    var rules: [Landlock.PathRule] = []
                    for (list, access) in [(sandbox.read, Landlock.readRights), (sandbox.write, Landlock.writeRights),
                                           (sandbox.exec, Landlock.execRights)] {
                        rules += list.map { Landlock.PathRule(path: Landlock.canonical($0.path), access: access) }
                    }
                    ruleset.pathRules = rules
                }
                let partial = abi < 5 ? " (Landlock ABI \(abi): \(abi < 3 ? "truncate and " : "")device ioctls unrestricted)" : ""
                c.set(Status(feature: .filesystem, active: true, detail: detail + partial))
            } else {
                c.set(Status(feature: .filesystem, active: false, detail: detail, missing: noLandlock.0, hint: noLandlock.1))
            }
        }

        // Network.
        if sandbox.connect == nil && sandbox.bind == nil {
            c.set(Status(feature: .network, active: false, detail: "off"))
        } else {
            func ports(_ p: [UInt16]?) -> String {
                guard let p else { return "any" }
                return p.isEmpty ? "none" : p.map(String.init).joined(separator: ",")
            }
            let detail = "tcp connect \(ports(sandbox.connect)); bind \(ports(sandbox.bind))"
            if abi >= 4 {
                if let ports = sandbox.connect {
                    ruleset.handledNetwork |= RWK_LL_NET_CONNECT_TCP
                    ruleset.portRules += ports.map { (access: RWK_LL_NET_CONNECT_TCP, port: $0) }
                }
                if let ports = sandbox.bind {
                    ruleset.handledNetwork |= RWK_LL_NET_BIND_TCP
                    ruleset.portRules += ports.map { (access: RWK_LL_NET_BIND_TCP, port: $0) }
                }
                c.set(Status(feature: .network, active: true, detail: detail))
            } else {
                let (why, hint) = tooOld(4, "6.7", "TCP port rules")
                c.set(Status(feature: .network, active: false, detail: detail, missing: why, hint: hint))
            }
        }

        // IPC scopes (ABI 6): signals, and abstract Unix sockets, which have no
        // path for a filesystem rule to see.
        func scope(_ feature: Feature, _ setting: SandboxSpec.Scope, bit: UInt64, what: String, active: String) {
            if setting == .off {
                c.set(Status(feature: feature, active: false, detail: "off"))
            } else if abi >= 6 {
                ruleset.scoped |= bit
                c.set(Status(feature: feature, active: true, detail: "scoped: " + active))
            } else {
                let (why, hint) = tooOld(6, "6.12", what)
                c.set(Status(feature: feature, active: false, detail: "scoped", missing: why, hint: hint))
            }
        }
        scope(.signals, sandbox.signals, bit: RWK_LL_SCOPE_SIGNAL, what: "signal scoping",
              active: "no signals to processes outside the bot's sandbox")
        scope(.abstractSockets, sandbox.abstractSockets, bit: RWK_LL_SCOPE_ABSTRACT_UNIX_SOCKET, what: "abstract Unix socket scoping",
              active: "no connecting to abstract Unix sockets made outside the bot's sandbox")
        c.set(Status(feature: .tree, active: false, detail: "not yet wired"))
        return (c, ruleset.isEmpty ? nil : ruleset)
    }
}
