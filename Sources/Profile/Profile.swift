#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A validated profile: what to run, with which keys, under which limits. Built by `Profile.load`.
public struct Profile: Sendable, Equatable {
    public var name: String               // profile name (file stem)
    public var path: String               // file it came from
    /// The files merged into this profile: `path` first, then what it `extends`, the base last.
    public var layers: [String]
    public var description: String?
    public var command: [String]          // non-empty; command[0] is a path or a name looked up in the child's PATH
    public var workdir: String?
    public var user: String?              // privilege drop target (name or numeric uid)
    public var group: String?             // defaults to the user's primary group (resolved by the launcher)
    public var vault: String?             // "~/" already expanded against $HOME
    public var identityCommand: String?   // top-level key `identity_command`
    public var env: EnvSpec
    public var keys: [KeySpec]            // in file order
    /// `[templates]`, in file order: config files rendered with secrets into sealed memfds.
    public var templates: [TemplateSpec] = []
    public var limits: [LimitSpec]        // in file order; `core = 0` is appended when [limits] does not set it
    public var sandbox: SandboxSpec
    public var restart: RestartSpec
    public var output: OutputSpec
    public var policy: PolicySpec

    public init(name: String, path: String, command: [String]) {
        self.name = name
        self.path = path
        self.layers = [path]
        self.command = command
        self.env = EnvSpec()
        self.keys = []
        self.limits = [LimitSpec(resource: .core, soft: .value(0), hard: .value(0))]
        self.sandbox = SandboxSpec()
        self.restart = RestartSpec()
        self.output = OutputSpec()
        self.policy = PolicySpec()
    }
}

/// One `[env] set` entry.
public struct EnvPair: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The child's environment. Everything not inherited or set is cleared.
public struct EnvSpec: Sendable, Equatable {
    public var inherit: [String] = []     // names copied from run-with-keys' own environment, if present
    public var set: [EnvPair] = []        // in file order
    public init(inherit: [String] = [], set: [EnvPair] = []) {
        self.inherit = inherit
        self.set = set
    }
}

/// One `[keys]` entry: a secret from the vault and how the bot receives it.
public struct KeySpec: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case env          // the variable holds the value
        case file         // a sealed memfd; the variable holds /proc/self/fd/N (N chosen by the launcher)
        case fd(Int32)    // the value is readable on fd N (3...1023)
    }
    public var variable: String   // [A-Za-z_][A-Za-z0-9_]*
    public var secret: String     // [A-Za-z0-9_./-]{1,128}
    public var mode: Mode
    public var maxAge: Milliseconds?   // per-key `max_age`

    public init(variable: String, secret: String, mode: Mode = .env, maxAge: Milliseconds? = nil) {
        self.variable = variable
        self.secret = secret
        self.mode = mode
        self.maxAge = maxAge
    }
}

public enum LimitResource: String, Sendable, CaseIterable {
    case core, nofile, addressSpace = "address_space", processes, cpu, fsize, data, stack, memlock
    case nice, rtprio, sigpending, msgqueue, locks, rss

    /// Resources measured in bytes, which accept "64K", "2G" and the like.
    public var isSize: Bool {
        switch self {
        case .addressSpace, .fsize, .data, .stack, .memlock, .rss, .msgqueue, .core: true
        default: false
        }
    }
}

public enum LimitValue: Sendable, Equatable {
    case unlimited
    case value(UInt64)
}

/// One rlimit. For sizes the values are bytes; for `cpu`, seconds.
public struct LimitSpec: Sendable, Equatable {
    public var resource: LimitResource
    public var soft: LimitValue
    public var hard: LimitValue
    public init(resource: LimitResource, soft: LimitValue, hard: LimitValue) {
        self.resource = resource
        self.soft = soft
        self.hard = hard
    }
}

public struct SandboxSpec: Sendable, Equatable {
    public enum Seccomp: Sendable, Equatable {
        case `default`
        case none
        case policyFile(String)   // relative paths are already resolved against the profile's directory
    }
    public enum Action: String, Sendable, CaseIterable {
        case errno, kill
    }
    public var seccomp: Seccomp = .default
    public var deny: [String] = []          // extra syscalls to refuse; shape-checked only ([a-z0-9_]+)
    public var allow: [String] = []         // syscalls removed from the default denylist
    public var action: Action = .errno
    public var noExec: Bool = false         // key no_exec
    public var noNewPrivileges: Bool = true // key no_new_privileges
    /// Key `pid_namespace`: run the bot as PID 2 of its own PID namespace, whose
    /// init dies with the supervisor, so that nothing the bot starts outlives it.
    public var pidNamespace: Bool = true

