import CSys
import CSeccomp
import Glibc
import Vault

/// A classic BPF program (an array of `struct sock_filter`) exported by
/// libseccomp in the parent and loaded by the fork child as is.
public struct BPFProgram: Sendable, Equatable {
    /// `struct sock_filter` instructions (linux/filter.h), 8 bytes each, in this machine's byte order.
    public let bytes: [UInt8]
    /// The number of instructions (`sock_fprog.len`).
    public var instructionCount: Int { bytes.count / 8 }
}

/// Which syscalls the bot may not make, built with libseccomp in the parent.
///
/// Two kinds:
/// - `.denylist`: everything is allowed except the listed syscalls (the default
///   list plus the profile's `[sandbox] deny`).
/// - `.allowlist`: a minijail-style policy file (see `allowlist(parsing:origin:action:)`):
///   only the listed syscalls, plus `launcherSyscalls`, are allowed.
///
/// Either way a refused syscall gets EPERM (`.errno`) or kills the whole
/// process with SIGSYS (`.kill`), and so does every syscall made through a
/// foreign ABI (i386 `int 0x80`, x32), which would otherwise dodge the rules.
public struct SeccompPolicy: Sendable, Equatable {
    /// Whether `rules` names the refused syscalls (`.denylist`) or the allowed ones (`.allowlist`).
    public enum Kind: Sendable, Equatable { case denylist, allowlist }
    /// What a refused syscall gets (seccomp(2)): `.errno` fails it with EPERM (SECCOMP_RET_ERRNO),
    /// `.kill` kills the whole process with SIGSYS (SECCOMP_RET_KILL_PROCESS).
    public enum Action: Sendable, Equatable { case errno, kill }

    /// One syscall name and where it came from, for error messages
    /// (`[sandbox] deny`, `bot.policy:12`).
    public struct Rule: Sendable, Equatable {
        /// A syscall name as libseccomp knows it, e.g. `ptrace`.
        public var name: String
        /// Where it came from, for errors: e.g. `[sandbox] deny`, `the default denylist`, a policy file's `PATH:LINE`.
        public var origin: String
        /// The rule for syscall `name`, named in errors as coming from `origin`.
        public init(_ name: String, origin: String) {
            self.name = name
            self.origin = origin
        }
    }

    /// A syscall refused only when its arguments match every condition
    /// (seccomp_rule_add(3): SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ on 64-bit arguments).
    public struct ArgumentRule: Sendable, Equatable {
        /// How one argument is compared (seccomp_rule_add(3)).
        public enum Comparison: Sendable, Equatable {
            /// argument == value
            case equals(UInt64)
            /// argument & mask == mask
            case hasBits(UInt64)
        }
        /// The syscall's name, as libseccomp knows it.
        public var name: String
        /// (argument index 0-5, comparison)
        public var conditions: [(Int, Comparison)]
        /// Why it is refused, for people; named in `.unknownSyscall` when libseccomp lacks `name`.
        public var why: String
        /// Empty `conditions` refuse the syscall whatever its arguments (`listen` under `bind = []`).
        public init(_ name: String, _ conditions: [(Int, Comparison)], why: String) {
            self.name = name
            self.conditions = conditions
            self.why = why
        }
        /// Name, reason and conditions, in order (an array of tuples is not Equatable).
        public static func == (a: ArgumentRule, b: ArgumentRule) -> Bool {
            a.name == b.name && a.why == b.why && a.conditions.map(\.0) == b.conditions.map(\.0)
                && a.conditions.map(\.1) == b.conditions.map(\.1)
        }
    }

    /// Denylist or allowlist (see `Kind`).
    public var kind: Kind
    /// The syscalls refused (denylist) or allowed (allowlist); a syscall named twice gets one rule.
    public var rules: [Rule]
    /// What every refused syscall gets.
    public var action: Action
    /// Refused by argument (denylists only: an allowlist refuses what it doesn't list).
    public var argumentRules: [ArgumentRule] = []

