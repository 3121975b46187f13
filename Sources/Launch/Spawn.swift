import CLaunch
import Glibc

/// A started bot. The caller owns `pidfd` and must serve `execGuard`, if any,
/// for as long as the bot's tree lives.
public struct SpawnedProcess {
    /// The bot's pid in our pid namespace (for signals and logs).
    public let pid: pid_t
    /// The bot's pidfd. When the bot is our child (no namespace, or a
    /// persistent init's) it becomes readable when the bot exits; under an init
    /// that forked it, its status comes from the init.
    public let pidfd: Int32
    /// The no_exec listener (`SpawnRequest.noExec`), to be served while the bot's tree lives;
    /// nil without no_exec.
    public let execGuard: ExecGuard?
    /// The namespace's init, when the tree is contained (`TreeMode`).
    public let treeInit: TreeInit?
}

/// Forks and execs `request`, with `environment` (a NULL-terminated array of
/// "NAME=value" pointers into the caller's guarded memory) as the child's
/// envp. Returns once execve succeeded; throws `.spawn(stage:…)` with the
/// failing step otherwise (the failed child is reaped).
///
/// Under `.pidNamespace` without init fds the bot starts in `keeper`'s
/// namespace: the persistent init of the previous start, or a new one when
/// `keeper` is nil or its namespace takes no more processes (it was killed).
/// The result's `treeInit` is the one used: keep it for the next spawn.
public func spawn(_ request: SpawnRequest, environment: UnsafePointer<UnsafePointer<CChar>?>,
                  into keeper: TreeInit? = nil) throws(LaunchError) -> SpawnedProcess {
    guard request.tree == .pidNamespace && request.initFds.isEmpty else {
        return try spawn(request, environment: environment, keeper: nil)
    }
    if let keeper {
        do {
            return try spawn(request, environment: environment, keeper: keeper)
        } catch where error.stage == .pidNamespace {
            // Killed, or dying: its namespace refuses new processes. A new one
            // (and this one surely goes).
            keeper.kill()
        }
    }
    let fresh: TreeInit
    do {
        fresh = try TreeInit.start()
    } catch {
        // Namespaces refused, or the init's exec (no /proc, or no second gid to
        // exec it with): an init per bot, whose own clone then fails the way
        // the kernel says, if it does.
        return try spawn(request, environment: environment, keeper: nil)
    }
    return try spawn(request, environment: environment, keeper: fresh)
}

private func spawn(_ request: SpawnRequest, environment: UnsafePointer<UnsafePointer<CChar>?>,
                   keeper: TreeInit?) throws(LaunchError) -> SpawnedProcess {
    try validate(request)
    let notifyFilter = request.noExec ? try SeccompPolicy.execNotifyFilter() : nil
    for map in request.fds where map.rewind {
        try sys("lseek fd \(map.source)") { lseek(map.source, 0, SEEK_SET) }
    }

    let arena = CArena()
    defer { withExtendedLifetime(arena) {} }
    var cfg = try config(request, environment: environment, notifyFilter: notifyFilter, arena: arena)
    if let keeper {
        cfg.tree = Int32(RWK_TREE_NONE)
        cfg.ns_fd = keeper.namespace
    }
    var result = rwk_spawn_result()
    if rwk_spawn(&cfg, &result) < 0 { throw failure(result, request) }
    var guardian: ExecGuard?
    if result.listener_fd >= 0 {
        // The notifications name the bot by the pid of the listener's namespace (ours).
        let bot = result.bot_pidfd >= 0 ? ProcessIDs.pid(ofPidfd: result.bot_pidfd) ?? result.pid : result.pid
        guardian = ExecGuard(listener: result.listener_fd, child: bot)
        result.listener_fd = -1 // the guard owns it now
        try awaitOwnExec(&result, guardian!, request)
    }
    if let keeper {
        // The init reports on this bot's namespace once the bot has exited.
        keeper.watch(result.pidfd)
        return SpawnedProcess(pid: result.pid, pidfd: result.pidfd, execGuard: guardian, treeInit: keeper)
    }
    guard result.bot_pidfd >= 0 else {
        return SpawnedProcess(pid: result.pid, pidfd: result.pidfd, execGuard: guardian, treeInit: nil)
    }
    // The init's pid stands in when /proc can't name the bot for us (a foreign /proc):
    // it is only shown in logs; signals go through the pidfd and the init.
    let botPid = ProcessIDs.pid(ofPidfd: result.bot_pidfd) ?? result.pid
    return SpawnedProcess(pid: botPid, pidfd: result.bot_pidfd, execGuard: guardian,
                          treeInit: TreeInit(pid: result.pid, pidfd: result.pidfd, control: result.control_fd,
                                             persistent: false))
}

