import CLaunch

/// The steps of a spawn, in order. Mirrors `RWK_STAGE_*` in claunch.h.
public enum SpawnStage: Int32, CaseIterable, Sendable {
    case none = 0
    // parent side
    case config, pipe, fork, pidfdOpen, receiveListener
    // the child's checklist
    case setsid, setpgid, controllingTerminal, signals, parentDeathSignal, chdir, fdMap, rlimit
    case setgroups, setgid, setuid, dropCheck, closeFds, noNewPrivileges, seccomp, seccompNotify
    case sendListener, execve
    /// Runs between `noNewPrivileges` and `seccomp`; numbered after `execve` to keep the other numbers stable.
    case landlock
    // tree containment: the clone into a new PID namespace, then its init
    case pidNamespace, treeInit

    /// The C shim's name: "setsid", "chdir", "setuid", "seccomp", "execve", …
    public var name: String { String(cString: rwk_stage_name(rawValue)) }
}