    /// What keeps Landlock's TCP port rules from being sidestepped, for
    /// `[sandbox] connect` and `bind = []`: TCP Fast Open sends data in the SYN
    /// through sendto/sendmsg (MSG_FASTOPEN) or TCP_FASTOPEN_CONNECT, and MPTCP
    /// sockets (IPPROTO_MPTCP) are outside Landlock's TCP rules (Linux 6.18);
    /// with no port allowed for bind, listen(2) on an unbound socket would still
    /// bind an ephemeral port. Numbers: x86_64/aarch64 Linux uapi.
    public static func networkGuard(connect: Bool, noBind: Bool) -> [ArgumentRule] {
        var out: [ArgumentRule] = []
        let msgFastOpen: UInt64 = 0x2000_0000, ipprotoMPTCP: UInt64 = 262, ipprotoTCP: UInt64 = 6
        let tcpFastOpenConnect: UInt64 = 30
        if connect {
            out.append(ArgumentRule("socket", [(2, .equals(ipprotoMPTCP))], why: "MPTCP sockets bypass the TCP port rules"))
            out.append(ArgumentRule("sendto", [(3, .hasBits(msgFastOpen))], why: "TCP Fast Open connects without connect(2)"))
            out.append(ArgumentRule("sendmsg", [(2, .hasBits(msgFastOpen))], why: "TCP Fast Open connects without connect(2)"))
            out.append(ArgumentRule("sendmmsg", [(3, .hasBits(msgFastOpen))], why: "TCP Fast Open connects without connect(2)"))
            out.append(ArgumentRule("setsockopt", [(1, .equals(ipprotoTCP)), (2, .equals(tcpFastOpenConnect))],
                                    why: "TCP_FASTOPEN_CONNECT connects without connect(2)"))
        }
        if noBind { out.append(ArgumentRule("listen", [], why: "listen(2) binds an unbound socket to an ephemeral port")) }
        return out
    }

    /// A policy without argument rules; refused syscalls get EPERM unless `action` says otherwise.
    public init(kind: Kind, rules: [Rule], action: Action = .errno) {
        self.kind = kind
        self.rules = rules
        self.action = action
    }

    /// Refused by `seccomp = "default"`: debugging other processes, kernel
    /// modules and kexec, BPF and perf, mounts and namespaces switches, the
    /// kernel keyring, userfaultfd, handle-based opens, raw I/O ports, swap,
    /// reboot, accounting and quotas. `unshare` stays allowed: many runtimes use it.
    public static let defaultDenylist: [String] = [
        "ptrace", "process_vm_readv", "process_vm_writev",
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
        "bpf", "perf_event_open",
        "mount", "umount2", "pivot_root", "setns",
        "swapon", "swapoff", "reboot",
        "keyctl", "add_key", "request_key",
        "userfaultfd", "open_by_handle_at", "name_to_handle_at",
        "iopl", "ioperm", "acct", "quotactl", "lookup_dcookie",
        // Newer ways around the rules above: another process's fds and memory
        // advice (like ptrace), the new mount API (usable in a user namespace),
        // and io_uring, whose operations bypass seccomp entirely.
        "pidfd_getfd", "process_madvise",
        "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
        "io_uring_setup", "io_uring_enter", "io_uring_register",
    ]

    /// What the launcher itself calls after the filter is loaded (hand over the
    /// no_exec listener, execve, or report a failure and exit). An allowlist
    /// always includes them, or no bot could ever start.
    public static let launcherSyscalls = ["seccomp", "sendmsg", "close", "execve", "write", "exit_group"]

