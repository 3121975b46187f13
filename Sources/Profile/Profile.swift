#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A validated profile: what to run, with which keys, under which limits. Built by `Profile.load`.
public struct Profile: Sendable, Equatable {
    /// The profile's name: the file's stem ("bot" for profiles/bot.toml) unless the caller gave
    /// another; "exec" for `exec`.
    public var name: String               // profile name (file stem)
    /// The profile file as given to `load` or `parse` (not made absolute); "<exec>" for `exec` without `--profile`.
    public var path: String               // file it came from
    /// The files merged into this profile: `path` first, then what it `extends`, the base last.
    public var layers: [String]
    /// Top-level `description`: free text that `check` shows; nil when unset.
    public var description: String?
    /// Top-level `command`: the argv, never split into words. A relative `command[0]` containing "/" (`~/`
    /// expanded) is resolved against the directory of the file that set it; a bare name is searched at launch
    /// in the child's PATH, or in /usr/local/bin:/usr/bin:/bin when the child has none.
    public var command: [String]          // non-empty; command[0] is a path or a name looked up in the child's PATH
    /// Top-level `workdir`: an absolute directory (`~/` expanded, a relative path resolved against the
    /// directory of the file that set it); nil: the caller's working directory.
    public var workdir: String?
    /// Top-level `user`: a name or a decimal uid (a TOML integer becomes its decimal string); nil: no privilege drop.
    public var user: String?              // privilege drop target (name or numeric uid)
    /// Top-level `group`: a group name or decimal gid. With `user` it replaces the user's primary group;
    /// alone (root only, as systemd's `Group=` without `User=`) the bot keeps our uid with it as its only group.
    public var group: String?             // defaults to the user's primary group (resolved by the launcher)
    /// Top-level `vault`: the vault file; apart from `~/`, as written (a relative path is not resolved against
    /// the profile's directory). `--vault` overrides it; nil: the default vault.
    public var vault: String?             // "~/" already expanded against $HOME
    /// A shell command (run as `/bin/sh -c`) that prints the age identity on stdout; an identity source
    /// tried after `--identity`, `RUN_WITH_KEYS_IDENTITY` and the systemd credential.
    public var identityCommand: String?   // top-level key `identity_command`
    /// `[env]`: what the child's environment holds besides the keys and templates.
    public var env: EnvSpec
    /// `[keys]`: the secrets injected, one entry per variable.
    public var keys: [KeySpec]            // in file order
    /// `[templates]`, in file order: config files rendered with secrets into sealed memfds.
    public var templates: [TemplateSpec] = []
    /// `[limits]`: rlimits the child sets before exec (setrlimit(2)), one per resource.
    public var limits: [LimitSpec]        // in file order; `core = 0` is appended when [limits] does not set it
    /// `[sandbox]`: seccomp, Landlock, capabilities, no_new_privs and the PID namespace.
    public var sandbox: SandboxSpec
    /// `[restart]`: restart policy, backoff, start limit, stopping and reload.
    public var restart: RestartSpec
    /// `[output]`: redaction of the bot's stdout and stderr.
    public var output: OutputSpec
    /// `[policy]`: the key-age and scope checks made at launch.
    public var policy: PolicySpec

