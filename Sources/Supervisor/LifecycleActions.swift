import Common
import Logging
import Glibc
import CSys
import Vault
import Launch

/// What the life cycle's actions do: start a bot, ask the restart policy,
/// signal or kill the tree. `feed` is the only way into `Lifecycle.handle`.
extension Supervisor {
    func feed(_ event: Lifecycle.Event) {
        for action in life.handle(event) { perform(action) }
    }

    func perform(_ action: Lifecycle.Action) {
        switch action {
        case .spawn(let reason): start(reason: reason)
        case .signalTree(let sig):
            tree?.signalAll(sig)
            if terminal.treeStopped {   // a stopped tree must run to act on the stop signal
                terminal.treeStopped = false
                tree?.signalAll(SIGCONT)
            }
            arm(timers.stop, ms: max(1, settings.stopTimeoutMs))
        case .killTree: killTree()
        case .disarmStopTimer: arm(timers.stop, ms: 0)
        case .armRestart(let ms): arm(timers.restart, ms: ms)
        case .disarmRestart: arm(timers.restart, ms: 0)
        case .notifyStopping: _ = rwk_sd_notify("STOPPING=1")
        case .decide(let reason): decide(reason)
        }
    }

    func start(reason: Lifecycle.SpawnReason) {
        if reason == .reload {
            logger.info("restarting with the reloaded keys", metadata: ["event": "reload"])
        }
        if let p = pendingPlan.take() {
            // The old bot's last output may still be unread: mask the old values too.
            output.rebuild(p.secrets + plan.secrets)
            plan = p
        }
        output.applyStdio(plan)
        terminal.prepare(plan)
        attempt += 1
        let now = MonotonicClock.nowMs()
        history.recordStart(atMs: now)
        let spawned: SpawnedProcess
        do {
            spawned = try plan.spawn(into: keeper)
            LaunchTiming.mark("spawn")
            output.prepareRedaction()
        } catch {
            logger.error("\(error)", metadata: ["event": "spawn-failed", "attempt": "\(attempt)"])
            recordSpawnFailure("\(error)", exitCode: error.exitCode)
            feed(.spawnFailed(code: error.exitCode, firstAttempt: attempt == 1))
            return
        }
        let bot = BotTree(spawned)
        tree = bot
        if terminal.mode == .direct { terminal.botGroup = bot.pid }
        startedAtMs = now
        do {
            if let old = keeper, old !== bot.treeInit {
                // Replaced (it refused the bot), or not used (the start fell back
                // to an init per bot): it goes, and out of epoll before its pidfd
                // turns readable for good.
                old.kill()
                forgetKeeper()
            }
            if let t = bot.treeInit, !t.persistent {
                // The bot is the init's child: its exit comes as a message, the init's as its pidfd.
                try add(t.pidfd, .botExit)
                try add(t.control, .treeControl)
            } else {
                try add(bot.pidfd, .botExit)
                if let t = bot.treeInit, t !== keeper {
                    // A new persistent init, watched for as long as it lives.
                    keeper = t
                    try add(t.pidfd, .botExit)
                    try add(t.control, .treeControl)
                }
            }
            if let g = bot.execGuard { try add(g.fd, .execGuard) }
        } catch {
            // Unwatched, the bot's exit would go unnoticed: stop it now.
            logger.error("\(error)", metadata: ["event": "spawn-failed", "attempt": "\(attempt)"])
            bot.killAll()
            bot.botGone()
            recordSpawnFailure("\(error)", exitCode: 125)
            feed(.spawnFailed(code: 125, firstAttempt: attempt == 1))
            return
        }
        logger.info("started", metadata: ["event": "start", "pid": "\(bot.pid)", "attempt": "\(attempt)"])
        record(.start)
        if attempt == 1 {
            _ = rwk_sd_notify("READY=1\nMAINPID=\(getpid())")
            LaunchTiming.report()
        }
        startWatchdog()
        feed(.spawned)
        writeRunFile()
    }

    func decide(_ reason: ExitReason) {
        let decision = decideRestart(config: restartConfig, exit: reason, startedAtMs: startedAtMs, nowMs: MonotonicClock.nowMs(),
                                     history: &history, jitter: Double.random(in: 0..<1), stopping: false)
        switch decision {
        case .restart(let ms):
            logger.info("restart in \(ms) ms", metadata: ["event": "restart", "in_ms": "\(ms)", "attempt": "\(attempt + 1)"])
        case .stop(let code, .startLimit(let burst, let interval)):
            logger.error("giving up: \(burst) starts within \(Self.duration(interval)); last exit code \(code)",
                         metadata: ["event": "give-up", "exit_code": "\(code)"])
            record(.giveUp)
        case .stop: break
        }
        feed(.decided(decision))
    }

    func killTree() {
        guard let tree else { return }
        // One /proc walk: killAll finds what is left, kills it, and says how many.
        let count = tree.killAll()
        if count > 0 {
            logger.warning("killing \(count) process\(count == 1 ? "" : "es") after stop_timeout",
                           metadata: ["event": "kill", "pid": "\(tree.pid)"])
        }
        // A process forked between the /proc walk and the kills would survive it:
        // look again shortly, for as long as anything is left.
        if ProcessTree.hasChildren() { arm(timers.stop, ms: 100) }
    }
}