    /// The default denylist plus `extra`, e.g. the profile's `[sandbox] deny`.
    public static func denylist(extra: [String] = [], origin: String = "[sandbox] deny",
                                action: Action = .errno, includeDefault: Bool = true) -> SeccompPolicy {
        let defaults = includeDefault ? defaultDenylist.map { Rule($0, origin: "the default denylist") } : []
        return SeccompPolicy(kind: .denylist, rules: defaults + extra.map { Rule($0, origin: origin) },
                             action: action)
    }

    /// The syscall number on this machine's native ABI, nil when libseccomp
    /// does not know the name or the syscall does not exist here.
    public static func syscallNumber(_ name: String) -> Int32? {
        let nr = seccomp_syscall_resolve_name(name)
        return nr >= 0 ? nr : nil
    }

    /// Whether this is `seccomp = "default"` with nothing added: the policy
    /// `BuiltInFilter` holds compiled.
    var isPlainDefault: Bool {
        kind == .denylist && action == .errno && argumentRules.isEmpty
            && rules.map(\.name) == Self.defaultDenylist && rules.allSatisfy { $0.origin == "the default denylist" }
    }

    /// The filter, as BPF for the fork child to load: the built-in program for
    /// the plain default (`BuiltInFilter`), else compiled by libseccomp now.
    /// Nothing is cached on disk.
    public func compile() throws(LaunchError) -> BPFProgram {
        if isPlainDefault, let builtIn = BuiltInFilter.defaultProgram { return builtIn }
        return try compileWithLibseccomp()
    }

    /// The filter compiled by libseccomp, whatever the policy.
    func compileWithLibseccomp() throws(LaunchError) -> BPFProgram {
        let deny = action == .errno ? rwk_scmp_act_errno(UInt16(EPERM)) : rwk_scmp_act_kill_process()
        let allow = rwk_scmp_act_allow()
        var named = rules
        if kind == .allowlist {
            named += Self.launcherSyscalls.map { Rule($0, origin: "the launcher's own syscalls") }
        }
        return try Filter.build(defaultAction: kind == .denylist ? allow : deny, badArch: deny,
                                rules: named.map { ($0, kind == .denylist ? deny : allow) },
                                argumentRules: kind == .denylist ? argumentRules : [], argumentAction: deny)
    }

    /// What the namespace's init may still do once it is readable to the bot
    /// (reload = "signal"): its loop (poll, read, recvmsg, send, wait, kill,
    /// dup3, close) and exit. Anything else kills it, so a bot that reached
    /// into it through /proc/PID/mem gains nothing it doesn't have.
    public static let initSyscalls = [
        "poll", "ppoll", "read", "recvmsg", "recvfrom", "sendmsg", "sendto", "wait4", "waitid", "kill",
        "dup3", "close", "exit", "exit_group", "rt_sigreturn", "restart_syscall",
        "prctl", "stat", "newfstatat",   // becoming dumpable, then refreshing its /proc entry
    ]

    /// The init's allowlist (see `initSyscalls`); everything else, and every foreign ABI, kills it.
    static func initFilter() throws(LaunchError) -> BPFProgram {
        let kill = rwk_scmp_act_kill_process()
        return try Filter.build(defaultAction: kill, badArch: kill,
                                rules: initSyscalls.map { (Rule($0, origin: "the init's own syscalls"), rwk_scmp_act_allow()) })
    }

    /// The no_exec filter: execve and execveat go to the supervisor's listener
    /// (see `ExecGuard`), everything else is allowed. Foreign ABIs get EPERM,
    /// so an x32 or i386 execve cannot slip past it even without a policy.
    static func execNotifyFilter() throws(LaunchError) -> BPFProgram {
        let notify = rwk_scmp_act_notify()
        return try Filter.build(defaultAction: rwk_scmp_act_allow(), badArch: rwk_scmp_act_errno(UInt16(EPERM)),
                                rules: ["execve", "execveat"].map { (Rule($0, origin: "no_exec"), notify) })
    }
}

