import Glibc
import CLaunch
import Logging
import Age
import Vault
import Profile
import Launch

/// Options that shape one supervised run.
public struct SupervisorOptions {
    public var logger: Logger
    /// Re-reads the vault and builds a new plan (SIGHUP / vault change with reload = "restart").
    public var reload: (() throws -> LaunchPlan)?
    /// The vault file to watch with inotify when reload = "restart".
    public var watchVault: String?
    public var launchLog: LaunchLog?
    /// `<home>/run`: the supervisor writes `<profile>.json` there while it runs, for `rotate`.
    public var runDirectory: String?
    /// Give the bot a pty when our stdout is a terminal (colours, line buffering, isatty).
    public var usePTYWhenTerminal = true
    /// How long held-back bytes (a possible start of a secret) wait for the rest.
    public var flushDelayMs = 5
    /// The same, once at least `longHoldBytes` of a secret have been seen: a bot
    /// that writes a secret in pieces is far likelier than output that happens
    /// to match that much of one, so wait longer before letting it out.
    public var longHoldMs = 1000
    public var longHoldBytes = 8

    public init(logger: Logger) { self.logger = logger }
}

/// The supervisor: one thread, blocking in epoll on a signalfd, the bot's
/// pidfd, timerfds and the output pipes. No wake-ups while the bot is quiet.
public final class Supervisor {
    enum Tag: UInt64 { case signal = 1, pidfd, restartTimer, stopTimer, flushTimer, out, err, inotify, execGuard, watchdog, reloadTimer
        case treeControl }

    let options: SupervisorOptions
    var plan: LaunchPlan
    var pendingPlan: LaunchPlan?
    var logger: Logger
    let epfd: Int32
    let signalFD: Int32
    let restartTimer: Int32, stopTimer: Int32, flushTimer: Int32, watchdogTimer: Int32, reloadTimer: Int32
    var inotifyFD: Int32 = -1
    /// One redactor per stream: held-back bytes must come out on the stream they
    /// came from, and a secret must not be matched across stdout and stderr.
    /// `redactor` serves stdout (and the pty, which carries both), `errRedactor` stderr.
    var redactor: Redactor?
    var errRedactor: Redactor?
    /// Pipes (read end here, write end given to each bot) or a pty master.
    var outRead: Int32 = -1, outWrite: Int32 = -1, errRead: Int32 = -1, errWrite: Int32 = -1
    var ptySlave: Int32 = -1
    /// The bot's output before redaction, in guarded memory.
    let outBuffer: SecretBytes
    /// Redacted output waiting to be written.
    var staging: [UInt8] = []

    // The running bot.
    var pid: pid_t = 0
    var pidfd: Int32 = -1
    var execGuard: ExecGuard?
    /// PID 1 of the bot's PID namespace (our child; the bot is its child), when the tree is contained.
    var treeInit: TreeInit?
    var startedAtMs: Int64 = 0
    var attempt = 0
    var history = RestartHistory()
    var lastExit: ExitReason?
    var stopping = false
    var restarting = false   // stopping the bot for a reload
    var exitCode: Int32 = 0
    var done = false
    let restartConfig: RestartConfig
    static let forwarded: [Int32] = [SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGQUIT]
    static let handled: [Int32] = [SIGINT, SIGTERM, SIGCHLD] + forwarded

