import Common
import Logging
import Glibc
import CSys
import Vault
import Launch

/// The bot's exit, seen as a reaped child (no PID namespace, or a persistent
/// init's) or as its init's message, and the init's own exit; then whether
/// anything of the tree is left.
extension Supervisor {
    /// Reaps every child; notices the bot's (or its init's) exit. Once the bot
    /// is gone, tells the life cycle whether anything of its tree is left.
    func reap() {
        while true {
            var status: Int32 = 0
            let p = waitpid(-1, &status, WNOHANG | ProcessTree.waitAll | WUNTRACED | WCONTINUED)
            if p <= 0 { break }
            guard let tree else { continue }
            if status & 0xff == 0x7f || status == 0xffff {   // stopped, continued: job control
                if tree.botIsOurChild && p == tree.pid && tree.botAlive && status != 0xffff {
                    botStopped((status >> 8) & 0xff)
                }
                continue
            }
            if tree.botIsOurChild && p == tree.pid && tree.botAlive { botExited(ExitStatus(waitStatus: status)) }
            if let t = tree.treeInit, p == t.pid { treeInitExited() } else if let k = keeper, p == k.pid { forgetKeeper() }
        }
        guard [.draining, .restarting, .stopping].contains(life.state), tree?.botAlive != true else { return }
        var word = treeIsEmpty()
        if word == nil {
            // The init woke with us at the bot's exit: its word is often in already.
            readTreeMessages()
            word = treeIsEmpty()
        }
        guard let empty = word else {
            // The init's word is microseconds away; should it never come (an
            // init stopped from outside), the stop timer kills the init, and
            // its namespace with it.
            if disarmed.contains(timers.stop) { arm(timers.stop, ms: max(1, settings.stopTimeoutMs)) }
            return
        }
        feed(empty ? .treeEmpty : .treeNotEmpty)
    }

    /// A persistent init that no longer holds the current bot was reaped.
    func forgetKeeper() {
        guard let k = keeper else { return }
        _ = rwk_epoll_del(epfd, k.pidfd)
        _ = rwk_epoll_del(epfd, k.control)
        keeper = nil
    }

    /// The bot has exited and its persistent init's word on the namespace is
    /// due (microseconds away, and a restart may follow at once): the exit
    /// record waits for it, so the launch log's I/O is not in between.
    var awaitingTreeVerdict: Bool { life.state == .draining && tree?.keeperWordDue == true }

    /// Whether nothing of the bot's tree is left (the bot itself included). A
    /// persistent init outlives it, so then the init's word counts: nil until
    /// it has spoken about this bot. Otherwise every process left is our child
    /// or below one (orphans come to us, the subreaper; a per-bot init exits
    /// only once its namespace is empty).
    func treeIsEmpty() -> Bool? {
        guard let tree, let t = tree.treeInit, t.persistent else { return !ProcessTree.hasChildren() }
        if tree.keeperWordDue { return nil }
        return tree.keeperVerdict == true && !ProcessTree.hasChildren(besides: t.pid)
    }

    /// The init's messages: the bot's wait status once it has reaped the bot.
    func readTreeMessages() {
        guard let tree else { return }
        while let message = tree.nextTreeMessage() {
            switch message {
            case .success(.exit(let status)): if tree.botAlive { botExited(ExitStatus(waitStatus: status)) }
            case .success(.stopped(let sig)): botStopped(sig)
            case .success(.continued): break   // botStopped reads the bot's state itself
            case .success(.empty(let g)): if g == tree.treeInit?.watched { tree.keeperVerdict = true }
            case .success(.busy(let g)):
                if g == tree.treeInit?.watched && tree.keeperVerdict == nil { tree.keeperVerdict = false }
            case .failure:   // EOF: the init is gone (its pidfd tells reap); stop watching the socket
                if let t = tree.treeInit { _ = rwk_epoll_del(epfd, t.control) }
                return
            }
        }
    }

    /// The init was reaped: its namespace is empty now. A bot status it sent
    /// before exiting is still in the socket; without one, the init was killed
    /// first, and the kernel SIGKILLed the bot with it. (A persistent init's
    /// bot is our child: the kernel lets the init finish dying only once we
    /// have reaped the bot, so its exit was seen first.)
    func treeInitExited() {
        readTreeMessages()
        guard let tree, let t = tree.treeInit else { return }
        if tree.botAlive { botExited(.signaled(SIGKILL)) }
        _ = rwk_epoll_del(epfd, t.pidfd)
        _ = rwk_epoll_del(epfd, t.control)
        if keeper === t { keeper = nil }
        tree.initGone()
    }

    func botExited(_ status: ExitStatus) {
        guard let tree else { return }
        let ran = MonotonicClock.nowMs() - startedAtMs
        if tree.botIsOurChild { _ = rwk_epoll_del(epfd, tree.pidfd) }
        if let g = tree.execGuard { _ = rwk_epoll_del(epfd, g.fd) }
        let deniedExecs = tree.execGuard?.deniedCount ?? 0
        tree.botGone()
        if terminal.mode == .direct {
            terminal.takeBack()
            terminal.botGroup = 0
        }
        let reason: ExitReason
        switch status {
        case .exited(let c): reason = .exited(c)
        case .signaled(let s): reason = .signaled(s)
        }
        logger.info("bot \(status)", metadata: ["event": "exit", "pid": "\(tree.pid)", "attempt": "\(attempt)",
                                                   "status": "\(status)", "ran_ms": "\(ran)"])
        if case .signaled(SIGSYS) = status {
            logger.error("""
                the bot was killed by seccomp (SIGSYS): it made a syscall the [sandbox] policy denies; \
                to find it, run with action = "errno" (the call then fails with EPERM) or under strace -f; \
                to permit it, add it to [sandbox] allow
                """,
                         metadata: ["event": "seccomp-kill", "pid": "\(tree.pid)"])
        }
        record(.exit, status: status)
        arm(timers.watchdog, ms: 0)
        // What the bot wrote last is read before the life cycle moves on (as far
        // as the consumer keeps up; finish() takes the rest).
        arm(timers.flush, ms: output.relay(.out))
        arm(timers.flush, ms: output.relay(.err))
        if let why = Self.failedToStart(reason, ranMs: ran, deniedExecs: deniedExecs) {
            logger.error("the bot failed to start (\(status) after \(ran) ms): \(why); not restarting it",
                         metadata: ["event": "start-failed", "pid": "\(tree.pid)"])
            feed(.botFailedToStart(reason))
        } else {
            feed(.botExited(reason))
        }
    }

    /// Whether an exit means the bot's own code never ran, and why: exit 126 or
    /// 127 (what env, shells and shims return when they can't exec the real
    /// program) or a refused exec under no_exec, within a second of the start.
    static func failedToStart(_ reason: ExitReason, ranMs: Int64, deniedExecs: Int) -> String? {
        guard ranMs < 1000, case .exited(let code) = reason, code != 0 else { return nil }
        if deniedExecs > 0 {
            return "no_exec refused the exec of its real program (a #!/usr/bin/env script, env or a version manager's shim); "
                + "put the interpreter itself in `command`, or set no_exec = false"
        }
        if code == 127 { return "a program it runs at once was not found (exit 127); check `command` and the bot's PATH" }
        if code == 126 { return "a program it runs at once could not be executed (exit 126); check its permissions and #! line" }
        return nil
    }
}
