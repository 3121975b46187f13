import Common
import Glibc
import CSys
import Age
import Vault
import Launch

/// The bot's stdout and stderr on their way to ours, with every injected value
/// masked: pipes (one redactor per stream, so held-back bytes come out on the
/// stream they came from and a secret is never matched across the two), or a
/// pty carrying both when our stdout is a terminal (colours, line buffering,
/// isatty). With `redact = false` there is no relay: the bot writes to our fds.
///
/// The relay never blocks the event loop: our fds 1 and 2 are written through
/// descriptions of our own in non-blocking mode (`Sink`). When a consumer is
/// slow, what it hasn't taken stays in that stream's staging (at most one read's
/// redacted output, about 64 KiB), we wait for EPOLLOUT and stop reading the bot's
/// stream until the staging is empty: the bot then blocks in its own write
/// (backpressure). Signals and timers are served all the while.
///
/// A consumer that goes away (EPIPE, or EIO on a hung-up terminal) reaches the
/// bot as it would without us: we close our end of that stream (the only read
/// end of the pipe, or the pty master), so the bot's next write fails with
/// EPIPE/SIGPIPE (pipe) or it gets SIGHUP and EIO (pty). We never signal it.
final class OutputRelay {
    enum Stream { case out, err }

    /// epoll tags the supervisor dispatches back to `relay` and `writable`.
    struct Tags { let out, err, outWritable, errWritable: UInt64 }

    /// How long held-back bytes (a possible start of a secret) wait for the rest.
    let flushDelayMs: Int
    /// The same, once at least `longHoldBytes` of a secret have been seen: a bot
    /// that writes a secret in pieces is far likelier than output that happens
    /// to match that much of one, so wait longer before letting it out.
    let longHoldMs: Int
    let longHoldBytes: Int
    /// At exit, how long a consumer may take no byte at all before the rest of
    /// the output is given up (a reader that has stalled for good must not keep
    /// us, and the bot's exit code, forever; one that is merely slow is waited for).
    static let exitStallMs: Int32 = 500
    /// At exit, how long to wait in total for bytes still on their way (the tty
    /// layer, a straggler that holds a write end) once a read finds nothing.
    static let exitSettleMs: Int64 = 50

    /// Read ends here (a pty master for both when `isPTY`); write ends for each bot.
    private(set) var outRead: Int32 = -1, errRead: Int32 = -1
    private var outWrite: Int32 = -1, errWrite: Int32 = -1
    private var ptySlave: Int32 = -1
    private(set) var isPTY = false
    private var redactor: Redactor?
    private var errRedactor: Redactor?
    /// The secrets the redactors are built from by `prepareRedaction`, until then.
    private var unprepared: [PlannedSecret]?
    /// The bot's output before redaction, in guarded memory (64 KiB once
    /// `prepareRedaction` has run).
    private var buffer = SecretBytes(count: 0)
    /// Our stdout and stderr as the relay writes them.
    private var outSink: Sink?, errSink: Sink?
    private var epfd: Int32 = -1
    private var tags = Tags(out: 0, err: 0, outWritable: 0, errWritable: 0)
    /// Reading of a stream stopped: its sink has bytes the consumer hasn't taken.
    private var outPaused = false, errPaused = false

    /// The bot's stdin is the pty too (an interactive terminal; see Terminal.swift).
    var ptyStdin = false
    var active: Bool { redactor != nil || unprepared != nil }

    /// Opens the pipes or the pty; with `redact` false, nothing.
    /// - Throws: `LaunchError.system` when a pipe or the pty can't be made.
    init(redact: Bool, secrets: [PlannedSecret], usePTY: Bool, flushDelayMs: Int, longHoldMs: Int,
         longHoldBytes: Int) throws(LaunchError) {
        self.flushDelayMs = flushDelayMs
        self.longHoldMs = longHoldMs
        self.longHoldBytes = longHoldBytes
        guard redact else { return }
        unprepared = secrets
        outSink = Sink(target: 1)
        if usePTY && isatty(1) == 1 {
            try sys("openpty") { rwk_open_pty(&outRead, &ptySlave) }
            isPTY = true
            _ = rwk_copy_winsize(1, outRead)
        } else {
            errSink = Sink(target: 2)
            try sys("pipe2") { rwk_pipe(&outRead, &outWrite) }
            try sys("pipe2") { rwk_pipe(&errRead, &errWrite) }
            _ = rwk_set_nonblocking(outRead, 1)
            _ = rwk_set_nonblocking(errRead, 1)
        }
    }

