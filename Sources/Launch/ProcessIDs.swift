import Glibc
import CSys
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
        var text = text
        return text.withUTF8 { nsPids(in: $0) }
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

    /// `ourDepth()`, asked once per process: our PID namespace is ours for life,
    /// and so is the /proc we see (we never change mount namespace), so every
    /// spawn of a supervisor would otherwise read /proc/self again for the same answer.
    static let depth: Int? = ourDepth()

    /// Translates a row of NSpid (outermost first) to our namespace's number.
    public static func ours(_ row: [pid_t]) -> pid_t? {
        guard let depth, depth > 0, row.count >= depth else { return nil }
        return row[depth - 1]
    }

    /// The pid, in our namespace, of the process a pidfd refers to; nil when
    /// it has exited or can't be seen from here. Runs once per spawn: one ioctl
    /// (PIDFD_GET_INFO) where the kernel has it; before Linux 6.13, the NSpid
    /// line of the pidfd's fdinfo, read into a small buffer on the stack (not a
    /// fresh 64 KiB one: after the fork of a tree's init every new page the
    /// supervisor writes is a copy-on-write fault).
    public static func pid(ofPidfd fd: Int32) -> pid_t? {
        let pid = rwk_pidfd_pid(fd)   // one ioctl where the kernel has PIDFD_GET_INFO
        if pid > 0 { return pid }
        if errno == ESRCH { return nil }
        let file = open("/proc/self/fdinfo/\(fd)", O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return nil }
        defer { close(file) }
        let row = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { buf -> [pid_t]? in
            var got = 0
            while got < buf.count {
                let n = read(file, buf.baseAddress! + got, buf.count - got)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { return nil }
                if n == 0 { break }
                got += n
            }
            return nsPids(in: UnsafeBufferPointer(rebasing: buf[0..<got]))
        }
        guard let row, row.first.map({ $0 > 0 }) == true else { return nil }
        return ours(row)
    }

    /// The pids of the `NSpid:` line in the bytes of a /proc status or fdinfo
    /// file, outermost first; read in place (a spawn reads one per bot). A
    /// token that is not a number is skipped.
    static func nsPids(in text: UnsafeBufferPointer<UInt8>) -> [pid_t]? {
        let key = Array("NSpid:".utf8)
        var lineStart = 0
        while lineStart < text.count {
            var end = lineStart
            while end < text.count && text[end] != 0x0a { end += 1 }
            if end - lineStart >= key.count && text[lineStart..<(lineStart + key.count)].elementsEqual(key) {
                var row: [pid_t] = []
                for token in text[(lineStart + key.count)..<end].split(whereSeparator: { $0 == 0x09 || $0 == 0x20 }) {
                    var value: pid_t = 0, valid = token.count <= 9
                    for byte in token where valid {
                        if byte >= 0x30 && byte <= 0x39 { value = value * 10 + pid_t(byte - 0x30) } else { valid = false }
                    }
                    if valid { row.append(value) }
                }
                return row
            }
            lineStart = end + 1
        }
        return nil
    }
}
