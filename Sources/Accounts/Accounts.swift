#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One account from the passwd database (passwd(5)): `name:password:uid:gid:gecos:home:shell`.
public struct UserRecord: Sendable, Equatable {
    /// The login name (field 1).
    public var name: String
    /// The user id (field 3).
    public var uid: uid_t
    /// The primary group's id (field 4).
    public var gid: gid_t
    /// The home directory field, as written (may be empty).
    public var home: String
    /// True when `getent` found it (another nsswitch source), false for `/etc/passwd`.
    public var viaGetent = false

    /// A record with `viaGetent` false; nothing is checked.
    public init(name: String, uid: uid_t, gid: gid_t, home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.home = home
    }
}

/// One group from the group database (group(5)): `name:password:gid:member,member`.
public struct GroupRecord: Sendable, Equatable {
    /// The group name (field 1).
    public var name: String
    /// The group id (field 3).
    public var gid: gid_t
    /// The user names of field 4 (comma-separated there), in file order; empty when it is.
    public var members: [String]

    /// A record as given; nothing is checked.
    public init(name: String, gid: gid_t, members: [String]) {
        self.name = name
        self.gid = gid
        self.members = members
    }
}

/// A lookup that could not be answered (not "no such user": that is `nil`).
public struct AccountsError: Error, Equatable, CustomStringConvertible {
    /// What was attempted, e.g. `getent passwd alice` or `read /etc/passwd`.
    public var call: String
    /// The errno that explains it, e.g. `ETIMEDOUT` for a `getent` that did not answer in time.
    public var errno: Int32

    /// `<call> failed: <strerror(errno)>`, e.g.
    /// `getent passwd alice (no answer within 5 s) failed: Connection timed out`.
    public var description: String { "\(call) failed: \(String(cString: strerror(errno)))" }
}

/// Users and groups, resolved without glibc's NSS.
///
/// A fully static executable (`-static-executable`) can't load NSS modules:
/// glibc's `getpwnam` there crashes as soon as `nsswitch.conf` names a source
/// other than `files` and the name isn't in `/etc/passwd`. So this reads
/// `/etc/passwd` and `/etc/group` itself (passwd(5), group(5)). Only when a
/// name or id is not there and `/etc/nsswitch.conf` (nsswitch.conf(5)) lists
/// other sources for that database does it ask `getent(1)` (a dynamic program,
/// whose NSS works), run by absolute path with an empty environment and a
/// timeout, and parse its output. Numbers need no lookup to be used as ids.
public enum Accounts {
    /// The files read; fixed system paths.
    static let passwdPath = "/etc/passwd"
    static let groupPath = "/etc/group"
    static let gshadowPath = "/etc/gshadow"
    static let nsswitchPath = "/etc/nsswitch.conf"

    /// The account named `name`, or nil when no source knows it.
    /// - Throws: `AccountsError` when a file can't be read or `getent` fails or times out.
    public static func user(named name: String) throws(AccountsError) -> UserRecord? {
        if let found = try parsePasswd(readSystemFile(passwdPath)).first(where: { $0.name == name }) { return found }
        guard validName(name), otherSources("passwd") else { return nil }
        return try getent("passwd", name).flatMap { parsePasswd($0).first }.map { var r = $0; r.viaGetent = true; return r }
    }

    /// The first account with `uid`, or nil when no source knows it.
    /// `askGetent: false` reads `/etc/passwd` only.
    /// - Throws: `AccountsError` as `user(named:)`.
    public static func user(uid: uid_t, askGetent: Bool = true) throws(AccountsError) -> UserRecord? {
        if let found = try parsePasswd(readSystemFile(passwdPath)).first(where: { $0.uid == uid }) { return found }
        guard askGetent, otherSources("passwd") else { return nil }
        return try getent("passwd", String(uid)).flatMap { parsePasswd($0).first }.map { var r = $0; r.viaGetent = true; return r }
    }

    /// The group named `name`, or nil when no source knows it.
    /// - Throws: `AccountsError` as `user(named:)`.
    public static func group(named name: String) throws(AccountsError) -> GroupRecord? {
        if let found = try parseGroup(readSystemFile(groupPath)).first(where: { $0.name == name }) { return found }
        guard validName(name), otherSources("group") else { return nil }
        return try getent("group", name).flatMap { parseGroup($0).first }
    }