    /// A profile of `command` alone, as if every other key were absent: an empty environment, no keys,
    /// `core = 0` and each section's defaults; `layers` is `[path]`. Nothing is checked.
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
    /// The variable's name; the parser accepts `[A-Za-z_][A-Za-z0-9_]*` and never `RUN_WITH_KEYS_*`.
    public var name: String
    /// The value, passed on as written.
    public var value: String
    /// A pair as given; nothing is checked.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The child's environment. Everything not inherited or set is cleared.
public struct EnvSpec: Sendable, Equatable {
    /// `[env] inherit`: variable names, each once; launch skips `CREDENTIALS_DIRECTORY` if it is listed.
    public var inherit: [String] = []     // names copied from run-with-keys' own environment, if present
    /// `[env] set`: fixed values, applied after `inherit` (a name in both gets this value).
    public var set: [EnvPair] = []        // in file order
    /// A spec as given; nothing is checked.
    public init(inherit: [String] = [], set: [EnvPair] = []) {
        self.inherit = inherit
        self.set = set
    }
}

/// One `[keys]` entry: a secret from the vault and how the bot receives it.
public struct KeySpec: Sendable, Equatable {
    /// Key `as`: how the bot receives the value: `"env"` (the default), `"file"`, or `"fd"` with `fd = N`.
    public enum Mode: Sendable, Equatable {
        case env          // the variable holds the value
        case file         // a sealed memfd; the variable holds /proc/self/fd/N (N chosen by the launcher;
                          // /proc/self/fd/3/N under reload = "signal")
        case fd(Int32)    // the value is readable on fd N (3...1023)
    }
    /// The environment variable: the `[keys]` entry's name.
    public var variable: String   // [A-Za-z_][A-Za-z0-9_]*
    /// The secret's name in the vault (`SecretName`).
    public var secret: String     // [A-Za-z0-9_./-]{1,128}
    /// How the value is delivered; `.env` unless the entry sets `as`.
    public var mode: Mode
    /// This key's maximum age, overriding `[policy] max_key_age`; nil: the policy's.
    public var maxAge: Milliseconds?   // per-key `max_age`

    /// A key as given; nothing is checked.
    public init(variable: String, secret: String, mode: Mode = .env, maxAge: Milliseconds? = nil) {
        self.variable = variable
        self.secret = secret
        self.mode = mode
        self.maxAge = maxAge
    }
}

/// A resource `[limits]` may set, by its TOML key: RLIMIT_ and the key in upper case (setrlimit(2)),
/// except `address_space` (RLIMIT_AS) and `processes` (RLIMIT_NPROC).
public enum LimitResource: String, Sendable, CaseIterable {
    /// RLIMIT_CORE (0 unless set), _NOFILE, _AS, _NPROC, _CPU (seconds), _FSIZE, _DATA, _STACK, _MEMLOCK.
    case core, nofile, addressSpace = "address_space", processes, cpu, fsize, data, stack, memlock
    /// RLIMIT_NICE (0-40), _RTPRIO (0-99), _SIGPENDING, _MSGQUEUE (bytes), _LOCKS, _RSS (bytes).
    case nice, rtprio, sigpending, msgqueue, locks, rss