    public init(plan: LaunchPlan, options: SupervisorOptions) throws(LaunchError) {
        self.plan = plan
        self.options = options
        var logger = options.logger
        logger[metadataKey: "profile"] = .string(plan.profile.name)
        self.logger = logger
        let r = plan.profile.restart
        restartConfig = RestartConfig(
            policy: r.policy == .no ? .no : (r.policy == .always ? .always : .onFailure),
            delayMs: r.delay.milliseconds, maxDelayMs: r.maxDelay.milliseconds,
            stableAfterMs: (r.stableAfter ?? r.maxDelay).milliseconds, burst: r.burst,
            intervalMs: r.interval.milliseconds, successExitCodes: Set(r.successExitCodes))
        epfd = try sys("epoll_create1") { rwk_epoll_create() }
        var mask = sigset_t()
        sigemptyset(&mask)
        for s in Self.handled { sigaddset(&mask, s) }
        sigprocmask(SIG_BLOCK, &mask, nil)
        signal(SIGPIPE, SIG_IGN)
        signalFD = try sys("signalfd") { rwk_signalfd(&mask) }
        func timer() throws(LaunchError) -> Int32 { try sys("timerfd_create") { rwk_timerfd() } }
        restartTimer = try timer(); stopTimer = try timer(); flushTimer = try timer()
        watchdogTimer = try timer(); reloadTimer = try timer()
        outBuffer = SecretBytes(count: 65536)
        for (fd, tag) in [(signalFD, Tag.signal), (restartTimer, .restartTimer), (stopTimer, .stopTimer),
                          (flushTimer, .flushTimer), (watchdogTimer, .watchdog), (reloadTimer, .reloadTimer)] {
            try add(fd, tag)
        }
        _ = rwk_set_child_subreaper()
        _ = rwk_set_dumpable(0)
        try setUpOutput()
        if plan.profile.restart.reload == .restart, let vault = options.watchVault { try watch(vault) }
    }

    deinit {
        for fd in [epfd, signalFD, restartTimer, stopTimer, flushTimer, watchdogTimer, reloadTimer, inotifyFD,
                   outRead, outWrite, errRead, errWrite, ptySlave, pidfd] where fd >= 0 { close(fd) }
        if let t = treeInit { close(t.pidfd); close(t.control) }
    }

    func add(_ fd: Int32, _ tag: Tag, events: UInt32 = 1 /* EPOLLIN */) throws(LaunchError) {
        try sys("epoll_ctl") { rwk_epoll_add(epfd, fd, events, tag.rawValue) }
    }

    // MARK: Output

    /// A redactor for the current plan's values (a reload brings new ones).
    func makeRedactor() -> Redactor {
        var patterns = RedactionPatterns()
        for s in plan.secrets { patterns.add(name: s.secret, value: s.value) }
        return Redactor(patterns: patterns)
    }

    /// After a reload: what is held back goes out under the old patterns, then the
    /// new values (and any <VAR>_PREVIOUS) are masked from the first byte on.
    func rebuildRedactors() {
        guard redactor != nil else { return }
        flushRedactors()
        redactor = makeRedactor()
        if errRedactor != nil { errRedactor = makeRedactor() }
    }

    func setUpOutput() throws(LaunchError) {
        guard plan.profile.output.redact else { return }   // the bot writes to our fds directly
        redactor = makeRedactor()
        if options.usePTYWhenTerminal && isatty(1) == 1 {
            var master: Int32 = -1, slave: Int32 = -1
            try sys("openpty") { rwk_open_pty(&master, &slave) }
            _ = rwk_copy_winsize(1, master)
            outRead = master
            ptySlave = slave
            try add(master, .out)
        } else {
            errRedactor = makeRedactor()
            try sys("pipe2") { rwk_pipe(&outRead, &outWrite) }
            try sys("pipe2") { rwk_pipe(&errRead, &errWrite) }
            _ = rwk_set_nonblocking(outRead, 1)
            _ = rwk_set_nonblocking(errRead, 1)
            try add(outRead, .out)
            try add(errRead, .err)
        }
    }

    func applyStdio(_ plan: LaunchPlan) {
        if ptySlave >= 0 {
            plan.setStdio(stdin: nil, stdout: ptySlave, stderr: ptySlave, controllingTerminal: ptySlave)
        } else if outWrite >= 0 {
            plan.setStdio(stdin: nil, stdout: outWrite, stderr: errWrite)
        }
    }

