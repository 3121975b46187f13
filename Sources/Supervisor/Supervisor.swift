// Supervisor module: runs one bot and keeps it running.
//
// - Supervisor.swift (this file): init, the event loop, dispatch.
// - Lifecycle.swift: the life cycle as a pure state machine;
//   LifecycleActions.swift: what its actions do; Exits.swift: the bot's exit.
// - RestartPolicy.swift: the restart decision, a pure function of exit,
//   history and time (backoff, start limit).
// - ProcessTree.swift: the running bot and its tree (PID-namespace init or
//   /proc walk), signals and SIGKILL to it.
// - OutputRelay.swift + Redactor.swift: the bot's output, masked.
// - Terminal.swift: an interactive terminal and job control.
// - Reload.swift: SIGHUP and vault changes. Bookkeeping.swift: launch log,
//   run file, sd_notify watchdog.
import Common
import Glibc
import CSys
import Logging
import Age
import Vault
import Launch

/// Options that shape one supervised run (beyond the plan's `Supervision`).
public struct SupervisorOptions {
    /// Where supervisor events go; the supervisor adds a `profile` metadata key.
    public var logger: Logger
    /// Re-reads the vault and builds a new plan (SIGHUP / vault change with reload = "restart" or "signal").
    public var reload: (() throws -> LaunchPlan)?
    /// The vault file to watch with inotify when reload = "restart" or "signal".
    public var watchVault: String?
    /// The vault file before the first decrypt, to catch a rotate that lands
    /// before this supervisor has registered in its run file.
    public var vaultStamp: FileStamp?
    /// The launch log for start, exit, spawn-failed, give-up and reload records, kept open while
    /// the supervisor runs; nil: none.
    public var launchLog: LaunchLog?
    /// `<home>/run`: the supervisor writes `<profile>.<pid>.json` there while it runs, for `rotate`.
    public var runDirectory: String?
    /// Give the bot a pty when our stdout is a terminal (colours, line buffering, isatty).
    public var usePTYWhenTerminal = true
    /// How long held-back bytes (a possible start of a secret) wait for the rest (ms).
    public var flushDelayMs = 5
    /// The same once at least `longHoldBytes` of a secret have been seen (ms).
    public var longHoldMs = 1000
    /// How many held-back bytes switch their wait from `flushDelayMs` to `longHoldMs`.
    public var longHoldBytes = 8

    /// The defaults, logging to `logger`: no reload, no vault watch, no launch log, no run file.
    public init(logger: Logger) { self.logger = logger }
}

/// The supervisor: one thread, blocking in epoll on a signalfd, the bot's exit
/// (pidfd, or its namespace init's messages), timerfds and the output pipes.
/// No wake-ups while the bot is quiet.
public final class Supervisor {
    enum Tag: UInt64 {
        case signal = 1, botExit, treeControl, restartTimer, stopTimer, flushTimer, out, err, inotify,
             execGuard, watchdog, reloadTimer, input, inputOut, outWritable, errWritable
    }

    struct Timers {
        let restart, stop, flush, watchdog, reload: Int32
    }

    let options: SupervisorOptions
    var plan: LaunchPlan
    /// The plan the next start uses (a reload's new keys).
    var pendingPlan: LaunchPlan?
    let settings: Supervision
    var logger: Logger
    var life: Lifecycle
    let epfd: Int32
    let signalFD: Int32
    let timers: Timers
    var inotifyFD: Int32 = -1
    let output: OutputRelay
    /// Our terminal: raw mode and keystrokes for the bot's pty, or its foreground; job control.
    let terminal: Terminal
    /// The current bot and its tree; replaced at each start.
    var tree: BotTree?
    /// The persistent init whose namespace the next bot starts in (`TreeInit.persistent`), while it lives.
    var keeper: TreeInit?
    var attempt = 0
    var startedAtMs: Int64 = 0
    var history = RestartHistory()
    let restartConfig: RestartConfig
    var registered = false
    /// The last bot's exit record, until `flushExitRecord` writes it (Bookkeeping.swift).
    var pendingExit: LaunchRecord?
    /// Timerfds known to be disarmed (set to 0 by us, or never armed); see `arm`.
    var disarmed: [Int32] = []   // five timerfds at most: no Set<Int32> (a conformance lookup per launch)

