import Logging
import Glibc
import CSys
import Launch

/// The terminal and job control, after sudo's `use_pty` and script(1).
///
/// Three modes, chosen once at start:
/// - `.pty` (redact on, stdin and stdout terminals): the bot's stdin, stdout and
///   stderr are a pty whose modes start as a copy of ours (cooked, echo, ONLCR);
///   while we are the foreground job our terminal is raw and keystrokes go into
///   the pty, so the bot's line discipline does echo, ^C (SIGINT to the bot) and
///   the rest. The bot is a session leader whose parent is in another session:
///   its process group is orphaned and the kernel discards a SIGTSTP from its
///   pty, so ^Z is caught here (the pty's VSUSP byte while it has ISIG on).
/// - `.direct` (redact off, a terminal that is our controlling terminal): the
///   bot is a process group of our session and the terminal's foreground job;
///   ^C, ^\ and ^Z reach it (not us) exactly as from a shell. Its stops come
///   from its parent's wait (the namespace's init, or our own waitpid).
/// - `.none`: anything else, today's behaviour.
///
/// Suspend (^Z, SIGTSTP): the tree gets SIGSTOP, our terminal gets its modes
/// (and in `.direct` its foreground) back, and we stop with the same signal so
/// the shell sees the job stop; when continued (`fg`, `bg`, or SIGCONT), the
/// reverse, touching the terminal only when we are its foreground job.
final class Terminal {
    enum Mode: Equatable { case none, pty, direct }

    let mode: Mode
    /// The terminal we watch (fd 0 for `.pty`, the first tty of 0, 1, 2 that is our controlling terminal for `.direct`).
    let fd: Int32
    /// `.pty`: the pty master, and a dup of it registered for EPOLLOUT on its own.
    private var master: Int32 = -1
    private(set) var inputOut: Int32 = -1
    /// Keystrokes not yet taken by the pty (it is full: the bot doesn't read).
    private var pending: [UInt8] = []
    private static let pendingLimit = 65536
    /// fd 0 is in epoll for reading (`.pty`, foreground, raw).
    private var reading = false
    private var epfd: Int32 = -1
    private var inputTag: UInt64 = 0, inputOutTag: UInt64 = 0
    /// We sent the tree SIGSTOP and owe it a SIGCONT.
    var treeStopped = false
    /// `.direct`: the bot's process group (its pid in our numbering), 0 when none runs.
    var botGroup: pid_t = 0

    init(redact: Bool, output: OutputRelay) {
        if redact, output.isPTY, isatty(0) == 1 {
            mode = .pty
            fd = 0
            master = output.outRead
            output.ptyStdin = true
            // The user's modes (cooked, echo, ONLCR) for the bot, as script and sudo do;
            // the redactor also knows the "\r\n" form of a multi-line secret.
            _ = rwk_tty_copy_modes(0, master)
            inputOut = dup(master)
            if inputOut >= 0 { _ = rwk_set_cloexec(inputOut) }
        } else if !redact, let tty = [Int32(0), 1, 2].first(where: { isatty($0) == 1 && rwk_tty_pgrp($0) > 0 }) {
            mode = .direct
            fd = tty
            _ = rwk_tty_save(tty)
        } else {
            mode = .none
            fd = -1
        }
    }

    deinit { if inputOut >= 0 { close(inputOut) } }

    /// Registers fd 0 and the pty's input side with epoll (idle until `enter`).
    func register(epfd: Int32, input: UInt64, inputOut: UInt64) throws(LaunchError) {
        guard mode == .pty, self.inputOut >= 0 else { return }
        self.epfd = epfd
        inputTag = input
        inputOutTag = inputOut
        try sys("epoll_ctl") { rwk_epoll_add(epfd, 0, 0, input) }
        try sys("epoll_ctl") { rwk_epoll_add(epfd, self.inputOut, 0, inputOut) }
    }

    var foreground: Bool { fd >= 0 && rwk_tty_foreground(fd) == 1 }

    /// How the next bot starts: `.direct` puts it in the terminal's foreground when we are there.
    func prepare(_ plan: LaunchPlan) {
        guard mode == .direct else { return }
        if foreground {
            plan.setSession(.foregroundProcessGroup, terminal: fd)
        } else {
            plan.setSession(.newProcessGroup)
        }
    }

    /// Takes the terminal for the bot: raw mode and keystrokes (`.pty`), or the
    /// foreground for its group (`.direct`). Only in the foreground.
    func enter() {
        switch mode {
        case .pty:
            if rwk_tty_raw(0) == 1 {
                _ = rwk_copy_winsize(1, master)
                reading = true
            }
            updateInterest()
        case .direct:
            if botGroup > 0 { _ = rwk_tty_give(fd, getpgrp(), botGroup) }
        case .none: break
        }
    }

