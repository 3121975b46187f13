import ArgumentParser
import Glibc
import Logging
import Age
import Vault
import Profile
import Hygiene
import Launch
import Supervisor

/// Options shared by `run` and `check`: which profile, and how to open its vault.
struct ProfileOptions: ParsableArguments {
    @Argument(help: "Profile name (<home>/profiles/NAME.toml, /etc/run-with-keys/profiles/NAME.toml) or a path.")
    var profile: String

    func load(_ global: GlobalOptions) throws -> Profile { try Self.load(profile, global.plain) }

    static func load(_ profile: String, _ global: Globals) throws -> Profile {
        let path = try ProfileLocator.resolve(profile, home: global.homeDirectory)
        return try Profile.load(path: path, home: global.homeDirectory)
    }
}

/// Opens the profile's vault and builds its launch plan; warns about stale keys.
final class Preparation {
    let profile: Profile
    let store: VaultStore
    let keys: KeyOptions
    /// The key that opened the vault the first time. Reloads reuse it: the
    /// supervisor's event loop must not prompt for a passphrase, read a spent
    /// --passphrase-fd, or wait on an identity command.
    var unlocked: UnlockedKey?
    /// What the bot may never open (filesystem = "hide-keys").
    var keyMaterial: [String]
    /// The vault file as it was just before the first decrypt.
    var vaultStamp: FileStamp?
    /// Checks on the decrypted vault before the plan is built (see `RunCommand.launch(profile:_:validate:)`).
    var validate: ((VaultDocument) throws -> Void)?
    private var warnedContainment = false

    convenience init(_ global: GlobalOptions, profile: Profile) { self.init(global.plain, profile: profile) }

    init(_ global: Globals, profile: Profile, launchLog: String? = nil) {
        self.profile = profile
        store = global.store(path: global.vault ?? profile.vault)
        keys = global.keyOptions(identityCommand: profile.identityCommand)
        keyMaterial = Self.keyMaterial(global, store: store, profile: profile, launchLog: launchLog)
    }

    /// Every identity source that could be used, the vault with its lock and temp
    /// file, run-with-keys' home (identity.txt, profiles, launch log, run files),
    /// $CREDENTIALS_DIRECTORY, an outside launch log, and the absolute paths named
    /// in the identity command.
    static func keyMaterial(_ global: Globals, store: VaultStore, profile: Profile, launchLog: String?) -> [String] {
        var paths = [global.homeDirectory, global.homeDirectory + "/identity.txt", store.path, store.lockPath, store.tempPath]
        if let p = global.identity { paths.append(p) }
        for name in ["RUN_WITH_KEYS_IDENTITY", "CREDENTIALS_DIRECTORY"] {
            if let p = Sys.getenv(name), !p.isEmpty { paths.append(p) }
        }
        if let log = launchLog { paths.append(log) }
        // A profile decides what the next launch runs and with which keys: a bot
        // that could rewrite one (or plant one where a name resolves) could have
        // itself started unsandboxed with every key. So the profile's own
        // directory and every directory a name resolves in are hidden too.
        // With `extends`, every file of the chain (`exec` without --profile has none: its path is "<exec>").
        for file in (profile.layers.isEmpty ? [profile.path] : profile.layers) where !file.hasPrefix("<") {
            paths.append(Sys.directory(of: Landlock.canonical(file)))
        }
        paths.append(Sys.directory(of: ProfileLocator.systemDirectory))
        let userHome = Sys.getenv("HOME") ?? "/root"
        let botUid = profile.user.flatMap { try? Credentials.resolveUid($0) } ?? geteuid()
        for command in [profile.identityCommand, Sys.getenv("RUN_WITH_KEYS_IDENTITY_COMMAND")] {
            if let command, !command.isEmpty {
                paths += Landlock.pathTokens(in: command, userHome: userHome, botUid: botUid)
            }
        }
        return paths
    }