    static let forwarded: [Int32] = [SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGQUIT]
    /// Job control: suspend the tree with us, and resume it (Terminal.swift).
    static let jobControl: [Int32] = [SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT]
    /// Catchable signals whose default action would end us without restoring the terminal.
    static let otherFatal: [Int32] = [SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR]
    static let handled: [Int32] = [SIGINT, SIGTERM, SIGCHLD] + forwarded + jobControl + otherFatal

    /// - Throws: `LaunchError.system` when epoll, the signalfd, a timer or the output relay can't be set up.
    public init(plan: LaunchPlan, options: SupervisorOptions) throws(LaunchError) {
        self.plan = plan
        self.options = options
        settings = plan.supervision
        var logger = options.logger
        logger[metadataKey: "profile"] = .string(settings.profileName)
        self.logger = logger
        life = Lifecycle(stopSignal: settings.stopSignal)
        restartConfig = settings.restart
        epfd = try sys("epoll_create1") { rwk_epoll_create() }
        var mask = sigset_t()
        sigemptyset(&mask)
        for s in Self.handled { sigaddset(&mask, s) }
        sigprocmask(SIG_BLOCK, &mask, nil)
        signal(SIGPIPE, SIG_IGN)
        // Inherited as ignored, SIGCHLD would make the kernel reap our children
        // itself: their pidfds turn readable with no status left to wait for.
        signal(SIGCHLD, SIG_DFL)
        signalFD = try sys("signalfd") { rwk_signalfd(&mask) }
        func timer() throws(LaunchError) -> Int32 { try sys("timerfd_create") { rwk_timerfd() } }
        timers = Timers(restart: try timer(), stop: try timer(), flush: try timer(), watchdog: try timer(), reload: try timer())
        disarmed = [timers.restart, timers.stop, timers.flush, timers.watchdog, timers.reload]
        output = try OutputRelay(redact: settings.redact, secrets: plan.secrets, usePTY: options.usePTYWhenTerminal,
                                 flushDelayMs: options.flushDelayMs, longHoldMs: options.longHoldMs,
                                 longHoldBytes: options.longHoldBytes)
        terminal = Terminal(redact: settings.redact, output: output)
        for (fd, tag) in [(signalFD, Tag.signal), (timers.restart, .restartTimer), (timers.stop, .stopTimer),
                          (timers.flush, .flushTimer), (timers.watchdog, .watchdog), (timers.reload, .reloadTimer)] {
            try add(fd, tag)
        }
        try terminal.register(epfd: epfd, input: Tag.input.rawValue, inputOut: Tag.inputOut.rawValue)
        try output.register(epfd: epfd, tags: .init(out: Tag.out.rawValue, err: Tag.err.rawValue,
                                                     outWritable: Tag.outWritable.rawValue,
                                                     errWritable: Tag.errWritable.rawValue))
        // Two records per restart: the log stays open between them (each is still locked and checked).
        options.launchLog?.keepOpen = true
        _ = rwk_set_child_subreaper()
        _ = rwk_set_dumpable(0)
        if settings.reload != .none, let vault = options.watchVault { try watch(vault) }
    }

    deinit {
        for fd in [epfd, signalFD, timers.restart, timers.stop, timers.flush, timers.watchdog, timers.reload, inotifyFD]
        where fd >= 0 { close(fd) }
    }

    func add(_ fd: Int32, _ tag: Tag, events: UInt32 = 1 /* EPOLLIN */) throws(LaunchError) {
        try sys("epoll_ctl") { rwk_epoll_add(epfd, fd, events, tag.rawValue) }
    }

    /// Arms a timerfd (`ms` 0: disarms it). A timer that is disarmed already is
    /// left alone: a restart disarms four of them, most of which never ran.
    func arm(_ fd: Int32, ms: Int64, intervalMs: Int64 = 0) {
        let off = ms <= 0 && intervalMs <= 0
        if off && disarmed.contains(fd) { return }
        _ = rwk_timerfd_arm(fd, max(0, ms), max(0, intervalMs))
        if off { if !disarmed.contains(fd) { disarmed.append(fd) } } else { disarmed.removeAll { $0 == fd } }
    }

    /// Reads a timerfd's expiration count. 0 means the event is stale: epoll
    /// reported the timer, but an earlier handler in the same batch re-armed or
    /// disarmed it (timerfd_settime resets the count). Acting on a stale event
    /// would flush a held-back secret prefix early, start a second bot, or
    /// SIGKILL a freshly started one.
    @discardableResult
    func drain(_ fd: Int32) -> UInt64 {
        var v: UInt64 = 0
        return read(fd, &v, 8) == 8 ? v : 0
    }