    /// Gives our terminal back its modes (and foreground): before a stop, at exit.
    func leave() {
        switch mode {
        case .pty:
            reading = false
            updateInterest()
            rwk_tty_restore()
        case .direct:
            takeBack()
        case .none: break
        }
    }

    /// `.direct`: the bot's group is gone or stopped: the terminal is ours again, with our modes.
    func takeBack() {
        guard mode == .direct, botGroup > 0 else { return }
        if rwk_tty_pgrp(fd) == botGroup { _ = rwk_tty_give(fd, botGroup, getpgrp()) }
        rwk_tty_restore_saved()
    }

    /// At exit: everything as it was.
    func restore() {
        leave()
        if mode == .direct { rwk_tty_restore_saved() }
    }

    /// fd 0 is readable: keystrokes into the pty. Returns true when the user typed
    /// the pty's suspend character (the caller suspends).
    func relayInput() -> Bool {
        if !reading || !foreground {
            // A shell's `fg` of a running job sends no SIGCONT: the terminal
            // having input for us while we are its foreground job is the sign.
            reading = false
            if foreground { enter() } else { updateInterest() }
            if !reading { return false }
        }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = read(0, &buf, buf.count)
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return false }
        if n <= 0 { reading = false; updateInterest(); return false }   // hang-up: nothing more to relay
        let susp = rwk_tty_susp_char(master)
        var suspend = false
        for b in buf[0..<n] {
            if susp >= 0 && Int32(b) == susp { suspend = true; continue }
            pending.append(b)
        }
        writePending()
        return suspend
    }

    /// The pty takes input again (EPOLLOUT on its dup).
    func writePending() {
        while !pending.isEmpty {
            let n = pending.withUnsafeBytes { write(inputOut, $0.baseAddress!, $0.count) }
            if n > 0 { pending.removeFirst(n); continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno != EAGAIN { pending.removeAll() }   // the pty is gone: drop the keystrokes
            break
        }
        updateInterest()
    }

    /// Reads fd 0 only while the pty takes input and there is room to buffer;
    /// EPOLLOUT only while keystrokes wait. Nothing while idle. In the
    /// background, fd 0 is watched edge-triggered (once per arrival, never
    /// read) to notice becoming the foreground job without a SIGCONT.
    private func updateInterest() {
        guard epfd >= 0 else { return }
        let events: UInt32 = !reading ? 1 | (1 << 31) /* EPOLLIN|EPOLLET */
            : pending.count < Self.pendingLimit ? 1 /* EPOLLIN */ : 0
        _ = rwk_epoll_mod(epfd, 0, events, inputTag)
        _ = rwk_epoll_mod(epfd, inputOut, pending.isEmpty ? 0 : 4 /* EPOLLOUT */, inputOutTag)
    }
}

extension Supervisor {
    /// ^Z (the pty's VSUSP, SIGTSTP to us, or the `.direct` bot stopping): the
    /// tree stops, the terminal is ours again, then we stop with `sig`.
    func suspend(_ sig: Int32) {
        logger.debug("suspending", metadata: ["event": "suspend", "signal": "\(sig)"])
        if let tree, tree.botAlive || tree.treeInit != nil {
            if terminal.botGroup > 0 { kill(-terminal.botGroup, SIGSTOP) }   // at once, not through the init
            tree.signalAll(SIGSTOP)
            terminal.treeStopped = true
        }
        output.flush()
        flushExitRecord()   // not held back while we are stopped
        terminal.leave()
        rwk_stop_self(sig)
        resume()
    }

    /// Continued (or the stop was discarded): the terminal for the bot again if
    /// we are in the foreground, and SIGCONT to the tree we stopped.
    func resume() {
        if terminal.foreground { terminal.enter() }
        if terminal.treeStopped {
            terminal.treeStopped = false
            // The bot's group at once: a report of the stop we caused, read
            // after this, then finds it running (see botStopped).
            if terminal.botGroup > 0 { kill(-terminal.botGroup, SIGCONT) }
            tree?.signalAll(SIGCONT)
        }
    }

    /// The bot reported a stop (its parent's wait with WUNTRACED): in
    /// `.direct`, ^Z (or a background read) stopped its group; we follow.
    func botStopped(_ sig: Int32) {
        guard terminal.mode == .direct, !terminal.treeStopped, let tree, tree.botAlive,
              (ProcessTree.state(of: tree.pid) ?? UInt8(ascii: "T")) == UInt8(ascii: "T") else { return }   // stale: our own stop, since continued
        if sig == SIGTTIN || sig == SIGTTOU, terminal.foreground {
            // We are the foreground job (a shell's `fg` of a running job sends no
            // SIGCONT) and the bot wants the terminal: it may have it.
            terminal.enter()
            kill(-terminal.botGroup, SIGCONT)
            return
        }
        suspend([SIGTSTP, SIGTTIN, SIGTTOU].contains(sig) ? sig : SIGSTOP)
    }

    func handleInput() {
        if terminal.relayInput() { suspend(SIGTSTP) }
    }
}