    /// The group with `gid`, or nil when no source knows it.
    /// - Throws: `AccountsError` as `user(named:)`.
    public static func group(gid: gid_t) throws(AccountsError) -> GroupRecord? {
        if let found = try parseGroup(readSystemFile(groupPath)).first(where: { $0.gid == gid }) { return found }
        guard otherSources("group") else { return nil }
        return try getent("group", String(gid)).flatMap { parseGroup($0).first }
    }

    /// The group list for `user`, as `initgroups(3)` sets it: `primary` first,
    /// then every group of `/etc/group` that lists the user as a member, then,
    /// for a user only `getent` knows (`viaGetent`) and when nsswitch.conf's
    /// `initgroups` (or else `group`) line names other sources, the groups
    /// `getent initgroups NAME` reports. No duplicates. A user of `/etc/passwd`
    /// gets the memberships of `/etc/group` only: asking getent at every launch
    /// would cost a process start (about 1 ms) for a case (a local user in a
    /// directory server's group) this does not cover.
    /// - Throws: `AccountsError` as `user(named:)`.
    public static func groupList(user: String, primary: gid_t, viaGetent: Bool) throws(AccountsError) -> [gid_t] {
        var groups = [primary]
        for g in try parseGroup(readSystemFile(groupPath)) where g.members.contains(user) && !groups.contains(g.gid) {
            groups.append(g.gid)
        }
        let database = nsswitchSources("initgroups") != nil ? "initgroups" : "group"
        if viaGetent, validName(user), otherSources(database), let out = try getent("initgroups", user) {
            for gid in parseInitgroups(out) where !groups.contains(gid) { groups.append(gid) }
        }
        return groups
    }

    /// True when group `gid` is the user private group of `uid` (Debian's "user private
    /// groups", the setup that makes umask 002 safe): `uid`'s primary group, no other
    /// account has it as primary group, and its member list is empty or `uid`'s name alone.
    /// Only `/etc/passwd` and `/etc/group` are read, never getent: a group that isn't
    /// listed there is not private. The same rule as Debian's OpenSSH patch
    /// `user-group-modes` (`secure_permissions()` in misc.c). When `/etc/gshadow`
    /// (gshadow(5)) is readable (we are root), its administrators and members of the group
    /// must be empty or `uid`'s name alone too; when it isn't, it is not consulted.
    /// Supplementary groups given to a process outside these files (`docker --group-add`,
    /// `setpriv --groups`) are not seen here: callers check ``callerGroups()`` themselves.
    public static func isPrivateGroup(_ gid: gid_t, of uid: uid_t) -> Bool {
        guard let users = try? parsePasswd(readSystemFile(passwdPath)),
              let groups = try? parseGroup(readSystemFile(groupPath)) else { return false }
        guard let owner = users.first(where: { $0.uid == uid }), owner.gid == gid,
              !users.contains(where: { $0.gid == gid && $0.uid != uid }) else { return false }
        let entries = groups.filter { $0.gid == gid }
        guard entries.count == 1 else { return false }
        let alone: ([String]) -> Bool = { $0.isEmpty || $0 == [owner.name] }
        guard alone(entries[0].members) else { return false }
        guard let shadow = try? readSystemFile(gshadowPath) else { return true }   // unreadable: not consulted
        for f in lines(shadow) where f.count >= 4 && f[0] == entries[0].name {
            let names = (f[2] + "," + f[3]).split(separator: ",").map(String.init)
            if !alone(Array(Set(names)).sorted()) { return false }
        }
        return true
    }

    /// The effective group and the supplementary groups of this process (getegid(2),
    /// getgroups(2)): the groups a bot started without `user =` holds too.
    public static func callerGroups() -> [gid_t] {
        var groups = [getegid()]
        let n = getgroups(0, nil)
        guard n > 0 else { return groups }
        var list = [gid_t](repeating: 0, count: Int(n))
        let got = getgroups(n, &list)
        if got > 0 { groups += list.prefix(Int(got)) }
        return groups
    }

    // MARK: Parsing (pure; bytes in, records out)

    /// Parses passwd(5) lines. Lines that don't have 7 fields with numeric
    /// ids, and NIS compat lines (`+…`, `-…`), are skipped.
    public static func parsePasswd(_ bytes: [UInt8]) -> [UserRecord] {
        lines(bytes).compactMap { f in
            guard f.count >= 7, let uid = uid_t(f[2]), let gid = gid_t(f[3]), validName(f[0]) else { return nil }
            return UserRecord(name: f[0], uid: uid, gid: gid, home: f[5])
        }
    }

