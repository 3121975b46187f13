import Common
import Glibc
import Age

/// Runs a command we were told to run (`identity_command`,
/// `RUN_WITH_KEYS_IDENTITY_COMMAND`) and collects its stdout in guarded memory,
/// never waiting forever:
///
/// - the command runs as `/bin/sh -c COMMAND` in a process group of its own
///   (`posix_spawnattr_setpgroup(3)`), with our stdin and stderr (when stdin is our
///   terminal, its group is put in the terminal's foreground while it runs);
/// - its stdout is a pipe read in non-blocking mode with `poll(2)`: reading stops at
///   EOF once the command has exited, or a short drain (`drainMs`) after it exits
///   when a background child it left behind still holds the pipe open;
/// - after `timeoutMs` (default 30 s; `RUN_WITH_KEYS_COMMAND_TIMEOUT` = seconds) the
///   whole process group gets SIGKILL and the run fails.
public enum Command {
    /// The default timeout, in milliseconds.
    public static let defaultTimeoutMs = 30_000
    /// How long stdout is still read after the command exited while a background
    /// child keeps the pipe open, in milliseconds.
    public static let drainMs = 100

    /// The timeout from `RUN_WITH_KEYS_COMMAND_TIMEOUT` (seconds, a positive
    /// number; fractions allowed), else the default; in milliseconds.
    /// - Throws: `VaultError(.input)` for a value that is not a positive number of at most 86400.
    public static func timeoutMs(environment: (String) -> String?) throws(VaultError) -> Int {
        guard let text = environment("RUN_WITH_KEYS_COMMAND_TIMEOUT"), !text.isEmpty else { return defaultTimeoutMs }
        guard let s = Double(text), s > 0, s <= 86_400 else {
            throw VaultError(.input, "RUN_WITH_KEYS_COMMAND_TIMEOUT=\(text) is not a number of seconds",
                             hints: ["give a number of seconds between 0 and 86400, for example RUN_WITH_KEYS_COMMAND_TIMEOUT=60"])
        }
        return max(1, Int(s * 1000))
    }


    /// Runs `/bin/sh -c command`; returns its stdout (at most `limit` bytes) once it exited 0.
    /// `what` names it in errors ("the profile's identity_command"); the command's text is never echoed.
    /// - Throws: `VaultError(.io)` when it can't start or times out, `.input` when it fails or prints too much.
    public static func output(of command: String, what: String, timeoutMs: Int, limit: Int = 64 * 1024) throws(VaultError) -> SecretBytes {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw VaultError(.io, "pipe: \(Sys.errnoString())") }
        for f in fds { _ = fcntl(f, F_SETFD, FD_CLOEXEC) }   // the child gets only its dup2'ed stdout
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP))
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
        defer { for a in argv { free(a) } }
        let rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ)
        close(fds[1])
        let fd = fds[0]
        defer { close(fd) }
        guard rc == 0 else { throw VaultError(.io, "\(what): can't start /bin/sh: \(Sys.errnoString(rc))") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        // A command that prompts on our terminal (stdin) needs its group in the foreground, as a shell does.
        let terminal = isatty(0) == 1 && tcgetpgrp(0) == getpgrp()
        if terminal { _ = tcsetpgrp(0, pid) }
        defer {
            if terminal {
                let old = signal(SIGTTOU, SIG_IGN)
                _ = tcsetpgrp(0, getpgrp())
                signal(SIGTTOU, old)
            }
        }

        let deadline = Int(MonotonicClock.nowMs()) + timeoutMs
        var builder = SecretBuilder(capacity: 4096)
        var eof = false, exitedAt: Int? = nil, status: Int32 = 0, tooLarge = false
        while true {
            if exitedAt == nil {
                var st: Int32 = 0
                let r = waitpid(pid, &st, WNOHANG)
                if r == pid || (r < 0 && errno == ECHILD) { status = st; exitedAt = Int(MonotonicClock.nowMs()) }
            }
            let now = Int(MonotonicClock.nowMs())
            if let at = exitedAt, eof || now - at >= drainMs { break }
            if now >= deadline {
                kill(-pid, SIGKILL)
                if exitedAt == nil { var st: Int32 = 0; while waitpid(pid, &st, 0) < 0 && errno == EINTR {} }
                throw VaultError(.io, "\(what) did not finish within \(Self.seconds(timeoutMs)); it was killed",
                                 hints: ["the command must print the identity on stdout and exit; raise the limit with RUN_WITH_KEYS_COMMAND_TIMEOUT=SECONDS"])
            }
            if eof {   // stdout closed, the command still runs: wait for its exit
                usleep(5_000)
                continue
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = exitedAt == nil ? min(50, deadline - now) : min(10, drainMs)
            _ = poll(&p, 1, Int32(max(0, wait)))
            // Read what is there now; EAGAIN means "nothing yet".
            while !eof && !tooLarge {
                var got = 0, failure: Int32 = 0
                builder.appendInPlace(maxCount: 4096) { dst in
                    let n = Glibc.read(fd, dst.baseAddress!, dst.count)
                    if n < 0 { failure = errno; return 0 }
                    if n == 0 { eof = true }
                    got = n
                    return n
                }
                if failure == EAGAIN || failure == EINTR { break }
                if failure != 0 { kill(-pid, SIGKILL); eof = true; break }
                if builder.count > limit { tooLarge = true }
                if got == 0 { break }
            }
            if tooLarge { break }
        }
        if tooLarge {
            kill(-pid, SIGKILL)
            if exitedAt == nil { var st: Int32 = 0; while waitpid(pid, &st, 0) < 0 && errno == EINTR {} }
            throw VaultError(.input, "\(what) printed more than \(limit) bytes", hints: ["the command must print only the identity"])
        }
        let exited = status & 0x7f == 0
        guard exited && (status >> 8) & 0xff == 0 else {
            throw VaultError(.input, "\(what) failed (\(exited ? "exit status \((status >> 8) & 0xff)" : "killed by signal \(status & 0x7f)"))",
                             hints: ["the command must print an AGE-SECRET-KEY-1… identity on stdout"])
        }
        return builder.finish()
    }

    static func seconds(_ ms: Int) -> String { ms % 1000 == 0 ? "\(ms / 1000)s" : "\(Double(ms) / 1000)s" }
}