    /// Decrypts, checks the key policy, builds the plan. Policy refusals are errors.
    func plan(arguments: [String], warn: Bool = true) throws -> (LaunchPlan, [KeyFinding]) {
        let doc: VaultDocument
        if let key = unlocked {
            doc = try store.open(with: key)
        } else {
            vaultStamp = FileStamp.of(store.path)   // before the decrypt: see SupervisorOptions.vaultStamp
            let (d, key) = try store.open(keys)
            doc = d
            unlocked = key
        }
        try validate?(doc)
        let now = Clock.system.now()
        let findings = KeyPolicy.check(profile, document: doc, now: now)
        if KeyPolicy.refuses(findings, profile: profile) {
            let first = findings.first { $0.alwaysRefuses || profile.policy.enforceMaxAge }!
            throw CLIError(first.description, hints: findings.map(\.remedy) + ["the profile's [policy] refuses to launch with this key"])
        }
        if warn { for f in findings { Output.warning("\(f.description); \(f.remedy)") } }
        let plan = try LaunchPlan.build(profile: profile, document: doc, now: now, arguments: arguments, keyMaterial: keyMaterial)
        if warn {   // values too short to redact: one line per key, one hint
            let short = RedactionPatterns.tooShort(in: plan)
            for s in short { Output.warning(RedactionPatterns.shortValueWarning(name: s.name, count: s.count)) }
            if !short.isEmpty { Output.hint(RedactionPatterns.shortValueHint) }
        }
        if !warnedContainment {   // once, not at every reload
            warnedContainment = true
            let required = profile.sandbox.require.compactMap { Containment.Feature(rawValue: $0.rawValue) }
            for w in plan.containment.warnings(required: required) {
                Output.warning(w.message)
                if let hint = w.hint { Output.hint(hint) }
            }
        }
        return (plan, findings)
    }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Launch and supervise a bot with the keys its profile names. `run-with-keys PROFILE` is the same.",
        discussion: """
            The bot gets an empty environment plus [env] inherit/set and its keys; rlimits, privilege drop, \
            no_new_privs and seccomp are applied before exec. Signals are forwarded; SIGTERM/SIGINT stop the \
            bot's whole process tree (SIGKILL after stop_timeout). Exit code: the bot's, 128+N for signal N, \
            125 when run-with-keys failed, 126/127 when the command can't be executed / isn't found.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var which: ProfileOptions
    @Option(name: .customLong("log-format"), help: "Supervisor log format on stderr: text or json.")
    var logFormat: LogFormat = .text
    @Option(name: .customLong("launch-log"), help: ArgumentHelp("Launch log (default: <home>/launches.log).", valueName: "path"))
    var launchLog: String?
    @Argument(parsing: .postTerminator, help: "Extra arguments for the bot, after --.")
    var arguments: [String] = []

    func run() throws {
        try Self.launch(LaunchSettings(globals: global.plain, profile: which.profile, logFormat: logFormat,
                                       launchLog: launchLog, arguments: arguments))
    }

    /// What `run` needs, as plain values (filled by ArgumentParser or by `LaunchSettings.parse`).
    struct LaunchSettings {
        var globals: Globals
        var profile: String
        var logFormat: LogFormat = .text
        var launchLog: String?
        var arguments: [String] = []
    }

    static func launch(_ s: LaunchSettings) throws -> Never {
        try launch(profile: ProfileOptions.load(s.profile, s.globals), s)
    }

    /// Decrypts, builds the plan and supervises the bot until it is done: the one
    /// launch path, for `run` and for `exec` (whose profile is built in memory).
    /// `validate` sees the decrypted vault before the plan is built (exec's
    /// --env-file references are checked there, with their file and line).
    static func launch(profile: Profile, _ s: LaunchSettings,
                       validate: ((VaultDocument) throws -> Void)? = nil) throws -> Never {
        let global = s.globals
        let prep = Preparation(global, profile: profile, launchLog: s.launchLog)
        prep.validate = validate
        let (plan, _) = try prep.plan(arguments: s.arguments)
        let logger = SupervisorLog.make(format: s.logFormat)
        var options = SupervisorOptions(logger: logger)
        let arguments = s.arguments
        options.reload = { try prep.plan(arguments: arguments).0 }
        options.watchVault = prep.store.path
        options.vaultStamp = prep.vaultStamp
        options.launchLog = LaunchLog(path: s.launchLog ?? global.homeDirectory + "/launches.log")
        options.runDirectory = global.homeDirectory + "/run"
        let supervisor: Supervisor
        do { supervisor = try Supervisor(plan: plan, options: options) } catch { throw CLIError("\(error)") }
        Glibc.exit(supervisor.run())
    }
}

extension RunCommand.LaunchSettings {
    /// The launch path without ArgumentParser, whose reflection costs about 2 ms at
    /// every start: `[run] PROFILE [options] [-- ARGS…]` with only the options `run`
    /// knows. Anything else (help, version, an unknown or malformed option, a second
    /// positional) returns nil and goes through ArgumentParser, which explains it.
    static func parse(_ args: [String]) -> RunCommand.LaunchSettings? {
        var s = RunCommand.LaunchSettings(globals: Globals(), profile: "")
        var i = args.first == "run" ? 1 : 0
        var profile: String?
        while i < args.count {
            let a = args[i]
            if a == "--" { s.arguments = Array(args[(i + 1)...]); break }
            if !a.hasPrefix("-") {
                guard profile == nil else { return nil }
                profile = a
                i += 1
                continue
            }
            let parts = a.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let value: String
            if parts.count == 2 {
                value = parts[1]
            } else {
                guard i + 1 < args.count else { return nil }
                i += 1
                value = args[i]
            }
            switch parts[0] {
            case "--home": s.globals.home = value
            case "--vault": s.globals.vault = value
            case "--identity": s.globals.identity = value
            case "--passphrase-fd":
                guard let fd = Int32(value) else { return nil }
                s.globals.passphraseFD = fd
            case "--lock-timeout":
                guard let t = Double(value), t.isFinite, t >= 0, t <= 86_400 else { return nil }
                s.globals.lockTimeout = t
            case "--log-format":
                guard let f = LogFormat(rawValue: value) else { return nil }
                s.logFormat = f
            case "--launch-log": s.launchLog = value
            default: return nil
            }
            i += 1
        }
        guard let profile else { return nil }
        s.profile = profile
        return s
    }
}