    deinit {
        for fd in [outRead, outWrite, errRead, errWrite, ptySlave] where fd >= 0 { close(fd) }
    }

    /// Adds the read ends to the supervisor's epoll (EPOLLIN); the sinks are
    /// added (EPOLLOUT) only while a consumer is behind.
    func register(epfd: Int32, tags: Tags) throws(LaunchError) {
        self.epfd = epfd
        self.tags = tags
        for (fd, tag) in [(outRead, tags.out), (errRead, tags.err)] where fd >= 0 {
            try sys("epoll_ctl") { rwk_epoll_add(epfd, fd, 1 /* EPOLLIN */, tag) }
        }
    }

    /// Builds the redactors (one per stream) from the secrets given to `init`,
    /// and the read buffer. The supervisor calls it once the first bot is
    /// spawned, before it reads any output: the bot's exec then runs alongside
    /// the building of the patterns, and what it writes meanwhile waits in the
    /// pipe or the pty.
    func prepareRedaction() {
        guard let secrets = unprepared.take() else { return }
        buffer = SecretBytes(count: 65536)
        redactor = Self.makeRedactor(secrets)
        if errSink != nil { errRedactor = Self.makeRedactor(secrets) }
    }

    static func makeRedactor(_ secrets: [PlannedSecret]) -> Redactor {
        var patterns = RedactionPatterns()
        for s in secrets { patterns.add(name: s.secret, value: s.value) }
        return Redactor(patterns: patterns)
    }

    /// After a reload: what is held back goes out under the old patterns, then the
    /// new values (and any <VAR>_PREVIOUS) are masked from the first byte on.
    func rebuild(_ secrets: [PlannedSecret]) {
        prepareRedaction()
        guard redactor != nil else { return }
        flush()
        redactor = Self.makeRedactor(secrets)
        if errRedactor != nil { errRedactor = Self.makeRedactor(secrets) }
    }

    /// Points the plan's stdio at our pipes or pty (nothing without redaction).
    func applyStdio(_ plan: LaunchPlan) {
        if ptySlave >= 0 {
            plan.setStdio(stdin: ptyStdin ? ptySlave : nil, stdout: ptySlave, stderr: ptySlave, controllingTerminal: ptySlave)
        } else if outWrite >= 0 {
            plan.setStdio(stdin: nil, stdout: outWrite, stderr: errWrite)
        }
    }

    /// Our terminal's window size, onto the pty (SIGWINCH).
    func followWindowSize() { if isPTY && outRead >= 0 { _ = rwk_copy_winsize(1, outRead) } }

    /// Reads what the bot wrote on one stream, redacts it and passes on what the
    /// consumer takes without blocking; stops at the first bytes it won't take.
    /// Returns how long the flush timer must wait for held-back bytes (0: none held).
    func relay(_ stream: Stream) -> Int64 {
        pull(stream)
        settle(stream)
        return heldMs()
    }

    /// EPOLLOUT (or EPOLLERR) on a sink: the consumer took some. Once it has taken
    /// all, reads on at once: under a steady slow consumer the stream then stays
    /// paused and the sink watched, with no epoll_ctl per chunk.
    /// Returns what `relay` returns.
    func writable(_ stream: Stream) -> Int64 {
        guard let sink = sink(stream) else { return heldMs() }
        sink.pump()
        pull(stream)
        settle(stream)
        return heldMs()
    }

    /// Releases held-back bytes, each stream to its own fd.
    func flush() {
        if let sink = outSink { redactor?.flush { chunk in sink.append(chunk) }; sink.pump(); settle(.out) }
        if let sink = errSink { errRedactor?.flush { chunk in sink.append(chunk) }; sink.pump(); settle(.err) }
    }

