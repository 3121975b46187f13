import ArgumentParser
import Glibc
import Common
import Age
import Vault
import Profile
import Launch
import CSys

struct RunWithKeys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-with-keys",
        abstract: "Run a bot with its API keys, decrypted from an age vault and injected only into the bot.",
        discussion: """
            Exit codes: the bot's own code; 128+N when the bot died of signal N; 125 when run-with-keys \
            itself failed before the bot ran; 126 when the bot can't be executed; 127 when it is not found.
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, ExecCommand.self, CheckCommand.self, InitCommand.self, SetCommand.self, ImportCommand.self,
                      ListCommand.self, RemoveCommand.self, RotateCommand.self, RecipientsCommand.self, AuditCommand.self, DemoCommand.self],
        defaultSubcommand: RunCommand.self)

    /// The names of `configuration.subcommands` and "help", as literals: the
    /// launch path tells a subcommand from a profile name without building
    /// ArgumentParser's configuration (every command's metadata, about 0.1 ms).
    /// tests/e2e/test_cli_conventions.py checks them against `--help`.
    static let subcommandNames: [String] = ["run", "exec", "check", "init", "set", "import", "list", "rm", "rotate",
                                            "recipients", "audit", "demo", "help"]
}

/// Global options may come before the subcommand (`run-with-keys --home DIR list`).
/// ArgumentParser only knows them after it, so move them there.
func reorderGlobalOptions(_ args: [String]) -> [String] {
    guard let first = args.first, first.hasPrefix("--") else { return args }   // the usual case
    let withValue = ["--home", "--vault", "--identity", "--passphrase-fd", "--lock-timeout"]
    var leading: [String] = []
    var i = 0
    while i < args.count {
        let a = args[i]
        let name = String(a.split(separator: "=", maxSplits: 1).first ?? "")
        guard withValue.contains(name) else { break }
        leading.append(a)
        if !a.contains("=") && i + 1 < args.count { leading.append(args[i + 1]); i += 1 }
        i += 1
    }
    guard !leading.isEmpty, i < args.count, args[i] != "help", RunWithKeys.subcommandNames.contains(args[i]) else { return args }
    // `recipients add …`: keep a nested subcommand name next to its parent.
    var head = [args[i]]
    if args[i] == "recipients", i + 1 < args.count, ["list", "add", "rm"].contains(args[i + 1]) {
        head.append(args[i + 1]); i += 1
    }
    return head + leading + Array(args[(i + 1)...])
}

/// `run-with-keys PROFILE …` and `run-with-keys run PROFILE …` are the launch path,
/// where every millisecond is overhead on the bot's start (see LaunchSettings.parse).
func isLaunch(_ args: [String]) -> Bool {
    guard let first = args.first else { return false }
    if first == "run" { return true }
    return !first.hasPrefix("-") && !RunWithKeys.subcommandNames.contains(first)
}

/// Entry point: parse, run, and turn every failure into one `run-with-keys: error:` line.
func runMain() -> Never {
    LaunchTiming.mark("main")
    // No core dumps and not dumpable since before the Swift runtime started: a
    // constructor in CSys (rwk_proc.c, rwk_protect_process).
    var args = Array(CommandLine.arguments.dropFirst())
    do {
        // `list` and `audit` first: they need neither the reordering nor ArgumentParser.
        if let report = ReportFastPath.parse(args) { try report.run() }
        args = reorderGlobalOptions(args)
        if isLaunch(args), let settings = RunCommand.LaunchSettings.parse(args) { try RunCommand.launch(settings) }
        if let settings = ExecCommand.Settings.parse(args) { try ExecCommand.launch(settings) }
        if args.isEmpty { Output.out(RunWithKeys.helpMessage() + "\n"); exit(0) }   // bare: usage, exit 0
        try UsageErrors.checkHelpTopic(args)
        var command = try RunWithKeys.parseAsRoot(args)
        try command.run()
        exit(0)
    } catch let e as ExitCode {
        exit(e.rawValue)
    } catch let e as UserFacingError {   // every module's errors: Common/UserFacingError.swift
        var hints = e.hints
        if let p = e as? ProfileError, p.kind == .notFound, let h = UsageErrors.subcommandHint(args, home: UsageErrors.home(args)) {
            hints.insert(h, at: 0)   // `run-with-keys lsit`
        }
        Output.error(e.message, hints: hints)
        exit(e.exitCode)
    } catch {
        let code = RunWithKeys.exitCode(for: error)
        if code == .success || RunWithKeys.fullMessage(for: error).hasPrefix("OVERVIEW") || "\(type(of: error))" == "CleanExit" {
            RunWithKeys.exit(withError: error)
        }
        let e = UsageErrors.describe(RunWithKeys.message(for: error), args: args,
                                     home: UsageErrors.home(args))
        Output.error(e.message, hints: e.hints)
        exit(e.exitCode)
    }
}

runMain()
