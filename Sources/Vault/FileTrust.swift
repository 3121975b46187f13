import Common
import Glibc

/// The owner and mode rules for files run-with-keys reads by name and trusts: the
/// vault, identity files and profiles (README, "Which owners and modes are accepted").
///
/// What matters is who could have *written* the file (a forged vault or profile
/// decides what the bot gets and runs) and, for key material, who can *read* it.
/// Owners we trust are the effective user and root. A file on a read-only mount
/// can't be changed through that mount by anyone, its owner included (`write`,
/// `chmod` and `chown` fail with `EROFS`), so there its owner and its read bits are
/// the exporter's decision (a Kubernetes Secret volume, `docker -v …:ro`).
public enum FileTrust {
    /// "0644": the permission bits of `mode` in octal, four digits.
    public static func modeString(_ mode: mode_t) -> String {
        let s = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }

    /// The kernel's overflow uid (`/proc/sys/kernel/overflowuid`, usually 65534): what
    /// `stat` shows for an owner that isn't mapped into the caller's user namespace.
    public static let overflowUID: uid_t = {
        guard let bytes = try? Sys.readFile("/proc/sys/kernel/overflowuid", limit: 64),
              let text = String(validUTF8: bytes),
              let n = UInt32(text.filter { $0.isNumber }) else { return 65534 }
        return n
    }()

    /// `/proc/self/uid_map` as (inside, outside, count) ranges (user_namespaces(7)).
    static let uidMap: [(inside: UInt32, outside: UInt32, count: UInt32)] = {
        guard let bytes = try? Sys.readFile("/proc/self/uid_map", limit: 4096),
              let text = String(validUTF8: bytes) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ").compactMap { UInt32($0) }
            return f.count == 3 ? (f[0], f[1], f[2]) : nil
        }
    }()

    /// True inside a user namespace other than the initial one (the map is not `0 0 4294967295`).
    public static var inUserNamespace: Bool {
        !(uidMap.count == 1 && uidMap[0] == (0, 0, 4_294_967_295))
    }

    /// True when `uid` is the overflow uid seen from inside a user namespace: the file's
    /// real owner is a user outside it (a rootless container, `unshare --user`).
    public static func isUnmapped(_ uid: uid_t) -> Bool { uid == overflowUID && uid != geteuid() && inUserNamespace }

    /// `uid` as the parent user namespace knows it, when this namespace maps it.
    public static func outsideUID(_ uid: uid_t) -> uid_t? {
        for r in uidMap where uid >= r.inside && UInt64(uid) < UInt64(r.inside) + UInt64(r.count) {
            return r.outside + (uid - r.inside)
        }
        return nil
    }

    /// "uid 1000", or "uid 65534 (not mapped into this user namespace)".
    public static func describeOwner(_ uid: uid_t) -> String {
        isUnmapped(uid) ? "uid \(uid) (not mapped into this user namespace)" : "uid \(uid)"
    }

    /// True when the file behind `fd` is on a read-only mount (`fstatvfs`, `ST_RDONLY`).
    public static func isReadOnlyMount(_ fd: Int32) -> Bool {
        var vfs = statvfs()
        return fstatvfs(fd, &vfs) == 0 && vfs.f_flag & UInt(ST_RDONLY) != 0
    }
}