    /// Reads what the bot wrote on one stream, redacts it and passes it on.
    func relay(_ tag: Tag) {
        let (fd, target) = (tag == .err ? errRead : outRead, self.target(for: tag))
        guard let redactor = tag == .err ? errRedactor : redactor else { return }
        while true {
            // What the bot wrote may be a secret until it is redacted: read it into
            // guarded memory (mlocked, wiped), and collect the redacted output to
            // write only after the redactor's guarded patterns are closed again, so
            // a stalled reader of our stdout can't keep them readable.
            staging.removeAll(keepingCapacity: true)
            let n = outBuffer.withUnsafeMutableBytesUnchecked { buf -> Int in
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
            if n < outBuffer.count { break }
        }
        // One flush timer for both streams: armed while either holds bytes back
        // (disarming it because this stream has nothing pending would strand the other's).
        let held = max(self.redactor?.pendingBytes ?? 0, errRedactor?.pendingBytes ?? 0)
        arm(flushTimer, ms: held == 0 ? 0 : Int64(held >= options.longHoldBytes ? options.longHoldMs : options.flushDelayMs))
    }

    /// Releases held-back bytes, each stream to its own fd.
    func flushRedactors() {
        redactor?.flush { chunk in _ = Sys.writeAll(target(for: .out), chunk) }
        errRedactor?.flush { chunk in _ = Sys.writeAll(target(for: .err), chunk) }
    }

    /// Which of our fds a stream goes to; the pty carries both, to stdout.
    func target(for tag: Tag) -> Int32 { tag == .err ? 2 : 1 }

    // MARK: Timers

    func arm(_ fd: Int32, ms: Int64, intervalMs: Int64 = 0) { _ = rwk_timerfd_arm(fd, max(0, ms), max(0, intervalMs)) }

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

    static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    // MARK: Life cycle

    /// Runs until the bot is done for good; returns the exit code.
    public func run() -> Int32 {
        start()
        var tags = [UInt64](repeating: 0, count: 32), events = [UInt32](repeating: 0, count: 32)
        while !done {
            let n = rwk_epoll_wait(epfd, &tags, &events, 32, -1)
            if n < 0 { if errno == EINTR { continue }; logger.error("epoll_wait failed: \(Sys.errnoString())"); break }
            for i in 0..<Int(n) {
                guard let tag = Tag(rawValue: tags[i]) else { continue }
                handle(tag)
                if done { break }
            }
        }
        finish()
        return exitCode
    }

    func start() {
        if let p = pendingPlan.take() {
            plan = p
            rebuildRedactors()
        }
        applyStdio(plan)
        attempt += 1
        let now = Self.nowMs()
        history.recordStart(atMs: now)
        do {
            let child = try plan.spawn()
            pid = child.pid
            pidfd = child.pidfd
            execGuard = child.execGuard
            treeInit = child.treeInit
            startedAtMs = now
            if let t = treeInit {
                // The bot is the init's child: its exit comes as a message, the init's as its pidfd.
                try add(t.pidfd, .pidfd)
                try add(t.control, .treeControl)
            } else {
                try add(pidfd, .pidfd)
            }
            if let g = execGuard { try add(g.fd, .execGuard) }
            logger.info("started", metadata: ["event": "start", "pid": "\(pid)", "attempt": "\(attempt)"])
            record(.start)
            if attempt == 1 { _ = rwk_sd_notify("READY=1\nMAINPID=\(getpid())") }
            startWatchdog()
            writeRunFile()
        } catch {
            logger.error("\(error)", metadata: ["event": "spawn-failed", "attempt": "\(attempt)"])
            exitCode = error.exitCode
            lastExit = .exited(error.exitCode)
            if attempt == 1 || stopping { done = true; return }
            decide(.exited(error.exitCode))
        }
    }

    func handle(_ tag: Tag) {
        switch tag {
        case .signal: handleSignals()
        case .pidfd: reap()
        case .treeControl: readTreeMessages(); reap()
        case .restartTimer: if drain(restartTimer) > 0 && !stopping { start() }
        case .stopTimer: if drain(stopTimer) > 0 { killTree() }
        case .flushTimer: if drain(flushTimer) > 0 { flushRedactors() }
        case .out: relay(.out)
        case .err: relay(.err)
        case .inotify: vaultChanged()
        case .execGuard:
            if let g = execGuard {
                do { _ = try g.handleOne() } catch { logger.warning("exec guard: \(error)") }
            }
        case .watchdog: if drain(watchdogTimer) > 0 { _ = rwk_sd_notify("WATCHDOG=1") }
        case .reloadTimer: if drain(reloadTimer) > 0 { reload(reason: "the vault changed") }
        }
    }

    func handleSignals() {
        while true {
            let sig = rwk_signalfd_read(signalFD)
            if sig <= 0 { break }
            switch sig {
            case SIGCHLD: reap()
            case SIGTERM, SIGINT: requestStop(signal: sig)   // SIGINT reaches the bot as SIGINT (Ctrl-C)
            case SIGHUP where plan.profile.restart.reload == .restart: reload(reason: "SIGHUP")
            case SIGWINCH where ptySlave >= 0: _ = rwk_copy_winsize(1, outRead)
            default:
                if pidfd >= 0 { _ = rwk_pidfd_send_signal(pidfd, sig) }
            }
        }
    }

    func requestStop(signal sig: Int32) {
        guard !stopping else { return }
        stopping = true
        logger.info("stopping on \(Signals.name(of: sig))", metadata: ["event": "stop", "pid": "\(pid)"])
        _ = rwk_sd_notify("STOPPING=1")
        arm(restartTimer, ms: 0)
        if treeSignalled { return }   // a reload or leftover stop is under way; its SIGKILL deadline stands
        // Ctrl-C (SIGINT) is passed on as itself, so the bot's own interrupt handling runs;
        // SIGTERM (a service manager or container runtime stopping us) becomes stop_signal.
        stopSignalOverride = sig == SIGINT ? SIGINT : nil
        if pidfd >= 0 { stopBot() } else if !hasChildren() { done = true; exitCode = lastExit?.exitCode ?? 0 } else { stopBot() }
    }

    /// stop_signal sent to the current tree (reset when the tree is gone).
    var treeSignalled = false
    /// The signal a stop sends instead of stop_signal (SIGINT for Ctrl-C).
    var stopSignalOverride: Int32?

    /// stop_signal to the bot's process group and to every other descendant,
    /// SIGKILL to every descendant after stop_timeout. Each process gets the
    /// signal once: many programs take a second SIGTERM or SIGINT as "force
    /// quit now" and would skip their clean shutdown.
    func stopBot() {
        treeSignalled = true
        let sig = stopSignalOverride ?? plan.profile.restart.stopSignal
        if let t = treeInit {
            // Inside the namespace the init signals every process once with kill(-1):
            // the bot's group and everything else, setsid'd or not.
            _ = rwk_tree_send(t.control, Int32(RWK_TREE_MSG_SIGNAL), sig)
            arm(stopTimer, ms: max(1, plan.profile.restart.stopTimeout.milliseconds))
            return
        }
        var group: pid_t = 0   // the bot is a session leader, so its pgid is its pid and can't change
        if pid > 0 {
            if kill(-pid, sig) == 0 { group = pid } else if pidfd >= 0 { _ = rwk_pidfd_send_signal(pidfd, sig) }
        }
        for p in descendants() where group == 0 || getpgid(p) != group { kill(p, sig) }
        arm(stopTimer, ms: max(1, plan.profile.restart.stopTimeout.milliseconds))
    }

    func killTree() {
        let rest = descendants().filter { $0 != treeInit?.pid }
        if !rest.isEmpty {
            logger.warning("killing \(rest.count) process\(rest.count == 1 ? "" : "es") after stop_timeout",
                           metadata: ["event": "kill", "pid": "\(pid)"])
        }
        // The init's death takes its whole namespace with it (pid_namespaces(7)).
        if let t = treeInit { _ = rwk_pidfd_send_signal(t.pidfd, SIGKILL) }
        for p in rest { kill(p, SIGKILL) }
        // A process forked between the /proc walk and the kills would survive it:
        // look again shortly, for as long as anything is left.
        if hasChildren() { arm(stopTimer, ms: 100) }
    }

    /// Reaps every child; notices the bot's exit. Once the bot is gone, waits for
    /// whatever it left behind (stopping the leftovers) before moving on.
    func reap() {
        while true {
            var status: Int32 = 0
            let p = waitpid(-1, &status, WNOHANG | Self.waitAll)
            if p <= 0 { break }
            if p == pid && treeInit == nil { botExited(ExitStatus(waitStatus: status)) }
            if let t = treeInit, p == t.pid { treeInitExited() }
        }
        guard pid == 0 && (stopping || restarting || draining) else { return }
        if !hasChildren() {
            afterTreeGone()
        } else if draining && !treeSignalled {
            // The bot exited on its own and left processes behind: they go before anything else happens.
            stopBot()
        }
    }

    /// The init's messages: the bot's wait status once it has reaped the bot.
    func readTreeMessages() {
        guard let t = treeInit else { return }
        var m = rwk_tree_msg()
        while true {
            let got = rwk_tree_recv(t.control, &m)
            if got == 1 {
                if m.type == Int32(RWK_TREE_MSG_EXIT) && pid != 0 { botExited(ExitStatus(waitStatus: m.value)) }
                continue
            }
            // EOF: the init is gone (its pidfd tells reap); stop watching the socket.
            if got < 0 { _ = rwk_epoll_del(epfd, t.control) }
            return
        }
    }

    /// The init was reaped: its namespace is empty now. A bot status it sent
    /// before exiting is still in the socket; without one, the init was killed
    /// first, and the kernel SIGKILLed the bot with it.
    func treeInitExited() {
        readTreeMessages()
        guard let t = treeInit else { return }
        if pid != 0 { botExited(.signaled(SIGKILL)) }
        _ = rwk_epoll_del(epfd, t.pidfd)
        _ = rwk_epoll_del(epfd, t.control)
        close(t.pidfd)
        close(t.control)
        treeInit = nil
    }

    /// The bot is gone; its leftovers (if any) are being waited for.
    var draining = false
    /// __WALL: also children whose exit signal isn't SIGCHLD (clone(2) without it).
    static let waitAll: Int32 = 0x4000_0000

    /// Whether any child is left, running or not yet reaped. Every live
    /// descendant has a chain of live ancestors up to one of our children
    /// (orphans are re-parented to us, the subreaper), so no children means no
    /// descendants. Unlike a /proc walk, this is exact whichever pid namespace
    /// /proc belongs to, and cheap enough for every exit.
    func hasChildren() -> Bool {
        var info = siginfo_t()
        return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | Self.waitAll) == 0
    }

