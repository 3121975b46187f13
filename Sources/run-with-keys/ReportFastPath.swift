import Glibc

/// `list` and `audit` without ArgumentParser, whose reflection costs about 2 ms at
/// every start (as `RunCommand.LaunchSettings.parse` does for the launch path):
/// `[GLOBAL OPTIONS] list|audit [--json] [GLOBAL OPTIONS] [--launch-log PATH]`.
/// Anything else (help, an unknown or malformed option, a positional, `--`) returns
/// nil and goes through ArgumentParser, which explains it. Both paths run the same
/// `ListCommand.run` / `AuditCommand.run`, so their output is the same bytes;
/// `RUN_WITH_KEYS_ARGUMENT_PARSER=1` turns the fast path off (the e2e test compares both).
struct ReportFastPath {
    enum Command { case list, audit }
    var command: Command
    var globals = Globals()
    var json = false
    var launchLog: String?

    /// Parses the command line as given: global options may come before the
    /// subcommand (what `reorderGlobalOptions` allows, without its cost).
    static func parse(_ args: [String]) -> ReportFastPath? {
        guard getenv("RUN_WITH_KEYS_ARGUMENT_PARSER") == nil else { return nil }
        var s = ReportFastPath(command: .list)
        var i = 0
        var seen: [String] = []  // a repeated option is ArgumentParser's to judge (an array: no Set<String> to instantiate)
        var subcommand: Command?
        while i < args.count {
            let a = args[i]
            if subcommand == nil && !a.hasPrefix("-") {
                switch a {
                case "list": subcommand = .list
                case "audit": subcommand = .audit
                default: return nil
                }
                i += 1
                continue
            }
            guard a.hasPrefix("--"), a != "--" else { return nil }
            if a == "--json" && subcommand != nil {
                guard !seen.contains(a) else { return nil }
                seen.append(a)
                s.json = true; i += 1; continue
            }
            guard let (name, value) = Globals.option(args, &i), !seen.contains(name) else { return nil }
            seen.append(name)
            if name == "--launch-log" && subcommand == .audit {
                s.launchLog = value
            } else if !s.globals.set(name, value) {
                return nil
            }
            i += 1
        }
        guard let subcommand else { return nil }
        s.command = subcommand
        return s
    }

    /// Runs the command; exits like the ArgumentParser path would (0, or what it throws).
    func run() throws -> Never {
        switch command {
        case .list: try ListCommand.run(globals, json: json)
        case .audit: try AuditCommand.run(globals, json: json, launchLog: launchLog)
        }
        exit(0)
    }
}
