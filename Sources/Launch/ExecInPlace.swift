import Glibc
import Profile
import Vault

/// Exec in place: the launch path with no supervisor process. The checklist
/// runs in run-with-keys' own process, which then becomes the bot (execve), so
/// the bot keeps our pid, session, process group and terminal.
///
/// It gives up what only a process that stays can do: the exit record in the
/// launch log (the start record is written), reload on SIGHUP, a vault change
/// or `rotate`, restarts, redaction, the no_exec guard, the PID-namespace tree
/// (nothing kills what the bot leaves behind), and the parent-death signal
/// (there is no parent of ours to die). See docs/ARCHITECTURE.md, "Launch paths".
extension LaunchPlan {
    /// Why this plan needs a supervisor, one reason per setting, for `check`
    /// and `run --exec`'s error; empty when it can exec in place.
    public var supervisorReasons: [String] {
        let s = supervision
        var out: [String] = []
        switch s.restart.policy {
        case .no: break
        case .onFailure: out.append("restart policy on-failure (restarts need a process that stays)")
        case .always: out.append("restart policy always (restarts need a process that stays)")
        }
        if s.redact { out.append("redact = true (the output goes through the supervisor's redactor)") }
        if s.reload != .none { out.append("reload = \"\(s.reload.rawValue)\" (new keys need a process that holds the vault key)") }
        if request.noExec { out.append("no_exec = true (the supervisor answers the bot's execve)") }
        if request.tree != .none { out.append("pid_namespace (the tree's init needs the supervisor as its parent)") }
        if s.stopSignal != SIGTERM { out.append("stop_signal (the supervisor turns SIGTERM into it)") }
        // Under systemd's Type=notify the supervisor sends READY=1 and the watchdog
        // pings; a bot exec'd in place would leave the unit to time out.
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC"] where !(Sys.getenv(name) ?? "").isEmpty {
            out.append("\(name) is set (the supervisor speaks sd_notify for the bot)")
        }
        return out
    }

    /// What `run --exec` can't give up: every reason but a PID namespace the
    /// profile did not `require`, which --exec drops.
    public var execInPlaceRefusals: [String] {
        let requiresTree = profile.sandbox.require.contains { $0.rawValue == Containment.Feature.tree.rawValue }
        return supervisorReasons.filter { !$0.hasPrefix("pid_namespace") || requiresTree }
    }

    /// Becomes the bot: the checklist in this process, then execve.
    /// - Throws: `LaunchError.spawn` when a stage before the seccomp filter
    ///   failed (the process may be half-changed: report and exit).
    public func execInPlace() throws(LaunchError) -> Never {
        var request = self.request
        request.tree = .none
        request.initFds = []
        request.keyDirectoryTarget = nil
        request.session = .inherit          // stay the shell's job, in its foreground
        request.controllingTerminal = nil
        request.parentDeathSignal = nil     // our parent is the caller's shell or service manager
        request.stdin = nil
        request.stdout = nil
        request.stderr = nil
        LaunchTiming.mark("exec in place")
        LaunchTiming.report()
        try environment.withEnvp { (envp) throws(LaunchError) -> Never in
            try Launch.execInPlace(request, environment: envp)
        }
    }
}