    func botExited(_ status: ExitStatus) {
        let ran = Self.nowMs() - startedAtMs
        if treeInit == nil { _ = rwk_epoll_del(epfd, pidfd) }
        close(pidfd); pidfd = -1
        if let g = execGuard { _ = rwk_epoll_del(epfd, g.fd) }
        execGuard = nil
        let reason: ExitReason
        switch status {
        case .exited(let c): reason = .exited(c)
        case .signaled(let s): reason = .signaled(s)
        }
        lastExit = reason
        exitCode = reason.exitCode
        logger.info("bot \(status)", metadata: ["event": "exit", "pid": "\(pid)", "attempt": "\(attempt)",
                                                   "status": "\(status)", "ran_ms": "\(ran)"])
        if case .signaled(SIGSYS) = status {
            logger.error("""
                the bot was killed by seccomp (SIGSYS): it made a syscall the [sandbox] policy denies; \
                to find it, run with action = "errno" (the call then fails with EPERM) or under strace -f; \
                to permit it, add it to [sandbox] allow
                """,
                         metadata: ["event": "seccomp-kill", "pid": "\(pid)"])
        }
        record(.exit, status: status)
        arm(watchdogTimer, ms: 0)
        pid = 0
        // reap() goes on: it reaps what else has exited, then stops any leftovers
        // or, once the tree is gone, moves on (afterTreeGone).
        draining = true
    }