    /// "10m", "1h", "90s", "250ms": the largest unit that divides `ms`.
    static func duration(_ ms: Int64) -> String {
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where ms >= size && ms % size == 0 {
            return "\(ms / size)\(unit)"
        }
        return "\(ms)ms"
    }

    // MARK: The loop

    /// Runs until the bot is done for good; returns the exit code.
    public func run() -> Int32 {
        terminal.enter()
        start(reason: .first)
        // Launched: every secret back behind PROT_NONE before the first wait.
        GuardedMemory.closeLaunchWindow()
        // Start-up's code is not needed while the bot runs (see CodePages), but a
        // bot that exits or fails at once would fault the exit path back in: trim
        // once the supervisor has run for `CodePages.settle` ms.
        var trimAt: Int64? = MonotonicClock.nowMs() + CodePages.settle
        var tags = [UInt64](repeating: 0, count: 32), events = [UInt32](repeating: 0, count: 32)
        while life.state != .done {
            if let at = trimAt, MonotonicClock.nowMs() >= at {
                CodePages.trim()
                trimAt = nil
            }
            let timeout = trimAt.map { Int32(clamping: max(0, $0 - MonotonicClock.nowMs())) } ?? -1
            let n = rwk_epoll_wait(epfd, &tags, &events, 32, timeout)
            if n < 0 { if errno == EINTR { continue }; logger.error("epoll_wait failed: \(Sys.errnoString())"); break }
            for i in 0..<Int(n) {
                guard let tag = Tag(rawValue: tags[i]) else { continue }
                dispatch(tag)
                if !awaitingTreeVerdict { flushExitRecord() }
                if life.state == .done { break }
            }
        }
        finish()
        return life.exitCode
    }

    func dispatch(_ tag: Tag) {
        switch tag {
        case .signal: handleSignals()
        case .botExit: reap()
        case .treeControl: readTreeMessages(); reap()
        case .restartTimer: if drain(timers.restart) > 0 { feed(.restartTimerFired) }
        case .stopTimer: if drain(timers.stop) > 0 { feed(.stopTimerFired) }
        case .flushTimer: if drain(timers.flush) > 0 { output.flush() }
        case .out: arm(timers.flush, ms: output.relay(.out))
        case .err: arm(timers.flush, ms: output.relay(.err))
        case .outWritable: arm(timers.flush, ms: output.writable(.out))
        case .errWritable: arm(timers.flush, ms: output.writable(.err))
        case .inotify: vaultChanged()
        case .execGuard:
            if let g = tree?.execGuard {
                do { _ = try g.handleOne() } catch { logger.warning("exec guard: \(error)") }
            }
        case .watchdog: if drain(timers.watchdog) > 0 { _ = rwk_sd_notify("WATCHDOG=1") }
        case .reloadTimer: if drain(timers.reload) > 0 { reload(reason: "the vault changed") }
        case .input: handleInput()
        case .inputOut: terminal.writePending()
        }
    }

    func handleSignals() {
        while true {
            let sig = rwk_signalfd_read(signalFD)
            if sig <= 0 { break }
            switch sig {
            case SIGCHLD: reap()
            case SIGTERM, SIGINT: requestStop(signal: sig)   // SIGINT reaches the bot as SIGINT (Ctrl-C)
            case SIGHUP where settings.reload != .none: scheduleReload(reason: "SIGHUP")
            case SIGWINCH where output.isPTY: output.followWindowSize()
            case SIGTSTP, SIGTTIN, SIGTTOU: suspend(sig)
            case SIGCONT: resume()
            default: tree?.forward(sig)
            }
        }
    }

    func requestStop(signal sig: Int32) {
        guard life.state != .stopping else { return }
        logger.info("stopping on \(sig == SIGINT ? "SIGINT" : "SIGTERM")", metadata: ["event": "stop", "pid": "\(tree?.pid ?? 0)"])
        feed(.stopRequested(signal: sig, botAlive: tree?.botAlive ?? false, treeEmpty: treeIsEmpty() ?? false))
    }

    func finish() {
        flushExitRecord()
        output.finish()
        terminal.restore()
        removeRunFile()
        // Wait for any stragglers (exec'd away from the tree cleanup races).
        while true {
            var status: Int32 = 0
            if waitpid(-1, &status, WNOHANG) <= 0 { break }
        }
    }
}
