import Glibc
import Vault

/// Checks on the supervisors found in `<home>/run`.
enum RunSupervisors {
    /// True when `pid` is a run-with-keys process of our own uid.
    static func isSupervisor(_ pid: pid_t) -> Bool {
        guard let cmdline = try? Sys.readFile("/proc/\(pid)/cmdline", limit: 1 << 16),
              let status = try? Sys.readFile("/proc/\(pid)/status", limit: 1 << 16) else { return false }
        let argv0 = cmdline.split(separator: 0).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let uidLine = String(decoding: status, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("Uid:") }
        let realUid = uidLine?.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap { uid_t($0) }
        return Sys.basename(argv0) == "run-with-keys" && realUid == geteuid()
    }

    /// `<home>/run` must be ours and closed to others, or its files mean nothing.
    static func trustedDirectory(_ dir: String) -> Bool {
        var st = stat()
        return lstat(dir, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR && st.st_uid == geteuid() && st.st_mode & 0o022 == 0
    }
}