    /// Resources measured in bytes, which accept "64K", "2G" and the like.
    public var isSize: Bool {
        switch self {
        case .addressSpace, .fsize, .data, .stack, .memlock, .rss, .msgqueue, .core: true
        default: false
        }
    }
}

/// One rlimit value: a number in the resource's unit (see `LimitSpec`), or `unlimited` (RLIM_INFINITY).
public enum LimitValue: Sendable, Equatable {
    /// RLIM_INFINITY: no limit (`"unlimited"` in the profile).
    case unlimited
    /// A finite limit: bytes for sizes, seconds for `cpu`, else a count or a priority (nice 0-40, rtprio 0-99).
    case value(UInt64)
}

/// One rlimit. For sizes the values are bytes; for `cpu`, seconds.
public struct LimitSpec: Sendable, Equatable {
    /// The limit, named by its `[limits]` key.
    public var resource: LimitResource
    /// The soft limit; the parser checks that it is at most `hard`.
    public var soft: LimitValue
    /// The hard limit; a single value in the profile sets soft and hard alike.
    public var hard: LimitValue
    /// A limit as given; `soft <= hard` is not checked.
    public init(resource: LimitResource, soft: LimitValue, hard: LimitValue) {
        self.resource = resource
        self.soft = soft
        self.hard = hard
    }
}

/// `[sandbox]`: how the bot is contained. Each property's initial value is the profile's default.
public struct SandboxSpec: Sendable, Equatable {
    /// Key `seccomp` (seccomp(2)): `default` is the built-in denylist with `deny` added and `allow` taken
    /// out; `none` installs no filter; a policy file is an allowlist (minijail-style, one syscall per line).
    public enum Seccomp: Sendable, Equatable {
        case `default`
        /// `seccomp = "none"`: no syscall filter (`deny` and `allow` are refused).
        case none
        case policyFile(String)   // relative paths are already resolved against the profile's directory
    }
    /// Key `action`: what a refused syscall gets: `errno` fails it with EPERM, `kill` kills the process
    /// (SIGSYS).
    public enum Action: String, Sendable, CaseIterable {
        /// `errno`: SECCOMP_RET_ERRNO with EPERM; `kill`: SECCOMP_RET_KILL_PROCESS (SIGSYS).
        case errno, kill
    }
    /// Key `seccomp`; default `.default`.
    public var seccomp: Seccomp = .default
    /// Key `deny`, each name once; libseccomp must know each name when the filter is compiled. Used with
    /// `seccomp = "default"` only (refused with "none" or a policy file).
    public var deny: [String] = []          // extra syscalls to refuse; shape-checked only ([a-z0-9_]+)
    /// Key `allow`: names taken off the default denylist and its argument rules, each once; libseccomp must
    /// know each. Used with `seccomp = "default"` only (refused with "none" or a policy file).
    public var allow: [String] = []         // syscalls removed from the default denylist
    /// Key `action`; default `.errno`.
    public var action: Action = .errno
    /// Every execve/execveat after the bot's own fails with EPERM (seccomp user notification); default false.
    public var noExec: Bool = false         // key no_exec
    /// PR_SET_NO_NEW_PRIVS (prctl(2)); default true. `false` is refused at launch while Landlock is in use, or while a
    /// seccomp filter is and the bot doesn't keep CAP_SYS_ADMIN.
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
        /// As `require` spells them: `Containment.Feature`'s raw values; `tree` is the PID namespace.
        case filesystem, network, signals, abstractSockets = "abstract-sockets", tree
    }
    /// One entry of `read`, `write` or `exec`: an absolute path that existed when
    /// the profile was read (`~/` expanded, relative paths resolved against the
    /// profile's directory), with where it was written for error messages.
    public struct AccessPath: Sendable, Equatable {
        /// The absolute path, as resolved when the profile was read.
        public var path: String
        /// The key that listed it, as a dotted path.
        public var key: String      // "sandbox.read", "sandbox.write", "sandbox.exec"
        /// The 1-based line of that key (not of the element) in the file that set it; nil when unknown.
        public var line: Int?
        /// An entry as given; nothing is checked.
        public init(path: String, key: String, line: Int? = nil) {
            self.path = path
            self.key = key
            self.line = line
        }
    }

    /// Key `filesystem`: the Landlock filesystem rules (landlock(7)); default `.hideKeys`.
    public var filesystem: Filesystem = .hideKeys
    /// Key `read`, without duplicates; refused unless `filesystem = "allowlist"`.
    public var read: [AccessPath] = []      // allowlist only: read files, list directories
    /// Key `write`, without duplicates; refused unless `filesystem = "allowlist"`.
    public var write: [AccessPath] = []     // allowlist only: read + write, create, remove, truncate, rename
    /// Key `exec`, without duplicates; refused unless `filesystem = "allowlist"`.
    public var exec: [AccessPath] = []      // allowlist only: read + execute
    /// TCP ports the bot may connect to; nil: unrestricted, []: none.
    public var connect: [UInt16]? = nil
    /// TCP ports the bot may bind; nil: unrestricted, []: none (port 0 included).
    public var bind: [UInt16]? = nil
    /// Key `signals`: Landlock's signal scoping (ABI 6); default `.scoped`.
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
    /// The defaults: the default seccomp denylist (EPERM), no_new_privs, a PID namespace, hide-keys, no
    /// port rules, scoped signals and abstract sockets, no capabilities.
    public init() {}
}

