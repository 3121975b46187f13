import CLaunch

/// The steps of a spawn, numbered in the order they run. Mirrors `RWK_STAGE_*`
/// in claunch.h; `SpawnStageTests` checks that every number and name agree.
public enum SpawnStage: Int32, CaseIterable, Sendable {
    case none = 0
    // parent side, before the child exists: the clone is plain (`fork`) or into
    // a new PID namespace, whose init then forks the bot (`treeInit`)
    case config, pipe, fork, pidNamespace, treeInit
    // the child's checklist, in order
    case setsid, controllingTerminal, setpgid, signals, parentDeathSignal, fdMap, rlimit, boundingSet
    case setgroups, setgid, setuid, dropCheck, capabilities, chdir, closeFds, noNewPrivileges, landlock
    case seccomp, seccompNotify, sendListener, execve
    // parent side, after the exec
    case pidfdOpen, receiveListener

    /// The C shim's name: "setsid", "chdir", "setuid", "seccomp", "execve", …
    public var name: String { String(cString: rwk_stage_name(rawValue)) }

    /// The C side's stage count (`RWK_STAGE_COUNT`).
    public static var cCount: Int32 { Int32(RWK_STAGE_COUNT) }
}
