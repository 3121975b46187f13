import Glibc

/// `target` in the child becomes a copy of `source` in the parent.
public struct FdMapping: Sendable, Equatable {
    /// Our fd; the spawn leaves it open (the caller closes it).
    public var source: Int32
    /// The fd number it gets in the child: not negative, and used by no other mapping or set stdio fd.
    public var target: Int32
    /// Seek `source` to 0 before forking: a memfd handed down shares the
    /// parent's file offset, so a second spawn would otherwise read nothing.
    public var rewind: Bool

    /// Maps our `source` to the child's `target`; `rewind`: seek `source` to 0 before each spawn.
    public init(_ source: Int32, to target: Int32, rewind: Bool = false) {
        self.source = source
        self.target = target
        self.rewind = rewind
    }
}

/// One setrlimit in the child.
public struct ResourceLimit: Sendable, Equatable {
    /// Linux's RLIMIT_* numbers.
    public enum Resource: Int32, Sendable, CaseIterable {
        /// RLIMIT_CPU = 0, _FSIZE, _DATA, _STACK, _CORE, _RSS, _NPROC, _NOFILE, RLIMIT_MEMLOCK = 8 (setrlimit(2)).
        case cpu = 0, fileSize, data, stack, core, rss, processes, openFiles, lockedMemory
        /// RLIMIT_AS = 9, _LOCKS, _SIGPENDING, _MSGQUEUE, _NICE, _RTPRIO, RLIMIT_RTTIME = 15.
        case addressSpace, locks, pendingSignals, messageQueue, nice, realtimePriority, realtimeTimeout

        /// The C name, e.g. `RLIMIT_NOFILE`, for messages.
        public var name: String {
            ["CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK", "AS",
             "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"].map { "RLIMIT_" + $0 }[Int(rawValue)]
        }
    }

    /// RLIM_INFINITY: no limit (setrlimit(2)).
    public static let unlimited = UInt64.max

    /// Which RLIMIT_* to set.
    public var resource: Resource
    /// The soft limit, in the resource's unit (setrlimit(2)); `unlimited` for none.
    public var soft: UInt64
    /// The hard limit, the soft one's ceiling; `unlimited` for none.
    public var hard: UInt64

    /// Both limits as given: setrlimit(2) refuses a soft limit above the hard one (EINVAL).
    public init(_ resource: Resource, soft: UInt64, hard: UInt64) {
        self.resource = resource
        self.soft = soft
        self.hard = hard
    }

    /// The same value as the soft and the hard limit.
    public init(_ resource: Resource, _ both: UInt64) { self.init(resource, soft: both, hard: both) }
}

/// The identity the child switches to (needs root).
public struct Credentials: Sendable, Equatable {
    /// The user id the child switches to (setuid(2)).
    public var uid: uid_t
    /// Its primary group id (setgid(2)).
    public var gid: gid_t
    /// Its supplementary group ids (setgroups(2)), set before the gid and the uid.
    public var groups: [gid_t]

    /// Memberwise; `resolveUser` builds one from a user name or uid.
    public init(uid: uid_t, gid: gid_t, groups: [gid_t]) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }
}

/// Everything the fork child needs, built in the parent. The environment is
/// not part of it: it holds secrets and is passed to `spawn` as pointers into
/// the caller's guarded memory.
public struct SpawnRequest: Sendable {
    /// How the child joins sessions and process groups (setsid(2), setpgid(2)).
    public enum Session: Sendable {
        /// Stay in our session and process group; a new session (setsid(2)); a new process group only (setpgid(2)).
        case inherit, newSession, newProcessGroup
        /// A new process group in our session that takes `controllingTerminal`'s
        /// foreground (the bot then owns the terminal as if the shell ran it).
        case foregroundProcessGroup
    }

