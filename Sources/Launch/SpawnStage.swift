import CLaunch

/// The steps of a spawn, numbered in the order they run. Mirrors `RWK_STAGE_*`
/// in claunch.h; `SpawnStageTests` checks that every number and name agree.
public enum SpawnStage: Int32, CaseIterable, Sendable {
    /// RWK_STAGE_NONE: no stage failed (also what an unknown stage number reads as).
    case none = 0
    // parent side, before the child exists: the clone is plain (`fork`) or into
    // a new PID namespace, whose init then forks the bot (`treeInit`)
    /// RWK_STAGE_CONFIG … RWK_STAGE_TREE_INIT (1-5): the config check, the report pipe (pipe2(2)), the clone.
    case config, pipe, fork, pidNamespace, treeInit
    // the child's checklist, in order
    /// RWK_STAGE_SETSID … RWK_STAGE_BOUNDING_SET (6-13): session and terminal, signals, fds, rlimits, bounding set.
    case setsid, controllingTerminal, setpgid, signals, parentDeathSignal, fdMap, rlimit, boundingSet
    /// RWK_STAGE_SETGROUPS … RWK_STAGE_LANDLOCK (14-22): the id drop and its check, capabilities, … Landlock.
    case setgroups, setgid, setuid, dropCheck, capabilities, chdir, closeFds, noNewPrivileges, landlock
    /// RWK_STAGE_SECCOMP … RWK_STAGE_EXECVE (23-26): the filter, the no_exec one, its listener's hand-over, execve.
    case seccomp, seccompNotify, sendListener, execve
    // parent side, after the exec
    /// RWK_STAGE_PIDFD, RWK_STAGE_RECV_LISTENER (27, 28): pidfd_open(2) on the child; receiving the no_exec listener.
    case pidfdOpen, receiveListener

    /// The C shim's name: "setsid", "chdir", "setuid", "seccomp", "execve", …
    public var name: String { String(cString: rwk_stage_name(rawValue)) }

    /// The C side's stage count (`RWK_STAGE_COUNT`).
    public static var cCount: Int32 { Int32(RWK_STAGE_COUNT) }
}