/// `[restart]`: whether the supervisor restarts the bot and when, how it stops it, what a reload does.
public struct RestartSpec: Sendable, Equatable {
    /// Key `policy`: `no` never restarts; `on-failure` restarts after an unclean exit (see
    /// `successExitCodes`); `always` after every exit.
    public enum Policy: String, Sendable, CaseIterable {
        /// As the key spells them; `on-failure` and `always` restart with the backoff, up to the start limit.
        case no, onFailure = "on-failure", always
    }
    /// What SIGHUP or a vault change does (only when the keys this profile uses changed).
    /// - "none": SIGHUP is forwarded to the bot; vault changes are ignored.
    /// - "restart": re-decrypt, stop the bot, start it with the new keys.
    /// - "signal": re-decrypt, put the new values into the bot's key files in
    ///   place (every key must be `as = "file"`), then send `reload_signal`.
    public enum Reload: String, Sendable, CaseIterable {
        /// As the key spells them; `signal` also needs every key `as = "file"`, no templates and a PID namespace.
        case none, restart, signal
    }
    /// Key `policy`; default `.no`.
    public var policy: Policy = .no
    /// Key `delay`: the backoff's first delay, doubled per short run in a row up to `maxDelay`, with equal
    /// jitter (a delay d becomes one in [d/2, d]); 0 restarts at once. Default 1 s.
    public var delay: Milliseconds = .seconds(1)
    /// Key `max_delay`: the backoff's cap, at least `delay`; default 60 s.
    public var maxDelay: Milliseconds = .seconds(60)
    /// Key `stable_after`: a run at least this long resets the backoff.
    public var stableAfter: Milliseconds? = nil      // nil means "= maxDelay"
    /// Key `burst`, at least 1: the start limit, with `interval`; once `burst` starts fall within
    /// `interval`, the supervisor gives up. Default 5.
    public var burst: Int = 5
    /// Key `interval`: the start limit's window, longer than 0; default 10 min.
    public var interval: Milliseconds = .seconds(600)
    /// Key `stop_signal`: the signal number sent to the bot's tree to stop it (a name or number in the
    /// profile); default SIGTERM.
    public var stopSignal: Int32 = SIGTERM
    /// Key `stop_timeout`: how long after `stopSignal` the tree gets SIGKILL; default 10 s.
    public var stopTimeout: Milliseconds = .seconds(10)
    /// Key `reload`; default `.none`.
    public var reload: Reload = .none
    /// Key `reload_signal`: what a bot with reload = "signal" gets once its key files hold new values.
    public var reloadSignal: Int32 = SIGHUP
    /// Exit codes (0...255) that count as a clean exit for `on-failure`, each once, 0 first.
    public var successExitCodes: [Int32] = [0]  // key success_exit_codes; always contains 0
    /// The defaults given on each property.
    public init() {}
}

/// `[output]`: what happens to the bot's stdout and stderr.
public struct OutputSpec: Sendable, Equatable {
    /// Key `redact`: the supervisor masks injected values in the bot's stdout and stderr as
    /// `[redacted:NAME]`; default true.
    public var redact: Bool = true
    /// The defaults: redaction on.
    public init() {}
}

/// `[policy]`: the key checks made at launch (`KeyPolicy`, in Hygiene).
public struct PolicySpec: Sendable, Equatable {
    /// Key `max_key_age`: a key last rotated (or created) longer ago than this is stale, unless it has its
    /// own `max_age`; nil: 90 days.
    public var maxKeyAge: Milliseconds? = nil
    /// Key `enforce_max_age`: true refuses to launch with a stale or expired key; false (the default) warns.
    public var enforceMaxAge: Bool = false
    /// Key `forbid_scopes`: scopes, compared case-insensitively, that no key the profile uses may have; such
    /// a key always stops the launch.
    public var forbidScopes: [String] = []
    /// The defaults: no `max_key_age`, warnings only, no forbidden scope.
    public init() {}
}
