#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Signal names and numbers, for `stop_signal` and for messages about how a bot died.
public enum Signals {
    /// Standard signals by name, without the "SIG" prefix.
    static let table: [(String, Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL), ("TRAP", SIGTRAP),
        ("ABRT", SIGABRT), ("IOT", SIGABRT), ("BUS", SIGBUS), ("FPE", SIGFPE), ("KILL", SIGKILL),
        ("USR1", SIGUSR1), ("SEGV", SIGSEGV), ("USR2", SIGUSR2), ("PIPE", SIGPIPE), ("ALRM", SIGALRM),
        ("TERM", SIGTERM), ("STKFLT", SIGSTKFLT), ("CHLD", SIGCHLD), ("CONT", SIGCONT), ("STOP", SIGSTOP),
        ("TSTP", SIGTSTP), ("TTIN", SIGTTIN), ("TTOU", SIGTTOU), ("URG", SIGURG), ("XCPU", SIGXCPU),
        ("XFSZ", SIGXFSZ), ("VTALRM", SIGVTALRM), ("PROF", SIGPROF), ("WINCH", SIGWINCH), ("IO", SIGIO),
        ("POLL", SIGPOLL), ("PWR", SIGPWR), ("SYS", SIGSYS),
    ]

    static var realtimeMin: Int32 { __libc_current_sigrtmin() }
    static var realtimeMax: Int32 { __libc_current_sigrtmax() }

    /// "SIGTERM", "TERM", "sigterm", "SIGRTMIN+3" or "15"; nil if unknown.
    public static func number(named raw: String) -> Int32? {
        if let n = Int32(raw) { return (1...realtimeMax).contains(n) ? n : nil }
        var name = raw.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let (_, n) = table.first(where: { $0.0 == name }) { return n }
        if name == "RTMIN" { return realtimeMin }
        if name == "RTMAX" { return realtimeMax }
        if name.hasPrefix("RTMIN+"), let k = Int32(name.dropFirst(6)), k >= 0, realtimeMin + k <= realtimeMax {
            return realtimeMin + k
        }
        return nil
    }

    /// "SIGTERM" for 15, "SIGRTMIN+2" for a realtime signal, or the number itself.
    public static func name(of n: Int32) -> String {
        if let (name, _) = table.first(where: { $0.1 == n }) { return "SIG" + name }
        if n >= realtimeMin && n <= realtimeMax {
            return n == realtimeMin ? "SIGRTMIN" : "SIGRTMIN+\(n - realtimeMin)"
        }
        return String(n)
    }
}
