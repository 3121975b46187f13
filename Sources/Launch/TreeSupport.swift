import CLaunch
import Glibc
import Vault

/// How this host lets us contain the bot's process tree (see `TreeMode`).
public enum TreeSupport {
    /// The mode to spawn with and what to report, for a profile's `pid_namespace`.
    ///
    /// - PID 1 already (a container's entrypoint, `unshare --pid --fork`): our
    ///   own namespace ends with us, so no nested one is made.
    /// - root: a PID namespace; else a user + PID namespace when the host
    ///   allows unprivileged user namespaces.
    /// - Otherwise the tree is not contained, and `missing` says why.
    ///
    /// Each probe clones a throwaway child into the namespaces (`rwk_tree_probe`).
    /// - Parameters:
    ///   - wanted: the profile's `pid_namespace`.
    ///   - dropsPrivileges: the bot switches to another user; a user namespace
    ///     maps only our own uid, so it is no fallback then.
    ///   - needsInit: reload = "signal": the namespace's init holds the key
    ///     files, so being PID 1 already is not enough.
    ///   - probe: false lets root take a PID namespace without the probe's clone
    ///     (a namespace made and torn down, and a wait for the child to be
    ///     scheduled: 0.1 ms on a quiet machine, about 1 ms on a busy one). The
    ///     first spawn is then the probe: `LaunchPlan.spawn` falls back when it
    ///     is refused (`assumed` in the result). A profile that requires the
    ///     tree, or whose init holds the keys, always probes, so that a refusal
    ///     stays an error before anything starts.
    /// - Returns: the mode, its status, and whether the mode is assumed, not probed.
    public static func resolve(wanted: Bool, dropsPrivileges: Bool = false, needsInit: Bool = false,
                               probe probing: Bool = true) -> (mode: TreeMode, status: Containment.Status, assumed: Bool) {
        guard wanted else {
            return (.none, Containment.Status(feature: .tree, active: false, detail: "off (pid_namespace = false): only the parent-death signal"), false)
        }
        if getpid() == 1 && !needsInit {
            return (.none, Containment.Status(feature: .tree, active: true, detail: "run-with-keys is PID 1 of its PID namespace, which ends with it"), false)
        }
        let pidNamespace = Containment.Status(feature: .tree, active: true, detail: "own PID namespace, whose init dies with the supervisor")
        var tried: [String] = []
        if geteuid() == 0 {
            if !probing && probed.pidns == nil { return (.pidNamespace, pidNamespace, true) }
            let e = probe(Int32(RWK_TREE_PIDNS))
            if e == 0 { return (.pidNamespace, pidNamespace, false) }
            tried.append("PID namespace: \(Sys.errnoString(e))")
        }
        let e = dropsPrivileges ? EPERM : probe(Int32(RWK_TREE_USERNS))
        if dropsPrivileges { tried.append("a user namespace can't map the profile's user or group") }
        if !dropsPrivileges && e == 0 {
            return (.userNamespace, Containment.Status(feature: .tree, active: true, detail: "own user + PID namespace, whose init dies with the supervisor"), false)
        }
        if !dropsPrivileges { tried.append("user namespace: \(Sys.errnoString(e))") }
        return (.none, Containment.Status(
            feature: .tree, active: false, detail: "only the parent-death signal",
            missing: "can't create a PID namespace here (\(tried.joined(separator: "; "))), so processes the bot starts may outlive a killed supervisor",
            hint: "run as root, allow unprivileged user namespaces (sysctl user.max_user_namespaces), or run run-with-keys as PID 1 (a container's entrypoint)"), false)
    }

    /// `rwk_tree_probe`, once per mode and process: restarts and reloads reuse
    /// the answer (the host's rules don't change under a running supervisor).
    /// Indexed by mode (RWK_TREE_PIDNS, RWK_TREE_USERNS; both small): a pair,
    /// not a dictionary, whose first use would cost a protocol
    /// conformance lookup at every launch.
    nonisolated(unsafe) private static var probed: (pidns: Int32?, userns: Int32?) = (nil, nil)

    /// Records that a spawn into an assumed PID namespace worked: reloads and
    /// restarts of this process need no probe either.
    static func confirmPidNamespace() { probed.pidns = 0 }

    private static func probe(_ mode: Int32) -> Int32 {
        let isPidns = mode == Int32(RWK_TREE_PIDNS)
        if let known = isPidns ? probed.pidns : probed.userns { return known }
        let e = rwk_tree_probe(mode)
        if isPidns { probed.pidns = e } else { probed.userns = e }
        return e
    }
}