    /// The supervisor is about to exit: every byte the bot wrote comes out. No bot
    /// starts again, so our write ends (the pty slave) are closed first: a read
    /// then returns EOF (EIO on the pty) once the last byte is in, with nothing
    /// in flight left behind. Reads until then, or, should something else still
    /// hold a write end, until nothing came for `exitSettleMs` (or 1 MiB more:
    /// a straggler writing on). Writes block here, each wait bounded by
    /// `exitStallMs` without progress; the held-back tails go out last.
    func finish() {
        guard active else { return }
        prepareRedaction()
        for fd in [outWrite, errWrite, ptySlave] where fd >= 0 { close(fd) }
        outWrite = -1; errWrite = -1; ptySlave = -1
        for stream in [Stream.out, .err] {
            guard let sink = sink(stream), let redactor = stream == .err ? errRedactor : redactor else { continue }
            sink.drain(stallMs: Self.exitStallMs, final: true)
            let fd = stream == .err ? errRead : outRead
            var settleUntil: Int64 = 0, budget = 1 << 20
            while fd >= 0 && !sink.broken && budget > 0 {
                let n = readRedacted(fd, redactor, into: sink)
                if n > 0 {
                    budget -= n
                    settleUntil = 0
                    sink.drain(stallMs: Self.exitStallMs, final: true)
                    continue
                }
                if n == 0 || (errno != EAGAIN && errno != EINTR) { break }   // EOF, or EIO: the pty's slave is closed
                let now = MonotonicClock.nowMs()
                if settleUntil == 0 { settleUntil = now + Self.exitSettleMs }
                if now >= settleUntil { break }
                _ = rwk_poll_one(fd, Int32(POLLIN), Int32(settleUntil - now))
            }
            redactor.flush { chunk in sink.append(chunk) }
            sink.drain(stallMs: Self.exitStallMs, final: true)
        }
    }

    // MARK: Internals

    private func sink(_ stream: Stream) -> Sink? { stream == .err ? errSink : outSink }

    /// Reads, redacts and writes while the consumer takes everything and the bot has more.
    private func pull(_ stream: Stream) {
        guard let sink = sink(stream), let redactor = stream == .err ? errRedactor : redactor else { return }
        let fd = stream == .err ? errRead : outRead
        while fd >= 0 && sink.isEmpty && !sink.broken {
            // Nothing unread (the usual case when the bot exits): the guarded
            // buffer stays closed and no read is made. EOF and EIO (a closed pty
            // slave) also show 0 here, which ends this loop as a read would.
            if rwk_pending_bytes(fd) == 0 { break }
            let n = readRedacted(fd, redactor, into: sink)
            if n <= 0 { break }
            sink.pump()
            if n < buffer.count { break }
        }
    }

    private func heldMs() -> Int64 {
        // One flush timer for both streams: armed while either holds bytes back
        // (disarming it because this stream has nothing pending would strand the other's).
        let held = max(redactor?.pendingBytes ?? 0, errRedactor?.pendingBytes ?? 0)
        return held == 0 ? 0 : Int64(held >= longHoldBytes ? longHoldMs : flushDelayMs)
    }

    /// One read of the bot's stream, redacted into the sink; read(2)'s result.
    private func readRedacted(_ fd: Int32, _ redactor: Redactor, into sink: Sink) -> Int {
        // What the bot wrote may be a secret until it is redacted: read it into
        // guarded memory (mlocked, wiped), and collect the redacted output to
        // write only after the redactor's guarded patterns are closed again, so
        // a stalled reader of our stdout can't keep them readable.
        let n = buffer.withUnsafeMutableBytesUnchecked { buf -> Int in
            let n = read(fd, buf.baseAddress!, buf.count)
            if n > 0 {
                redactor.feed(UnsafeRawBufferPointer(rebasing: buf[0..<n])) { chunk in sink.append(chunk) }
                explicit_bzero(buf.baseAddress!, n)
            }
            return n
        }
        if n > 0 {   // the redactor ran: its frames may have left bytes of the output on the stack
            let e = errno
            rwk_scrub_stack(32768)
            errno = e
        }
        return n
    }