    /// A path (contains "/") or a name looked up in the child environment's PATH.
    public var executable: String
    /// argv, argv[0] included.
    public var arguments: [String]
    /// The directory the child chdir(2)s to, after the privilege drop; nil keeps ours.
    public var workdir: String?
    /// nil: the child inherits the parent's 0, 1, 2.
    public var stdin: Int32?
    /// Our fd that becomes the child's stdout; nil: it inherits our 1.
    public var stdout: Int32?
    /// Our fd that becomes the child's stderr; nil: it inherits our 2.
    public var stderr: Int32?
    /// Extra fds for the child (memfds with secrets, sockets …); any other fd is closed at exec.
    public var fds: [FdMapping] = []
    /// setrlimit(2) calls the child makes, in order, before the privilege drop.
    public var limits: [ResourceLimit] = []
    /// The ids the child switches to; nil keeps ours.
    public var credentials: Credentials?
    /// no_new_privs (prctl(2) PR_SET_NO_NEW_PRIVS), set before Landlock and seccomp; default true.
    /// Landlock needs it; without it, loading a seccomp filter needs CAP_SYS_ADMIN (seccomp(2)).
    public var noNewPrivileges = true
    /// The capabilities(7) the bot keeps, bit N for capability N (`Capability.mask`);
    /// 0 keeps none. The rest leave the effective, permitted, inheritable and
    /// ambient sets, and, without no_new_privs, the bounding set.
    public var capabilities: UInt64 = 0
    /// The filter the child loads after Landlock (seccomp(2)); nil: none.
    public var seccomp: BPFProgram?
    /// A Landlock ruleset fd (owned by the caller, e.g. the `LaunchPlan`) the child
    /// enforces with landlock_restrict_self(2) right after no_new_privs; nil: none.
    public var landlock: Int32?
    /// Refuse every execve/execveat after the bot's own (the spawn returns an `ExecGuard`).
    public var noExec = false
    /// How the child joins sessions and process groups; default: a new session (setsid(2)).
    public var session: Session = .newSession
    /// A pty slave to make the controlling terminal (`.newSession`), or our
    /// terminal whose foreground the bot takes (`.foregroundProcessGroup`).
    public var controllingTerminal: Int32?
    /// Sent to the child when the spawning thread exits (prctl PR_SET_PDEATHSIG).
    public var parentDeathSignal: Int32?
    /// How the bot's process tree is kept from outliving us (see `TreeMode`).
    public var tree: TreeMode = .none
    /// reload = "signal" (needs `tree`): sealed memfds the namespace's init
    /// holds as its fds 3, 4, … (the bot opens them by path, see
    /// `keyDirectoryTarget`); a reload swaps in new ones.
    public var initFds: [Int32] = []
    /// reload = "signal": the bot's fd for an O_PATH handle on the init's
    /// /proc/PID/fd; key i is at /proc/self/fd/<this>/<3+i>.
    public var keyDirectoryTarget: Int32?

    /// A request with every option at its default; `arguments` is the whole argv (nil: `[executable]`).
    public init(executable: String, arguments: [String]? = nil) {
        self.executable = executable
        self.arguments = arguments ?? [executable]
    }
}

/// How a spawn contains the bot's process tree.
///
/// With a namespace, our child is the PID 1 of a new PID namespace: a small C
/// init that reaps and dies with us; when it dies the kernel SIGKILLs every
/// process of the namespace (pid_namespaces(7), "The namespace init process").
/// Under `.pidNamespace` the init outlives the bot (`TreeInit.persistent`):
/// we start each bot into its namespace as our own child, PID 2 inside at the
/// first start. Under `.userNamespace`, or with init fds, the init forks the
/// bot and ends with it. The bot's pid in our namespace is `SpawnedProcess.pid`.
public enum TreeMode: Sendable, Equatable {
    /// The bot is our child; only the parent-death signal and the subreaper's
    /// bookkeeping keep its tree in check.
    case none
    /// `clone(CLONE_NEWPID)`: needs CAP_SYS_ADMIN (root).
    case pidNamespace
    /// `clone(CLONE_NEWUSER|CLONE_NEWPID)`, mapping our own uid and gid: no
    /// privilege needed where the host allows user namespaces.
    case userNamespace
}
