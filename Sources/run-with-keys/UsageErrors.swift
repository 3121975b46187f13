import ArgumentParser
import Profile

/// Command-line mistakes, turned into one `run-with-keys: error:` line plus a did-you-mean hint
/// (`Suggest`). Exit code 125, as for every failure of run-with-keys itself, so that it can't be
/// taken for a code of the bot's. All of this runs only after something went wrong: never on the
/// launch path.
enum UsageErrors {
    /// The options of the launch path that take a value: the global ones (as in `reorderGlobalOptions`)
    /// and `run`'s own (as in `LaunchSettings.parse`).
    static let valueOptions: Set<String> = ["--home", "--vault", "--identity", "--passphrase-fd", "--lock-timeout",
                                            "--log-format", "--launch-log"]

    /// The words that aren't options or option values, in order.
    static func positionals(_ args: [String]) -> [String] {
        var out: [String] = [], i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" { break }
            if a.hasPrefix("-") {
                if valueOptions.contains(a) { i += 1 }
            } else {
                out.append(a)
            }
            i += 1
        }
        return out
    }

    /// run-with-keys' home for `args`: `--home DIR` if given, else the default (`Globals`).
    static func home(_ args: [String]) -> String {
        var g = Globals()
        for (i, a) in args.enumerated() {
            if a == "--" { break }
            if a.hasPrefix("--home=") { g.home = String(a.dropFirst(7)) }
            if a == "--home", i + 1 < args.count { g.home = args[i + 1] }
        }
        return g.homeDirectory
    }

    static func subcommandNames(of command: ParsableCommand.Type) -> [String] {
        command.configuration.subcommands.map { $0._commandName }
    }

    /// The command that `args` name and the words that name it (`recipients add`); with no
    /// subcommand, `run` and no words (it is the default).
    static func command(for args: [String]) -> (type: ParsableCommand.Type, path: [String]) {
        var type: ParsableCommand.Type = RunWithKeys.self, path: [String] = []
        for word in positionals(args) {
            guard let sub = type.configuration.subcommands.first(where: { $0._commandName == word }) else { break }
            type = sub
            path.append(word)
        }
        return (type == RunWithKeys.self ? RunCommand.self : type, path)
    }

    /// `did you mean "list"?` when the first word, taken as a profile name that was not found,
    /// is close to a subcommand (`run-with-keys lsit`). Nil after an explicit `run`, for a path,
    /// for a real subcommand, and when a profile by that name exists.
    static func subcommandHint(_ args: [String], home: String) -> String? {
        guard let word = positionals(args).first, !word.contains("/"), !word.hasSuffix(".toml"),
              !subcommandNames(of: RunWithKeys.self).contains(word), word != "help",
              (try? ProfileLocator.resolve(word, home: home)) == nil else { return nil }
        return Suggest.hint(Suggest.closest(to: word, in: subcommandNames(of: RunWithKeys.self) + ["help"]))
    }

    /// `help TOPIC…` must name commands: `help nosuch` is an error, not the overview.
    /// - Throws: `CLIError` (exit 125) naming the first word that is not a subcommand.
    static func checkHelpTopic(_ args: [String]) throws {
        guard args.first == "help" else { return }
        var type: ParsableCommand.Type = RunWithKeys.self
        for word in args.dropFirst() where !word.hasPrefix("-") {
            let names = subcommandNames(of: type)
            guard let sub = type.configuration.subcommands.first(where: { $0._commandName == word }) else {
                let path = type == RunWithKeys.self ? "" : type._commandName + " "
                throw CLIError("no command \"\(path)\(word)\"",
                               hints: [Suggest.hint(Suggest.closest(to: word, in: names)),
                                       "commands: " + names.joined(separator: ", ")].compactMap { $0 })
            }
            type = sub
        }
    }

    /// ArgumentParser's error message for `args`, as our one error line and hints.
    /// Unknown options get our own did-you-mean over the options of the command they were given to.
    static func describe(_ message: String, args: [String], home: String) -> CLIError {
        let (command, path) = command(for: args)
        let helpHint = "see `" + (["run-with-keys"] + path + ["--help"]).joined(separator: " ") + "`"
        if let word = positionals(args).first, let hint = subcommandHint(args, home: home) {
            return CLIError("profile \"\(word)\" not found", hints: [hint, helpHint])
        }
        var text = message.split(separator: "\n").first.map(String.init) ?? message
        if text.hasPrefix("Error: ") { text.removeFirst(7) }
        if text.hasPrefix("Unexpected argument") {
            // Not echoed: after `set NAME` or `rotate NAME` it is most likely the value.
            return CLIError("unexpected argument (not shown, as it may be a secret value)",
                            hints: ["values are read from stdin or a hidden prompt, never from the command line", helpHint])
        }
        if text.hasPrefix("Unknown option '"), let option = text.dropFirst(16).split(separator: "'").first.map(String.init) {
            let options = longOptions(in: RunWithKeys.helpMessage(for: command, columns: 1000))
            return CLIError("unknown option \"\(option)\"",
                            hints: [Suggest.hint(Suggest.closestOption(to: option, in: options)), helpHint].compactMap { $0 })
        }
        return CLIError(text.prefix(1).lowercased() + text.dropFirst(), hints: [helpHint])
    }

    /// The `--long` options a help text mentions.
    static func longOptions(in help: String) -> [String] {
        var out: [String] = []
        var rest = Substring(help)
        while let r = rest.firstRange(of: "--") {
            let name = rest[r.lowerBound...].prefix { $0 == "-" || $0.isLetter || $0.isNumber }
            if name.count > 2, !out.contains(String(name)) { out.append(String(name)) }
            rest = rest[r.upperBound...].drop { $0 == "-" || $0.isLetter || $0.isNumber }
        }
        return out
    }
}
