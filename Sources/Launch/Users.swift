import Glibc

extension Credentials {
    /// Looks up `nameOrUid` (a user name or a number) and its groups, for the
    /// privilege drop. `group` (a name or a number) replaces the user's
    /// primary group. A number without a passwd entry is taken as is, with
    /// gid = `group` or the same number, and no supplementary groups.
    public static func resolveUser(_ nameOrUid: String, group: String? = nil) throws(LaunchError) -> Credentials {
        let entry = try passwdEntry(nameOrUid)
        guard entry != nil || isNumber(nameOrUid) else { throw .unknownUser(nameOrUid) }
        let uid = entry?.uid ?? uid_t(nameOrUid)!
        guard uid != uid_t.max else { throw .unknownUser(nameOrUid) }
        var gid = entry?.gid ?? gid_t(uid)
        if let group { gid = try resolveGroup(group) }
        let groups = try entry.map { (e) throws(LaunchError) in try groupList(e.name, gid) } ?? [gid]
        return Credentials(uid: uid, gid: gid, groups: groups)
    }

    static func resolveGroup(_ nameOrGid: String) throws(LaunchError) -> gid_t {
        var group = Glibc.group()
        var found: UnsafeMutablePointer<Glibc.group>?
        let rc = withBuffer { buf, size in
            isNumber(nameOrGid)
                ? getgrgid_r(gid_t(nameOrGid) ?? gid_t.max, &group, buf, size, &found)
                : getgrnam_r(nameOrGid, &group, buf, size, &found)
        }
        if rc != 0 && rc != ENOENT { throw .system(call: "getgrnam_r", errno: rc) }
        if let found { return found.pointee.gr_gid }
        if isNumber(nameOrGid), let gid = gid_t(nameOrGid), gid != gid_t.max { return gid }
        throw .unknownGroup(nameOrGid)
    }

    private static func passwdEntry(_ nameOrUid: String) throws(LaunchError) -> (name: String, uid: uid_t, gid: gid_t)? {
        var pw = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var entry: (name: String, uid: uid_t, gid: gid_t)?
        let rc = withBuffer { buf, size in
            let rc = isNumber(nameOrUid)
                ? getpwuid_r(uid_t(nameOrUid) ?? uid_t.max, &pw, buf, size, &found)
                : getpwnam_r(nameOrUid, &pw, buf, size, &found)
            if rc == 0, let p = found?.pointee { entry = (String(cString: p.pw_name), p.pw_uid, p.pw_gid) }
            return rc
        }
        if rc != 0 && rc != ENOENT { throw .system(call: "getpwnam_r", errno: rc) }
        return entry
    }

    private static func groupList(_ user: String, _ gid: gid_t) throws(LaunchError) -> [gid_t] {
        var count: Int32 = 32
        while count <= 65536 {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var n = count
            if getgrouplist(user, gid, &groups, &n) >= 0 { return Array(groups[..<Int(n)]) }
            count = max(n, count * 2)
        }
        throw .system(call: "getgrouplist \(user)", errno: ERANGE)
    }
}

/// Runs a *_r lookup with a growing buffer while it answers ERANGE.
private func withBuffer(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) -> Int32 {
    var size = 1024
    while true {
        let buf = UnsafeMutablePointer<CChar>.allocate(capacity: size)
        defer { buf.deallocate() }
        let rc = body(buf, size)
        if rc != ERANGE || size >= 1 << 20 { return rc }
        size *= 2
    }
}

private func isNumber(_ s: String) -> Bool { !s.isEmpty && s.allSatisfy { $0.isASCII && $0.isNumber } }