/// libseccomp, from rules to exported BPF.
enum Filter {
    static func build(defaultAction: UInt32, badArch: UInt32, rules: [(SeccompPolicy.Rule, UInt32)],
                      argumentRules: [SeccompPolicy.ArgumentRule] = [], argumentAction: UInt32 = 0) throws(LaunchError) -> BPFProgram {
        guard let ctx = seccomp_init(defaultAction) else {
            throw .system(call: "seccomp_init", errno: EINVAL)
        }
        defer { seccomp_release(ctx) }
        try check("seccomp_attr_set(ACT_BADARCH)", seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, badArch))
        // The child sets no_new_privs itself, in its checklist.
        try check("seccomp_attr_set(CTL_NNP)", seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0))
        // A binary tree of syscall numbers, not a list (libseccomp >= 2.5): the
        // kernel runs the filter for every syscall number when it is loaded (to
        // fill its allow cache, under a lock with interrupts off), and again for
        // each uncached syscall the bot makes: about log2(n) comparisons, not n.
        try check("seccomp_attr_set(CTL_OPTIMIZE)", seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2))

        var seen = Set<Int32>()
        for (rule, action) in rules {
            let nr = seccomp_syscall_resolve_name(rule.name)
            if nr == __NR_SCMP_ERROR { throw .unknownSyscall(name: rule.name, origin: rule.origin) }
            guard seen.insert(nr).inserted else { continue }
            try check("seccomp_rule_add(\(rule.name))", rwk_seccomp_rule_add0(ctx, action, nr))
        }
        for rule in argumentRules {
            let nr = seccomp_syscall_resolve_name(rule.name)
            if nr == __NR_SCMP_ERROR { throw .unknownSyscall(name: rule.name, origin: "the [sandbox] connect/bind guard (\(rule.why))") }
            if seen.contains(nr) { continue }   // already refused outright
            var cmps = rule.conditions.map { (arg, cmp) -> scmp_arg_cmp in
                switch cmp {
                case .equals(let v): return scmp_arg_cmp(arg: UInt32(arg), op: SCMP_CMP_EQ, datum_a: v, datum_b: 0)
                case .hasBits(let m): return scmp_arg_cmp(arg: UInt32(arg), op: SCMP_CMP_MASKED_EQ, datum_a: m, datum_b: m)
                }
            }
            try check("seccomp_rule_add(\(rule.name), by argument)",
                      seccomp_rule_add_array(ctx, argumentAction, nr, UInt32(cmps.count), &cmps))
        }
        return try export(ctx)
    }

    /// libseccomp 2.5.4 can only export to an fd: through a memfd and back.
    private static func export(_ ctx: scmp_filter_ctx) throws(LaunchError) -> BPFProgram {
        let fd = try sys("memfd_create") { rwk_memfd_create("rwk-seccomp-bpf", RWK_MFD_CLOEXEC) }
        defer { close(fd) }
        try check("seccomp_export_bpf", seccomp_export_bpf(ctx, fd))
        try sys("lseek") { lseek(fd, 0, SEEK_SET) }
        let bytes: [UInt8]
        do { bytes = try RegularFile.readAll(fd, path: "the exported BPF", limit: 4096 * 8) } catch {
            switch error.reason {
            case .system(let call, let e): throw .system(call: "\(call) the exported BPF", errno: e)
            case .tooLarge(let limit): throw .system(call: "read the exported BPF (over \(limit) bytes)", errno: EFBIG)
            case .notRegular: throw .system(call: "read the exported BPF", errno: EINVAL)
            }
        }
        guard !bytes.isEmpty, bytes.count % 8 == 0 else {
            throw .system(call: "seccomp_export_bpf (\(bytes.count) bytes)", errno: EINVAL)
        }
        return BPFProgram(bytes: bytes)
    }

    /// libseccomp returns a negative errno.
    private static func check(_ call: String, _ rc: Int32) throws(LaunchError) {
        if rc < 0 { throw .system(call: call, errno: -rc) }
    }
}
