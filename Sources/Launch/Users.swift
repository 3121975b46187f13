import Accounts
import Glibc

extension Credentials {
    /// Looks up `nameOrUid` (a user name or a number) and its groups, for the
    /// privilege drop. `group` (a name or a number) replaces the user's
    /// primary group. A number is looked up in `/etc/passwd` only (for its
    /// primary and supplementary groups); one without an entry there is taken
    /// as is, with gid = `group` or the same number, and no supplementary
    /// groups. Names go through `Accounts` (passwd/group files, then getent),
    /// never through glibc's NSS, which crashes in a static executable.
    /// - Throws: `LaunchError.unknownUser`/`.unknownGroup`, or `.system` when a lookup failed (e.g. getent timed out).
    public static func resolveUser(_ nameOrUid: String, group: String? = nil) throws(LaunchError) -> Credentials {
        let entry = try passwdEntry(nameOrUid)
        guard entry != nil || isNumber(nameOrUid) else { throw .unknownUser(nameOrUid) }
        // A number past uid_t (or (uid_t)-1, "no change" to setresuid(2)) is no user.
        guard let uid = entry?.uid ?? uid_t(nameOrUid), uid != uid_t.max else { throw .unknownUser(nameOrUid) }
        var gid = entry?.gid ?? gid_t(uid)
        if let group { gid = try resolveGroup(group) }
        let groups = try entry.map { (e) throws(LaunchError) in try lookup { () throws(AccountsError) in try Accounts.groupList(user: e.name, primary: gid, viaGetent: e.viaGetent) } } ?? [gid]
        return Credentials(uid: uid, gid: gid, groups: groups)
    }

    /// The uid `nameOrUid` stands for (a number as is), without its groups.
    /// - Throws: as `resolveUser`.
    public static func resolveUid(_ nameOrUid: String) throws(LaunchError) -> uid_t {
        if isNumber(nameOrUid), let uid = uid_t(nameOrUid), uid != uid_t.max { return uid }
        guard let entry = try passwdEntry(nameOrUid) else { throw .unknownUser(nameOrUid) }
        return entry.uid
    }

    /// A group name or number as a gid; numbers are taken as is.
    /// - Throws: `LaunchError.unknownGroup`, or `.system` when a lookup failed.
    static func resolveGroup(_ nameOrGid: String) throws(LaunchError) -> gid_t {
        if isNumber(nameOrGid), let gid = gid_t(nameOrGid), gid != gid_t.max { return gid }
        guard let found = try lookup({ () throws(AccountsError) in try Accounts.group(named: nameOrGid) }) else { throw .unknownGroup(nameOrGid) }
        return found.gid
    }

    private static func passwdEntry(_ nameOrUid: String) throws(LaunchError) -> UserRecord? {
        if isNumber(nameOrUid) {
            guard let uid = uid_t(nameOrUid) else { return nil }
            return try lookup { () throws(AccountsError) in try Accounts.user(uid: uid, askGetent: false) }
        }
        return try lookup { () throws(AccountsError) in try Accounts.user(named: nameOrUid) }
    }

    private static func lookup<T>(_ body: () throws(AccountsError) -> T) throws(LaunchError) -> T {
        do { return try body() } catch { throw .system(call: error.call, errno: error.errno) }
    }
}

private func isNumber(_ s: String) -> Bool { !s.isEmpty && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
