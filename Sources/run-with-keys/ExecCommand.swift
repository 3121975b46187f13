import Common
import ArgumentParser
import Glibc
import Age
import Vault
import Profile

/// `run-with-keys exec [OPTIONS] -- CMD [ARGS…]`: an ad-hoc run with no profile.
///
/// The options become an in-memory `Profile` (name "exec", path "<exec>", or the
/// path of `--profile`), which goes through the same preparation, plan and
/// supervisor as `run`: same injection, sandbox defaults, redaction, exit codes
/// and key-age policy. No restart.
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command with the keys named on the command line or in an env file, without a profile.",
        discussion: """
            --key VAR=NAME puts the secret NAME in the variable VAR; --file VAR=NAME hands it over as a sealed \
            memfd whose path VAR holds (and {file:VAR} in the command becomes); so does --template VAR=PATH \
            with a config template whose {{ rwk://NAME }} references are replaced. In an --env-file, a value \
            rwk://NAME refers to the secret NAME and any other value is passed as it is: such a file holds no \
            secret. The command gets only these plus the --inherit variables (default PATH, LANG, TZ, TERM, HOME, \
            USER). --profile NAME takes the sandbox, limits, policy, output, user/group/workdir and vault from a \
            profile; the command, keys and environment still come from here. Exit codes as for `run`.
            """)

    /// What the command inherits when no --inherit is given.
    static let defaultInherit = ["PATH", "LANG", "TZ", "TERM", "HOME", "USER"]

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("key"), help: ArgumentHelp("Put the secret NAME in the environment variable VAR (repeatable).", valueName: "VAR=NAME"))
    var keys: [String] = []
    @Option(name: .customLong("file"), help: ArgumentHelp("Hand the secret NAME over as a sealed memfd whose path VAR holds (repeatable).", valueName: "VAR=NAME"))
    var files: [String] = []
    @Option(name: .customLong("env-file"), help: ArgumentHelp("A dotenv file: rwk://NAME values are secrets, others plain settings (repeatable).", valueName: "file"))
    var envFiles: [String] = []
    @Option(name: .customLong("template"), help: ArgumentHelp("Render the config template PATH ({{ rwk://NAME }} references) into a sealed memfd whose path VAR holds (repeatable).", valueName: "VAR=PATH"))
    var templates: [String] = []
    @Option(name: .customLong("inherit"), help: ArgumentHelp("A variable the command inherits (repeatable; default PATH LANG TZ TERM HOME USER).", valueName: "VAR"))
    var inherit: [String] = []
    @Option(name: .customLong("profile"), help: ArgumentHelp("Take the sandbox, limits, policy and vault from this profile.", valueName: "name"),
            completion: Completion.profiles)
    var profile: String?
    @Option(name: .customLong("log-format"), help: "Supervisor log format on stderr: text or json.")
    var logFormat: LogFormat = .text
    @Option(name: .customLong("launch-log"), help: ArgumentHelp("Launch log (default: <home>/launches.log).", valueName: "path"))
    var launchLog: String?
    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    /// Where a secret reference came from, for the error when the vault lacks it.
    struct Reference {
        var secret: String
        var origin: String   // "--key A=k" or "app.env line 3"
    }

    /// The parsed command line: what `run()` hands to `launch`, and what the
    /// fast path (`Settings.parse`) builds without swift-argument-parser.
    struct Settings {
        var globals = Globals()
        var keys: [String] = []
        var files: [String] = []
        var envFiles: [String] = []
        var templates: [String] = []
        var inherit: [String] = []
        var profile: String?
        var logFormat: LogFormat = .text
        var launchLog: String?
        var command: [String] = []

        /// `exec [OPTIONS] -- CMD …` on the launch path, where argument-parser's
        /// reflection costs about 2 ms: the options above and the global ones,
        /// as `--opt value` or `--opt=value`. Anything else (help, a typo, a
        /// missing `--`) returns nil, and argument-parser parses it with its
        /// usual messages. `RUN_WITH_KEYS_ARGUMENT_PARSER=1` turns it off, as for
        /// `ReportFastPath` (the e2e test runs both).
        static func parse(_ args: [String]) -> Settings? {
            guard args.first == "exec", getenv("RUN_WITH_KEYS_ARGUMENT_PARSER") == nil else { return nil }
            var s = Settings()
            var i = 1
            while i < args.count {
                if args[i] == "--" {
                    s.command = Array(args[(i + 1)...])
                    return s.command.isEmpty ? nil : s
                }
                let at = i
                guard args[i].hasPrefix("--"), let (name, value) = Globals.option(args, &i) else { return nil }
                if i > at && value.hasPrefix("-") { return nil }   // `--key --file`: argument-parser's "missing value"
                switch name {
                case "--key": s.keys.append(value)
                case "--file": s.files.append(value)
                case "--env-file": s.envFiles.append(value)
                case "--template": s.templates.append(value)
                case "--inherit": s.inherit.append(value)
                case "--profile": s.profile = value
                default:
                    guard RunCommand.LaunchSettings.setShared(name, value, &s.globals, &s.logFormat, &s.launchLog) else { return nil }
                }
                i += 1
            }
            return nil
        }
    }

    func run() throws {
        try Self.launch(Settings(globals: global.plain, keys: keys, files: files, envFiles: envFiles, templates: templates,
                                 inherit: inherit, profile: profile, logFormat: logFormat, launchLog: launchLog, command: command))
    }

    static func launch(_ s: Settings) throws -> Never {
        guard let program = s.command.first, !program.isEmpty else {
            throw CLIError("exec needs a command", hints: ["run-with-keys exec --key API_KEY=exchange/key -- ./bot --live"])
        }
        let global = s.globals
        let base = try s.profile.map { try ProfileOptions.load($0, global) }
        var p = Profile(name: "exec", path: base?.path ?? "<exec>", command: s.command)
        if let b = base {
            p.workdir = b.workdir; p.user = b.user; p.group = b.group
            p.vault = b.vault; p.identityCommand = b.identityCommand
            p.limits = b.limits; p.sandbox = b.sandbox; p.output = b.output; p.policy = b.policy
        }
        var references: [Reference] = []
        var seen: [String: String] = [:]   // variable → where it was given
        func claim(_ variable: String, _ origin: String) throws {
            if let first = seen[variable] {
                throw CLIError("\(origin): \(variable) is already given by \(first)", hints: ["give each variable once"])
            }
            seen[variable] = origin
        }
        for (option, mode, list) in [("--key", KeySpec.Mode.env, s.keys), ("--file", KeySpec.Mode.file, s.files)] {
            for pair in list {
                let origin = "\(option) \(pair)"
                let (variable, secret) = try Self.split(pair, option: option)
                try claim(variable, origin)
                p.keys.append(KeySpec(variable: variable, secret: secret, mode: mode))
                references.append(Reference(secret: secret, origin: origin))
            }
        }
        for file in s.envFiles {
            for entry in try Self.readEnvFile(file) {
                let origin = "\(file) line \(entry.line)"
                try claim(entry.variable, origin)
                if let secret = entry.secret {
                    p.keys.append(KeySpec(variable: entry.variable, secret: secret))
                    references.append(Reference(secret: secret, origin: origin))
                } else {
                    p.env.set.append(EnvPair(name: entry.variable, value: entry.value))
                }
            }
        }
        for pair in s.templates {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                throw CLIError("--template \(pair): expected VAR=PATH", hints: ["e.g. --template CONFIG=config.json.tmpl"])
            }
            try Self.checkVariable(parts[0], origin: "--template \(pair)")
            try claim(parts[0], "--template \(pair)")
            p.templates.append(try TemplateSpec.load(variable: parts[0], source: parts[1]))
        }
        for name in s.inherit {
            guard Profile.isVariableName(name), !name.hasPrefix("RUN_WITH_KEYS_") else {
                throw CLIError("--inherit \(name): not a variable that can be passed to the command",
                               hints: ["variable names are letters, digits and _; RUN_WITH_KEYS_* never reach the command"])
            }
        }
        p.env.inherit = (s.inherit.isEmpty ? Self.defaultInherit : s.inherit).filter { seen[$0] == nil }
        let refs = references
        try RunCommand.launch(profile: p, RunCommand.LaunchSettings(globals: global, profile: p.name, logFormat: s.logFormat,
                                                                   launchLog: s.launchLog, arguments: [])) { doc in
            let missing = refs.filter { doc.secrets[$0.secret] == nil }
            guard let first = missing.first else { return }
            throw CLIError("\(first.origin): the vault has no secret \"\(first.secret)\""
                           + (missing.count > 1 ? " (and \(missing.count - 1) more missing: "
                              + missing.dropFirst().map { "\($0.origin): \($0.secret)" }.joined(separator: ", ") + ")" : ""),
                           hints: ["add it with `run-with-keys set \(first.secret)`, or fix the name; `run-with-keys list` shows the names"])
        }
    }

    /// `VAR=NAME`, both checked.
    static func split(_ pair: String, option: String) throws -> (String, String) {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else {
            throw CLIError("\(option) \(SecretName.isValid(pair) ? pair : "…"): expected VAR=NAME", hints: ["e.g. \(option) API_KEY=exchange/key"])
        }
        try checkVariable(parts[0], origin: "\(option) \(parts[0])=…")
        guard SecretName.isValid(parts[1]) else {   // never echoed whole: it may be a value
            throw CLIError("\(option) \(parts[0])=…: bad secret name, \(SecretName.describeInvalid(parts[1]))",
                           hints: ["secret names are \(SecretName.rule); values are never given on the command line"])
        }
        return (parts[0], parts[1])
    }

    static func checkVariable(_ name: String, origin: String) throws {
        guard Profile.isVariableName(name) else {
            throw CLIError("\(origin): bad variable name \"\(name)\"",
                           hints: ["variable names are letters, digits and _, and do not start with a digit"])
        }
        guard !name.hasPrefix("RUN_WITH_KEYS_") else {
            throw CLIError("\(origin): \(name) cannot be passed to the command",
                           hints: ["RUN_WITH_KEYS_* variables configure run-with-keys itself and never reach the child"])
        }
    }

    /// Reads a dotenv file with the same parser as `import` (see `EnvFile`). The file holds no
    /// secret (references only), so plain values may become Strings.
    static func readEnvFile(_ file: String) throws -> [EnvFile.Entry] {
        let fd: Int32
        do { fd = try RegularFile.open(file).fd } catch {
            throw CLIError(error.description, hints: [error.hint ?? "check the --env-file path"])
        }
        defer { close(fd) }
        let text = try Sys.readSecret(fd, what: file, limit: 1 << 20)
        let entries: [EnvFile.Entry]
        do {
            entries = try EnvFile.parse(text, warn: { Output.warning("\(file): \($0)") })
        } catch {
            throw CLIError("\(file): \(error.message)", hints: error.hints)
        }
        for entry in entries {
            try checkVariable(entry.variable, origin: "\(file) line \(entry.line)")
            if let secret = entry.secret, !SecretName.isValid(secret) {
                throw CLIError("\(file) line \(entry.line): bad secret name after rwk://, \(SecretName.describeInvalid(secret))",
                               hints: ["secret names are \(SecretName.rule)"])
            }
        }
        return entries
    }
}