/// The C config for `request`; its strings and tables live in `arena`.
private func config(_ request: SpawnRequest, environment: UnsafePointer<UnsafePointer<CChar>?>,
                    notifyFilter: BPFProgram?, arena: CArena) throws(LaunchError) -> rwk_spawn_config {
    var cfg = rwk_spawn_config()
    cfg.path = arena.string(request.executable)
    cfg.argv = arena.stringArray(request.arguments)
    cfg.envp = environment
    cfg.workdir = request.workdir.map { arena.string($0) }
    cfg.fds = arena.array(request.fds.map { rwk_fd_pair(src: $0.source, dst: $0.target) })
    cfg.nfds = request.fds.count
    cfg.stdin_fd = request.stdin ?? -1
    cfg.stdout_fd = request.stdout ?? -1
    cfg.stderr_fd = request.stderr ?? -1
    cfg.rlimits = arena.array(request.limits.map {
        rwk_rlimit(resource: $0.resource.rawValue, soft: $0.soft, hard: $0.hard)
    })
    cfg.nrlimits = request.limits.count
    if let ids = request.credentials {
        cfg.set_ids = 1
        cfg.uid = ids.uid
        cfg.gid = ids.gid
        cfg.groups = arena.array(ids.groups)
        cfg.ngroups = ids.groups.count
    }
    cfg.keep_caps = request.capabilities
    cfg.no_new_privs = request.noNewPrivileges ? 1 : 0
    cfg.landlock_fd = request.landlock ?? -1   // always: a zeroed config would mean fd 0
    cfg.ns_fd = -1
    if let bpf = request.seccomp {
        cfg.seccomp_filter = UnsafeRawPointer(arena.array(bpf.bytes))
        cfg.seccomp_len = bpf.instructionCount
    }
    if let bpf = notifyFilter {
        cfg.no_exec = 1
        cfg.exec_notify_filter = UnsafeRawPointer(arena.array(bpf.bytes))
        cfg.exec_notify_len = bpf.instructionCount
    }
    switch request.session {
    case .inherit: cfg.session = Int32(RWK_SESSION_KEEP)
    case .newSession: cfg.session = Int32(RWK_SESSION_NEW)
    case .newProcessGroup: cfg.session = Int32(RWK_SESSION_PGRP)
    case .foregroundProcessGroup: cfg.session = Int32(RWK_SESSION_FOREGROUND)
    }
    cfg.ctty_fd = request.controllingTerminal ?? -1
    cfg.pdeath_signal = request.parentDeathSignal ?? 0
    switch request.tree {
    case .none: cfg.tree = Int32(RWK_TREE_NONE)
    case .pidNamespace: cfg.tree = Int32(RWK_TREE_PIDNS)
    case .userNamespace: cfg.tree = Int32(RWK_TREE_USERNS)
    }

    cfg.init_fds = arena.array(request.initFds)
    cfg.ninit_fds = request.initFds.count
    cfg.key_dir_target = request.keyDirectoryTarget ?? -1
    if !request.initFds.isEmpty {
        let bpf = try SeccompPolicy.initFilter()
        cfg.init_filter = UnsafeRawPointer(arena.array(bpf.bytes))
        cfg.init_filter_len = bpf.instructionCount
    }

    return cfg
}

/// Runs the child checklist in this process and execve()s the bot over it:
/// no supervisor stays (see `LaunchPlan.supervisorReasons`). Returns only when
/// a stage failed before the seccomp filter; the caller reports the error and
/// exits (the process may already have changed session, ids or fds). A later
/// failure prints one line and exits 125/126/127 from C.
public func execInPlace(_ request: SpawnRequest,
                        environment: UnsafePointer<UnsafePointer<CChar>?>) throws(LaunchError) -> Never {
    try validate(request)
    precondition(request.tree == .none && !request.noExec && request.initFds.isEmpty, "exec in place needs no supervisor feature")
    for map in request.fds where map.rewind {
        try sys("lseek fd \(map.source)") { lseek(map.source, 0, SEEK_SET) }
    }
    let arena = CArena()
    var cfg = try config(request, environment: environment, notifyFilter: nil, arena: arena)
    var result = rwk_spawn_result()
    _ = rwk_exec_in_place(&cfg, &result)
    withExtendedLifetime(arena) {}
    throw failure(result, request)
}