    func afterTreeGone() {
        draining = false
        treeSignalled = false
        arm(stopTimer, ms: 0)
        if restarting {
            restarting = false
            // A SIGTERM that came in during the reload wins: no new bot.
            if !stopping {
                logger.info("restarting with the reloaded keys", metadata: ["event": "reload"])
                start()
                return
            }
        }
        guard let reason = lastExit else { done = true; return }
        decide(reason)
    }

    func decide(_ reason: ExitReason) {
        let decision = decideRestart(config: restartConfig, exit: reason, startedAtMs: startedAtMs, nowMs: Self.nowMs(),
                                     history: &history, jitter: Double.random(in: 0..<1), stopping: stopping)
        switch decision {
        case .restart(let ms):
            logger.info("restart in \(ms) ms", metadata: ["event": "restart", "in_ms": "\(ms)", "attempt": "\(attempt + 1)"])
            if ms == 0 { start() } else { arm(restartTimer, ms: ms) }
        case .stop(let code, let why):
            exitCode = code
            if case .startLimit(let burst, let interval) = why {
                logger.error("giving up: \(burst) starts within \(Seconds(milliseconds: interval)); last exit code \(code)",
                             metadata: ["event": "give-up", "exit_code": "\(code)"])
                record(.giveUp)
            }
            done = true
        }
    }