    /// `filesystem`: what the Landlock filesystem rules allow.
    public enum Filesystem: String, Sendable, CaseIterable {
        /// Everything except the key material (identity, vault, run-with-keys' home, credentials).
        case hideKeys = "hide-keys"
        /// Only the `read`, `write` and `exec` paths.
        case allowlist
        /// No filesystem rules.
        case off
    }
    /// `signals` and `abstract_sockets`: "scoped" keeps the bot from signalling
    /// processes outside its Landlock domain, or from connecting to abstract Unix
    /// sockets made outside it (Landlock's IPC scoping, ABI 6).
    public enum Scope: String, Sendable, CaseIterable { case scoped, off }
    /// A protection that `require` may insist on.
    public enum Protection: String, Sendable, CaseIterable {
        case filesystem, network, signals, abstractSockets = "abstract-sockets", tree
    }
    /// One entry of `read`, `write` or `exec`: an absolute path that existed when
    /// the profile was read (`~/` expanded, relative paths resolved against the
    /// profile's directory), with where it was written for error messages.
    public struct AccessPath: Sendable, Equatable {
        public var path: String
        public var key: String      // "sandbox.read", "sandbox.write", "sandbox.exec"
        public var line: Int?
        public init(path: String, key: String, line: Int? = nil) {
            self.path = path
            self.key = key
            self.line = line
        }
    }

    public var filesystem: Filesystem = .hideKeys
    public var read: [AccessPath] = []      // allowlist only: read files, list directories
    public var write: [AccessPath] = []     // allowlist only: read + write, create, remove, truncate, rename
    public var exec: [AccessPath] = []      // allowlist only: read + execute
    /// TCP ports the bot may connect to; nil: unrestricted, []: none.
    public var connect: [UInt16]? = nil
    /// TCP ports the bot may bind; nil: unrestricted, []: none (port 0 included).
    public var bind: [UInt16]? = nil
    public var signals: Scope = .scoped
    /// Key `abstract_sockets`: connecting to an abstract Unix socket (unix(7)) made
    /// outside the bot's sandbox; they have no path for the filesystem rules to guard.
    public var abstractSockets: Scope = .scoped
    /// Protections that must be active; a missing one stops the launch.
    public var require: [Protection] = []
    /// Key `capabilities`: what the bot keeps of run-with-keys' capabilities (all
    /// of root's when it runs as root); none by default. A bot of its own user
    /// keeps them as ambient capabilities.
    public var capabilities: [Capability] = []
    public init() {}
}

public struct RestartSpec: Sendable, Equatable {
    public enum Policy: String, Sendable, CaseIterable {
        case no, onFailure = "on-failure", always
    }
    /// What SIGHUP or a vault change does (only when the keys this profile uses changed).
    /// - "none": SIGHUP is forwarded to the bot; vault changes are ignored.
    /// - "restart": re-decrypt, stop the bot, start it with the new keys.
    /// - "signal": re-decrypt, put the new values into the bot's key files in
    ///   place (every key must be `as = "file"`), then send `reload_signal`.
    public enum Reload: String, Sendable, CaseIterable {
        case none, restart, signal
    }
    public var policy: Policy = .no
    public var delay: Milliseconds = .seconds(1)
    public var maxDelay: Milliseconds = .seconds(60)
    public var stableAfter: Milliseconds? = nil      // nil means "= maxDelay"
    public var burst: Int = 5
    public var interval: Milliseconds = .seconds(600)
    public var stopSignal: Int32 = SIGTERM
    public var stopTimeout: Milliseconds = .seconds(10)
    public var reload: Reload = .none
    /// Key `reload_signal`: what a bot with reload = "signal" gets once its key files hold new values.
    public var reloadSignal: Int32 = SIGHUP
    public var successExitCodes: [Int32] = [0]  // key success_exit_codes; always contains 0
    public init() {}
}

public struct OutputSpec: Sendable, Equatable {
    public var redact: Bool = true
    public init() {}
}

public struct PolicySpec: Sendable, Equatable {
    public var maxKeyAge: Milliseconds? = nil
    public var enforceMaxAge: Bool = false
    public var forbidScopes: [String] = []
    public init() {}
}