/// With no_exec the child waits in its execve until the listener answers:
/// let its own execve calls (one per PATH candidate) continue until the report
/// pipe says the exec happened or failed.
private func awaitOwnExec(_ result: inout rwk_spawn_result, _ guardian: ExecGuard,
                          _ request: SpawnRequest) throws(LaunchError) {
    while true {
        var fds = [pollfd(fd: guardian.fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: result.report_fd, events: Int16(POLLIN), revents: 0)]
        try sys("poll") { poll(&fds, 2, -1) }
        // Settle the report first: an execve notified after the pipe closed
        // comes from the bot itself and must be refused.
        let state = rwk_spawn_report(&result, 0)
        if state < 0 { throw failure(result, request) }
        if state == 0 { guardian.ownExecDone() }
        if fds[0].revents & Int16(POLLIN) != 0 { _ = try guardian.handleOne() }
        if state == 0 { return }
    }
}

private func validate(_ r: SpawnRequest) throws(LaunchError) {
    let strings = [r.executable] + r.arguments + (r.workdir.map { [$0] } ?? [])
    if strings.contains(where: { $0.utf8.contains(0) }) { throw .invalidRequest("a string contains NUL") }
    if r.arguments.isEmpty { throw .invalidRequest("argv is empty") }
    if r.fds.count > Int(RWK_MAX_FD_PAIRS) { throw .invalidRequest("more than \(RWK_MAX_FD_PAIRS) fds") }
    let stdio = [r.stdin, r.stdout, r.stderr].enumerated().compactMap { $0.element == nil ? nil : Int32($0.offset) }
    let targets = r.fds.map(\.target) + stdio
    if Set(targets).count != targets.count { throw .invalidRequest("two fds mapped to the same number") }
    if r.fds.contains(where: { $0.source < 0 || $0.target < 0 }) { throw .invalidRequest("negative fd") }
    if r.controllingTerminal != nil && r.session != .newSession && r.session != .foregroundProcessGroup {
        throw .invalidRequest("a controlling terminal needs a new session")
    }
}

/// The one-line error for a failed stage, with what was being attempted.
private func failure(_ r: rwk_spawn_result, _ q: SpawnRequest) -> LaunchError {
    let stage = SpawnStage(rawValue: r.stage) ?? .none
    let index = Int(r.index)
    let context: String
    switch stage {
    case .chdir: context = "chdir to \"\(q.workdir ?? "")\""
    case .execve: context = "execve \"\(q.executable)\""
    case .setuid: context = "setuid to \(q.credentials?.uid ?? 0)"
    case .setgid: context = "setgid to \(q.credentials?.gid ?? 0)"
    case .setgroups: context = "setgroups to \(q.credentials?.groups ?? [])"
    case .dropCheck: context = "verifying the drop to uid \(q.credentials?.uid ?? 0) (root must stay out of reach)"
    case .rlimit where q.limits.indices.contains(index):
        let l = q.limits[index]
        context = "setrlimit \(l.resource.name) to \(show(l.soft))/\(show(l.hard))"
    case .fdMap where q.fds.indices.contains(index):
        context = "mapping fd \(q.fds[index].source) to \(q.fds[index].target)"
    case .fdMap where (-3 ... -1).contains(index):
        context = "mapping the child's \(["stdin", "stdout", "stderr"][index + 3])"
    case .boundingSet where index >= 0 && r.error == EPERM && !q.noNewPrivileges:
        context = "keeping capability \(index) (capabilities(7)) from a bot without no_new_privs: "
            + "its bounding set can't shrink without CAP_SETPCAP"
    case .boundingSet where index >= 0:
        context = "dropping capability \(index) (capabilities(7)) from the bounding set"
    case .capabilities where index == 0: context = "capget"
    case .capabilities where index == 1: context = "capset to the capabilities the bot keeps"
    case .capabilities where index >= 2: context = "raising capability \(index - 2) (capabilities(7)) as ambient"
    case .controllingTerminal: context = "TIOCSCTTY on fd \(q.controllingTerminal ?? -1)"
    case .pidNamespace: context = "clone into a new PID namespace (\(q.tree == .userNamespace ? "user + PID" : "PID"))"
    case .treeInit: context = "the PID namespace's init"
    default: context = stage.name
    }
    return .spawn(stage: stage, errno: r.error, context: context)
}

private func show(_ v: UInt64) -> String { v == ResourceLimit.unlimited ? "unlimited" : String(v) }
