import Glibc
import CLaunch
import Age
import Vault
import Launch

/// The bot's stdout and stderr on their way to ours, with every injected value
/// masked: pipes (one redactor per stream, so held-back bytes come out on the
/// stream they came from and a secret is never matched across the two), or a
/// pty carrying both when our stdout is a terminal (colours, line buffering,
/// isatty). With `redact = false` there is no relay: the bot writes to our fds.
final class OutputRelay {
    enum Stream { case out, err }

    /// How long held-back bytes (a possible start of a secret) wait for the rest.
    let flushDelayMs: Int
    /// The same, once at least `longHoldBytes` of a secret have been seen: a bot
    /// that writes a secret in pieces is far likelier than output that happens
    /// to match that much of one, so wait longer before letting it out.
    let longHoldMs: Int
    let longHoldBytes: Int

    /// Read ends here (a pty master for both when `isPTY`); write ends for each bot.
    private(set) var outRead: Int32 = -1, errRead: Int32 = -1
    private var outWrite: Int32 = -1, errWrite: Int32 = -1
    private var ptySlave: Int32 = -1
    private var redactor: Redactor?
    private var errRedactor: Redactor?
    /// The bot's output before redaction, in guarded memory.
    private let buffer: SecretBytes
    /// Redacted output waiting to be written.
    private var staging: [UInt8] = []

    var isPTY: Bool { ptySlave >= 0 }
    /// The bot's stdin is the pty too (an interactive terminal; see Terminal.swift).
    var ptyStdin = false
    var active: Bool { redactor != nil }

    /// Opens the pipes or the pty; with `redact` false, nothing.
    /// - Throws: `LaunchError.system` when a pipe or the pty can't be made.
    init(redact: Bool, secrets: [PlannedSecret], usePTY: Bool, flushDelayMs: Int, longHoldMs: Int,
         longHoldBytes: Int) throws(LaunchError) {
        self.flushDelayMs = flushDelayMs
        self.longHoldMs = longHoldMs
        self.longHoldBytes = longHoldBytes
        buffer = SecretBytes(count: redact ? 65536 : 0)
        guard redact else { return }
        redactor = Self.makeRedactor(secrets)
        if usePTY && isatty(1) == 1 {
            try sys("openpty") { rwk_open_pty(&outRead, &ptySlave) }
            _ = rwk_copy_winsize(1, outRead)
        } else {
            errRedactor = Self.makeRedactor(secrets)
            try sys("pipe2") { rwk_pipe(&outRead, &outWrite) }
            try sys("pipe2") { rwk_pipe(&errRead, &errWrite) }
            _ = rwk_set_nonblocking(outRead, 1)
            _ = rwk_set_nonblocking(errRead, 1)
        }
    }

    deinit {
        for fd in [outRead, outWrite, errRead, errWrite, ptySlave] where fd >= 0 { close(fd) }
    }

    static func makeRedactor(_ secrets: [PlannedSecret]) -> Redactor {
        var patterns = RedactionPatterns()
        for s in secrets { patterns.add(name: s.secret, value: s.value) }
        return Redactor(patterns: patterns)
    }

    /// After a reload: what is held back goes out under the old patterns, then the
    /// new values (and any <VAR>_PREVIOUS) are masked from the first byte on.
    func rebuild(_ secrets: [PlannedSecret]) {
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
    func followWindowSize() { if isPTY { _ = rwk_copy_winsize(1, outRead) } }

    /// Reads what the bot wrote on one stream, redacts it and passes it on.
    /// Returns how long the flush timer must wait for held-back bytes (0: none held).
    func relay(_ stream: Stream) -> Int64 {
        let fd = stream == .err ? errRead : outRead
        let target = Self.target(stream)
        if let redactor = stream == .err ? errRedactor : redactor {
            while true {
                // What the bot wrote may be a secret until it is redacted: read it into
                // guarded memory (mlocked, wiped), and collect the redacted output to
                // write only after the redactor's guarded patterns are closed again, so
                // a stalled reader of our stdout can't keep them readable.
                staging.removeAll(keepingCapacity: true)
                let n = buffer.withUnsafeMutableBytesUnchecked { buf -> Int in
                    let n = read(fd, buf.baseAddress!, buf.count)
                    if n > 0 {
                        redactor.feed(UnsafeRawBufferPointer(rebasing: buf[0..<n])) { chunk in staging.append(contentsOf: chunk) }
                        explicit_bzero(buf.baseAddress!, n)
                    }
                    return n
                }
                rwk_scrub_stack(32768)
                if n <= 0 { break }
                staging.withUnsafeBytes { _ = Sys.writeAll(target, $0) }
                if n < buffer.count { break }
            }
        }
        // One flush timer for both streams: armed while either holds bytes back
        // (disarming it because this stream has nothing pending would strand the other's).
        let held = max(redactor?.pendingBytes ?? 0, errRedactor?.pendingBytes ?? 0)
        return held == 0 ? 0 : Int64(held >= longHoldBytes ? longHoldMs : flushDelayMs)
    }

    /// Releases held-back bytes, each stream to its own fd.
    func flush() {
        redactor?.flush { chunk in _ = Sys.writeAll(Self.target(.out), chunk) }
        errRedactor?.flush { chunk in _ = Sys.writeAll(Self.target(.err), chunk) }
    }

    /// Which of our fds a stream goes to; the pty carries both, to stdout.
    static func target(_ stream: Stream) -> Int32 { stream == .err ? 2 : 1 }
}