    // MARK: Reload

    func watch(_ vault: String) throws(LaunchError) {
        inotifyFD = try sys("inotify_add_watch \(Sys.directory(of: vault))") { rwk_inotify_dir(Sys.directory(of: vault)) }
        try add(inotifyFD, .inotify)
    }

    func vaultChanged() {
        let name = Array(Sys.basename(options.watchVault ?? "").utf8)
        var buf = [UInt8](repeating: 0, count: 4096)
        var hit = false
        while true {
            let n = read(inotifyFD, &buf, buf.count)
            if n <= 0 { break }
            var off = 0
            while off + 16 <= n {
                let len = Int(buf[off + 12]) | Int(buf[off + 13]) << 8 | Int(buf[off + 14]) << 16 | Int(buf[off + 15]) << 24
                let raw = buf[(off + 16)..<min(n, off + 16 + len)]
                let evName = raw.prefix { $0 != 0 }
                if evName.elementsEqual(name) { hit = true }
                off += 16 + len
            }
        }
        if hit { arm(reloadTimer, ms: 100) }  // let a burst of writes settle
    }

    func reload(reason: String) {
        guard !stopping, let rebuild = options.reload else { return }
        let fresh: LaunchPlan
        do { fresh = try rebuild() } catch {
            logger.error("reload failed, the bot keeps its current keys: \(error)", metadata: ["event": "reload-failed"])
            return
        }
        // Compare with the keys the next start will use: rotate's SIGHUP and the
        // inotify event of the same write arrive 100 ms apart, and a bot that takes
        // longer to stop is still running on the old plan.
        guard keysChanged(fresh, from: pendingPlan ?? plan) else {
            logger.info("reload (\(reason)): the keys this profile uses are unchanged", metadata: ["event": "reload-skipped"])
            return
        }
        logger.info("reload (\(reason)): new keys, restarting the bot", metadata: ["event": "reload", "pid": "\(pid)"])
        record(.reload)
        pendingPlan = fresh
        if restarting { return }   // the restart in progress starts with the newest plan
        if pid > 0 || draining {
            restarting = true
            if !treeSignalled { stopBot() }   // leftovers already being stopped keep their deadline
        } else {
            arm(restartTimer, ms: 0); start()
        }
    }

    func keysChanged(_ fresh: LaunchPlan, from current: LaunchPlan) -> Bool {
        guard fresh.secrets.count == current.secrets.count else { return true }
        for (a, b) in zip(fresh.secrets, current.secrets) where a.variable != b.variable || !a.value.constantTimeEquals(b.value) {
            return true
        }
        return false
    }

    // MARK: Bookkeeping

    func startWatchdog() {
        guard let usec = Sys.getenv("WATCHDOG_USEC").flatMap({ Int64($0) }), usec > 0 else { return }
        let ms = max(1, usec / 2000)
        arm(watchdogTimer, ms: ms, intervalMs: ms)
    }