    /// Parses group(5) lines; members are comma-separated in the fourth field.
    public static func parseGroup(_ bytes: [UInt8]) -> [GroupRecord] {
        lines(bytes).compactMap { f in
            guard f.count >= 4, let gid = gid_t(f[2]), validName(f[0]) else { return nil }
            return GroupRecord(name: f[0], gid: gid, members: f[3].split(separator: ",").map(String.init))
        }
    }

    /// Parses `getent initgroups NAME` output: the name, then the group ids, separated by spaces.
    public static func parseInitgroups(_ bytes: [UInt8]) -> [gid_t] {
        let words = bytes.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A })
        return words.dropFirst().compactMap { gid_t(String(decoding: $0, as: UTF8.self)) }
    }

    /// The sources nsswitch.conf lists for `database` (status actions like
    /// `[NOTFOUND=return]` dropped), or nil when it has no line for it.
    public static func parseNsswitch(_ bytes: [UInt8], database: String) -> [String]? {
        for line in bytes.split(separator: 0x0A) {
            let text = String(decoding: line.prefix { $0 != UInt8(ascii: "#") }, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { continue }
            guard text[..<colon].trimmingSpaces() == database else { continue }
            var sources: [String] = []
            var inAction = false
            for word in text[text.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                if word.hasPrefix("[") { inAction = true }
                if !inAction { sources.append(String(word)) }
                if word.hasSuffix("]") { inAction = false }
            }
            return sources
        }
        return nil
    }

    private static func lines(_ bytes: [UInt8]) -> [[String]] {
        bytes.split(separator: 0x0A).compactMap { line in
            guard let first = line.first, first != UInt8(ascii: "#"), first != UInt8(ascii: "+"), first != UInt8(ascii: "-") else { return nil }
            return line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// A name we may pass to getent: not empty, not an option, no separators or control bytes.
    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 256 && !name.hasPrefix("-")
            && name.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: ":") && $0 != UInt8(ascii: ",") }
    }

    // MARK: nsswitch.conf and getent

    private static func nsswitchSources(_ database: String) -> [String]? {
        guard let bytes = try? readSystemFile(nsswitchPath) else { return nil }
        return parseNsswitch(bytes, database: database)
    }

    /// Whether nsswitch.conf names a source other than `files` for `database`.
    /// Without the file or the line, glibc uses `files` alone (passwd, group).
    static func otherSources(_ database: String) -> Bool {
        let sources = nsswitchSources(database) ?? (database == "initgroups" ? nsswitchSources("group") : nil) ?? ["files"]
        return sources.contains { $0 != "files" }
    }

    /// Where getent lives on Debian and most distributions.
    static let getentPaths = ["/usr/bin/getent", "/bin/getent"]
    /// How long getent may take before it is killed (a directory server may be slow, never forever).
    static let getentTimeoutMs: Int32 = 5000

    /// Runs `getent DATABASE KEY` and returns its output, nil when it says
    /// "not found" (exit 2).
    /// - Throws: `AccountsError` when getent is missing, fails otherwise or times out.
    static func getent(_ database: String, _ key: String) throws(AccountsError) -> [UInt8]? {
        let call = "getent \(database) \(key)"
        guard let path = getentPaths.first(where: { access($0, X_OK) == 0 }) else {
            throw AccountsError(call: call, errno: ENOENT)
        }
        let result = try GetentRun.run(path: path, arguments: [database, key], timeoutMs: getentTimeoutMs, call: call)
        switch result.status {
        case 0: return result.output.isEmpty ? nil : result.output
        case 2: return nil
        default: throw AccountsError(call: "\(call) (exit \(result.status))", errno: EIO)
        }
    }

    /// Reads a system file (a missing one reads as empty), refusing anything but a regular file and more than 16 MiB.
    /// - Throws: `AccountsError` when it can't be opened or read.
    static func readSystemFile(_ path: String) throws(AccountsError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        if fd < 0 && errno == ENOENT { return [] }  // no file: no entries (glibc's files source says the same)
        if fd < 0 { throw AccountsError(call: "open \(path)", errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw AccountsError(call: "read \(path) (not a regular file)", errno: EINVAL) }
        var bytes: [UInt8] = []
        let chunk = 65536
        var buf = [UInt8](repeating: 0, count: chunk)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, chunk) }
            if n < 0 { if errno == EINTR { continue }; throw AccountsError(call: "read \(path)", errno: errno) }
            if n == 0 { return bytes }
            bytes += buf[..<n]
            if bytes.count > 16 << 20 { throw AccountsError(call: "read \(path) (over 16 MiB)", errno: EFBIG) }
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}