    /// After a write attempt: the consumer is gone (close our end of the stream),
    /// behind (wait for EPOLLOUT, stop reading the bot), or has taken everything.
    private func settle(_ stream: Stream) {
        guard let sink = sink(stream) else { return }
        let fd = stream == .err ? errRead : outRead
        if sink.broken {
            if fd >= 0 {
                _ = rwk_epoll_del(epfd, fd)
                close(fd)
                if stream == .err { errRead = -1 } else { outRead = -1 }
            }
            if sink.watched { _ = rwk_epoll_del(epfd, sink.fd); sink.watched = false }
            return
        }
        let behind = !sink.isEmpty
        let paused = stream == .err ? errPaused : outPaused
        guard behind != paused, fd >= 0 else { return }
        let readTag = stream == .err ? tags.err : tags.out
        let writeTag = stream == .err ? tags.errWritable : tags.outWritable
        if behind {
            if rwk_epoll_add(epfd, sink.fd, 4 /* EPOLLOUT */, writeTag) != 0 {
                // Can't wait for it in epoll: wait here, bounded, as at exit.
                sink.drain(stallMs: Self.exitStallMs)
                return
            }
            sink.watched = true
            _ = rwk_epoll_mod(epfd, fd, 0, readTag)
        } else {
            _ = rwk_epoll_del(epfd, sink.fd)
            sink.watched = false
            _ = rwk_epoll_mod(epfd, fd, 1 /* EPOLLIN */, readTag)
        }
        if stream == .err { errPaused = behind } else { outPaused = behind }
    }
}

/// One of our output fds as the relay writes it, with the redacted bytes the
/// consumer hasn't taken yet (no secrets: the redactor masked them; bytes it
/// holds back stay inside the redactor).
final class Sink {
    /// 1 or 2.
    let target: Int32
    /// What we write: a non-blocking description of our own, or the fd itself.
    let fd: Int32
    let mode: Int32
    private var pending: [UInt8] = []
    private var head = 0
    /// The consumer is gone; nothing more is written.
    private(set) var broken = false
    /// Registered for EPOLLOUT.
    var watched = false

    init(target: Int32) {
        self.target = target
        var mode: Int32 = 0
        // Sockets: send(MSG_DONTWAIT). A regular file, or a pipe/tty we can't
        // reopen (no /proc, someone else's tty): plain blocking writes, as before
        // the relay was non-blocking (a regular file never stalls).
        fd = rwk_open_output(target, &mode)
        self.mode = mode
    }

    deinit { if fd != target { close(fd) } }

    var isEmpty: Bool { head == pending.count }

    func append(_ chunk: UnsafeRawBufferPointer) {
        guard !broken else { return }
        if head > 0 && head == pending.count { pending.removeAll(keepingCapacity: true); head = 0 }
        pending.append(contentsOf: chunk)
    }

    /// Writes what the consumer takes without blocking.
    func pump() {
        while head < pending.count && !broken {
            let n = pending.withUnsafeBytes { p in
                rwk_write_output(fd, mode, p.baseAddress! + head, UInt(pending.count - head))
            }
            if n > 0 { head += n; continue }
            let e = errno
            if n < 0 && e == EINTR { continue }
            if n < 0 && (e == EAGAIN || e == EWOULDBLOCK) { break }
            if [EPIPE, EIO, ECONNRESET, ENOTCONN, ESHUTDOWN].contains(e) {
                broken = true
            }
            // Any other error (ENOSPC, EBADF: fd 1 closed) loses these bytes, as a
            // failed write always has, and the relay carries on.
            pending.removeAll(keepingCapacity: false)
            head = 0
        }
        if head == pending.count && head > 0 { pending.removeAll(keepingCapacity: true); head = 0 }
    }

    /// Writes everything, waiting for the consumer; gives the rest up when it
    /// takes nothing for `stallMs`. `final` (at exit): a consumer that stalled
    /// once gets nothing more, so the exit waits for it once, not per read.
    func drain(stallMs: Int32, final: Bool = false) {
        while true {
            pump()
            if isEmpty || broken { return }
            let r = rwk_poll_one(fd, Int32(POLLOUT), stallMs)
            if r < 0 && errno == EINTR { continue }
            if r <= 0 {
                pending.removeAll(keepingCapacity: false)
                head = 0
                if final { broken = true }
                return
            }
        }
    }
}