    func record(_ event: LaunchRecord.Event, status: ExitStatus? = nil) {
        guard let log = options.launchLog else { return }
        let r = LaunchRecord(time: Clock.system.now(), event: event, profile: plan.profile.name, keys: plan.secretNames,
                             pid: pid, uid: plan.request.credentials?.uid ?? getuid(), status: status?.description,
                             exitCode: status?.shellCode, restarts: max(0, attempt - 1))
        do { try log.append(r) } catch { logger.warning("launch log: \(error)") }
    }

    var runFile: String? { options.runDirectory.map { $0 + "/" + plan.profile.name + ".json" } }

    var runDirectoryReady = false

    func writeRunFile() {
        guard let path = runFile else { return }
        if !runDirectoryReady {
            do { try Sys.makeDirectories(Sys.directory(of: path)) } catch { return }
            runDirectoryReady = true
        }
        let json = "{\"pid\":\(getpid()),\"bot_pid\":\(pid),\"profile\":\(LaunchLog.json(plan.profile.name)),"
            + "\"reload\":\(LaunchLog.json(plan.profile.restart.reload.rawValue)),"
            + "\"keys\":[\(plan.secretNames.map(LaunchLog.json).joined(separator: ","))]}\n"
        let tmp = path + ".tmp"
        let (fd, _) = Sys.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        Sys.writeAll(fd, json)
        close(fd)
        rename(tmp, path)
    }

    func finish() {
        flushRedactors()
        if let path = runFile { unlink(path) }
        // Wait for any stragglers (exec'd away from the tree cleanup races).
        while true {
            var status: Int32 = 0
            let p = waitpid(-1, &status, WNOHANG)
            if p <= 0 { break }
        }
    }

    /// Every live descendant of the supervisor (orphans are re-parented to it, the subreaper).
    func descendants() -> [pid_t] { ProcessTree.descendants() }
}

/// "-1 and errno" to a thrown error, retrying EINTR.
@discardableResult
func sys(_ call: @autoclosure () -> String, _ body: () -> Int32) throws(LaunchError) -> Int32 {
    while true {
        let r = body()
        if r != -1 { return r }
        if errno == EINTR { continue }
        throw .system(call: call(), errno: errno)
    }
}

enum ProcessTree {
    /// Every descendant of this process, as pids of its own pid namespace (the
    /// numbers kill(2) takes).
    ///
    /// /proc may belong to another pid namespace than ours: `unshare --pid --fork`
    /// without --mount-proc, some containers. Its numbers are then not ours, and
    /// getpid() (1 in a new namespace) is some other process there — walking
    /// from it would find the whole outer system, and killing those numbers
    /// would hit unrelated processes of ours. So the walk starts from /proc/self
    /// in /proc's numbering, and each pid found is translated through NSpid.
    static func descendants() -> [pid_t] {
        guard let me = ProcessIDs.selfInProc() else { return [] }   // we are not visible in this /proc
        let found = descendants(of: me)
        guard me != getpid() else { return found }
        return found.compactMap { p in ProcessIDs.nsPids(of: p).flatMap(ProcessIDs.ours) }
    }

    /// Walks /proc: pid → ppid, then collects everything below `root` (in /proc's numbering).
    static func descendants(of root: pid_t) -> [pid_t] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var children: [pid_t: [pid_t]] = [:]
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard let p = pid_t(name) else { continue }
            guard let ppid = parent(of: p) else { continue }
            children[ppid, default: []].append(p)
        }
        var out: [pid_t] = [], queue = children[root] ?? []
        while let p = queue.popLast() {
            out.append(p)
            queue += children[p] ?? []
        }
        return out
    }

    /// Field 4 of /proc/PID/stat, after the ")" that ends the command name.
    static func parent(of pid: pid_t) -> pid_t? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = read(fd, &buf, buf.count)
        guard n > 0, let close = buf[0..<n].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buf[(close + 2)..<n].split(separator: UInt8(ascii: " "))
        guard fields.count > 1, fields[0].first != UInt8(ascii: "Z") else { return fields.count > 1 ? pid_t(String(decoding: fields[1], as: UTF8.self)) : nil }
        return pid_t(String(decoding: fields[1], as: UTF8.self))
    }
}
