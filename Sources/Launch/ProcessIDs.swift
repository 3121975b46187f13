import Glibc
import Vault

/// Pid numbers across PID namespaces, read from /proc.
///
/// /proc may belong to another PID namespace than ours (`unshare --pid --fork`
/// without `--mount-proc`, some containers): its numbers are then not the ones
/// kill(2) takes here. The `NSpid:` lines of /proc/PID/status and of a pidfd's
/// /proc/self/fdinfo list a process's pid in /proc's namespace first, then in
/// each nested one (proc(5)); our own depth picks the right column.
public enum ProcessIDs {
    /// Our pid in /proc's PID namespace (the target of /proc/self); nil when we
    /// are not visible there.
    public static func selfInProc() -> pid_t? {
        var buf = [CChar](repeating: 0, count: 32)
        let n = readlink("/proc/self", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return pid_t(String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The pids of the `NSpid:` line in a /proc status or fdinfo text, outermost first.
    public static func nsPids(in text: String) -> [pid_t]? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }) else { return nil }
        return line.dropFirst(6).split(whereSeparator: { $0 == "\t" || $0 == " " }).compactMap { pid_t($0) }
    }

    /// The NSpid line of /proc/PID/status (PID in /proc's numbering).
    public static func nsPids(of pid: pid_t) -> [pid_t]? {
        guard let bytes = try? Sys.readFile("/proc/\(pid)/status", limit: 1 << 16) else { return nil }
        return nsPids(in: String(decoding: bytes, as: UTF8.self))
    }

    /// How many PID namespaces deep we are, counted from /proc's (1: /proc is ours).
    public static func ourDepth() -> Int? {
        guard let me = selfInProc() else { return nil }
        if me == getpid() { return 1 }
        return nsPids(of: me)?.count
    }

    /// Translates a row of NSpid (outermost first) to our namespace's number.
    public static func ours(_ row: [pid_t]) -> pid_t? {
        guard let depth = ourDepth(), depth > 0, row.count >= depth else { return nil }
        return row[depth - 1]
    }

    /// The pid, in our namespace, of the process a pidfd refers to; nil when
    /// it has exited or can't be seen from here.
    public static func pid(ofPidfd fd: Int32) -> pid_t? {
        guard let bytes = try? Sys.readFile("/proc/self/fdinfo/\(fd)", limit: 1 << 12),
              let row = nsPids(in: String(decoding: bytes, as: UTF8.self)), row.first.map({ $0 > 0 }) == true
        else { return nil }
        return ours(row)
    }
}
