import Common
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs one short helper program (getent) and collects its standard output.
enum GetentRun {
    /// The output is small (one record); more than this is an error.
    static let outputLimit = 1 << 20

    /// Starts `path` with `arguments` and an empty environment, stdin and
    /// stderr on /dev/null, default signal dispositions and an empty signal
    /// mask; reads its stdout until EOF and waits for it to exit, killing it
    /// (SIGKILL) when both take more than `timeoutMs` milliseconds in all.
    /// - Returns: the exit status (128 + signal when killed) and the output.
    /// - Throws: `AccountsError` when it can't be started, or `ETIMEDOUT` when it didn't finish in time.
    static func run(path: String, arguments: [String], timeoutMs: Int32, call: String) throws(AccountsError) -> (status: Int32, output: [UInt8]) {
        var pipeFds: [Int32] = [-1, -1]
        guard pipe(&pipeFds) == 0 else { throw AccountsError(call: "pipe for \(call)", errno: errno) }
        for fd in pipeFds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // pipe2 is not visible from Swift
        var readEnd = pipeFds[0]
        defer { if readEnd >= 0 { close(readEnd) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let envp: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
        close(pipeFds[1])
        guard rc == 0 else { throw AccountsError(call: call, errno: rc) }

        var output: [UInt8] = []
        var timedOut = false, tooBig = false
        var buf = [UInt8](repeating: 0, count: 4096)
        let deadline = MonotonicClock.nowMs() + Int64(timeoutMs)
        while true {
            let left = deadline - MonotonicClock.nowMs()
            if left <= 0 { timedOut = true; break }
            var pfd = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(left))
            if ready < 0 { if errno == EINTR { continue }; break }
            if ready == 0 { timedOut = true; break }
            let n = buf.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue }; break }
            if n == 0 { break }
            output += buf[..<n]
            if output.count > outputLimit { tooBig = true; break }
        }
        close(readEnd)
        readEnd = -1
        // Its stdout closed (or a read failed): it has the rest of the deadline to exit.
        var status: Int32 = 0
        // At least 100 ms: an answer read just before the deadline is not lost to the exit's teardown.
        if !timedOut && !tooBig { timedOut = !reap(pid, &status, deadlineMs: max(deadline, MonotonicClock.nowMs() + 100)) }
        if timedOut || tooBig {
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        if timedOut { throw AccountsError(call: "\(call) (no answer within \(timeoutMs / 1000) s)", errno: ETIMEDOUT) }
        if tooBig { throw AccountsError(call: "\(call) (over \(outputLimit) bytes of output)", errno: EFBIG) }
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output)
    }

    /// Waits for `pid` to exit until `deadlineMs` (`MonotonicClock.nowMs()`), polling
    /// with `WNOHANG` every 1 ms at most; true and its `status` once reaped, false at the deadline.
    static func reap(_ pid: pid_t, _ status: inout Int32, deadlineMs: Int64) -> Bool {
        var pause = timespec(tv_sec: 0, tv_nsec: 50_000)
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid || (r < 0 && errno != EINTR) { return true }
            if MonotonicClock.nowMs() >= deadlineMs { return false }
            if r == 0 {
                nanosleep(&pause, nil)
                pause.tv_nsec = min(pause.tv_nsec * 2, 1_000_000)
            }
        }
    }
}
