import ArgumentParser
import Glibc
import Logging
import Age
import Vault
import Profile
import Hygiene
import Launch
import Supervisor

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
    @Flag(name: .customLong("exec"), help: "Exec the bot in place, with no supervisor; an error if the profile needs one (see `check`).")
    var execInPlace = false
    @Argument(parsing: .postTerminator, help: "Extra arguments for the bot, after --.")
    var arguments: [String] = []

    func run() throws {
        try Self.launch(LaunchSettings(globals: global.plain, profile: which.profile, logFormat: logFormat,
                                       launchLog: launchLog, arguments: arguments, execInPlace: execInPlace))
    }

    /// What `run` needs, as plain values (filled by ArgumentParser or by `LaunchSettings.parse`).
    struct LaunchSettings {
        var globals: Globals
        var profile: String
        var logFormat: LogFormat = .text
        var launchLog: String?
        var arguments: [String] = []
        /// `--exec`: no supervisor, or an error saying which setting needs one.
        var execInPlace = false
    }

    static func launch(_ s: LaunchSettings) throws -> Never {
        let profile = try ProfileOptions.load(s.profile, s.globals)
        LaunchTiming.mark("profile")
        try launch(profile: profile, s)
    }

    /// Decrypts, builds the plan and supervises the bot until it is done: the one
    /// launch path, for `run` and for `exec` (whose profile is built in memory).
    /// `validate` sees the decrypted vault before the plan is built (exec's
    /// --env-file references are checked there, with their file and line).
    static func launch(profile: Profile, _ s: LaunchSettings,
                       validate: ((VaultDocument) throws -> Void)? = nil) throws -> Never {
        let global = s.globals
        // Decrypting, planning and spawning make no mprotect call per secret
        // access; the supervisor closes the window before it waits.
        GuardedMemory.openLaunchWindow()
        let prep = Preparation(global, profile: profile, launchLog: s.launchLog)
        prep.validate = validate
        let (plan, _) = try prep.plan(arguments: s.arguments)
        LaunchTiming.mark("plan")
        // A PID namespace taken without a probe, and the only reason for a
        // supervisor: probe now, so that run takes the path check shows.
        if !s.execInPlace && plan.treeAssumed && plan.supervisorReasons.count == 1 { plan.confirmTree() }
        if s.execInPlace || plan.supervisorReasons.isEmpty { try execInPlace(plan, s) }
        let logger = SupervisorLog.make(format: s.logFormat)
        var options = SupervisorOptions(logger: logger)
        let arguments = s.arguments
        options.reload = { try prep.plan(arguments: arguments).0 }
        options.watchVault = prep.store.givenPath   // the link itself when it is one (see Reload.watch)
        options.vaultStamp = prep.vaultStamp
        options.launchLog = LaunchLog(path: s.launchLog ?? global.homeDirectory + "/launches.log")
        options.runDirectory = global.homeDirectory + "/run"
        let supervisor: Supervisor
        do { supervisor = try Supervisor(plan: plan, options: options) } catch { throw CLIError("\(error)") }
        LaunchTiming.mark("supervisor setup")
        Glibc.exit(supervisor.run())
    }

    /// No supervisor: the start record, then the checklist and execve in this process.
    static func execInPlace(_ plan: LaunchPlan, _ s: LaunchSettings) throws -> Never {
        let refusals = plan.execInPlaceRefusals
        guard refusals.isEmpty else {
            throw CLIError("run --exec: profile \"\(plan.profile.name)\" needs a supervisor: " + refusals.joined(separator: "; "),
                           hints: ["run it without --exec, or set restart policy = \"no\", redact = false, reload = \"none\", no_exec = false"])
        }
        let log = LaunchLog(path: s.launchLog ?? s.globals.homeDirectory + "/launches.log")
        let record = LaunchRecord(time: Clock.system.now(), event: .start, profile: plan.supervision.profileName,
                                  keys: plan.secretNames, pid: getpid(), uid: plan.request.credentials?.uid ?? getuid(),
                                  status: nil, exitCode: nil, restarts: 0)
        do { try log.append(record) } catch { Output.warning("launch log: \(error)") }
        do { try plan.execInPlace() } catch { throw CLIError("\(error)", exitCode: error.exitCode) }
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
            if a == "--exec" {
                s.execInPlace = true
                i += 1
                continue
            }
            if !a.hasPrefix("-") {
                guard profile == nil else { return nil }
                profile = a
                i += 1
                continue
            }
            guard let (name, value) = Globals.option(args, &i),
                  Self.setShared(name, value, &s.globals, &s.logFormat, &s.launchLog) else { return nil }
            i += 1
        }
        guard let profile else { return nil }
        s.profile = profile
        return s
    }

    /// The options `run` and `exec` share on their fast paths: `--log-format`,
    /// `--launch-log` and the global ones. False for another name or a bad value.
    static func setShared(_ name: String, _ value: String, _ globals: inout Globals, _ logFormat: inout LogFormat,
                          _ launchLog: inout String?) -> Bool {
        switch name {
        case "--log-format":
            guard let f = LogFormat(rawValue: value) else { return false }
            logFormat = f
        case "--launch-log": launchLog = value
        default: return globals.set(name, value)
        }
        return true
    }
}
