import ArgumentParser
import Glibc
import Age
import Vault
import Profile

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Encrypt an existing dotenv file into the vault (multi-line values kept); optionally write a profile.",
        discussion: """
            Each KEY=VALUE becomes the secret <prefix>KEY. `export` lines, comments, quoted multi-line values and \
            a UTF-8 byte-order mark are understood; ${VAR} is not expanded. FILE `-` reads stdin. \
            With --profile NAME, <home>/profiles/NAME.toml (0600) is written: it injects every imported secret \
            (KEY = "<prefix>KEY") and puts plain settings (booleans, integers of up to 6 digits, log levels, \
            and *_LEVEL/*_PORT/*_HOST/*_URL/*_ENV/*_MODE/*_REGION values without @ ? #, unless the name holds a \
            credential word such as KEY, SECRET, TOKEN or PASS) into [env] set instead of the vault; \
            --all-secrets stores those as secrets too. The command after -- becomes the profile's command.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The dotenv file, or - for stdin.") var file: String
    @Option(help: ArgumentHelp("Prefix for the secret names, e.g. coinbase/.", valueName: "prefix"))
    var prefix: String = ""
    @Option(help: ArgumentHelp("Also write <home>/profiles/NAME.toml that injects what was imported.", valueName: "name"))
    var profile: String?
    @Flag(name: .customLong("all-secrets"), help: "With --profile: store plain settings as secrets too.")
    var allSecrets = false
    @Flag(help: "With --profile: replace an existing profile of that name.")
    var force = false
    @Argument(parsing: .postTerminator, help: "With --profile: the bot's command, after --.")
    var command: [String] = []

    func validate() throws {
        if profile == nil {
            if allSecrets { throw ValidationError("--all-secrets needs --profile NAME") }
            if force { throw ValidationError("--force needs --profile NAME") }
            if !command.isEmpty { throw ValidationError("a command after -- needs --profile NAME") }
        }
    }

    /// The dotenv file's bytes, in guarded memory.
    func readInput() throws -> SecretBytes {
        if file == "-" { return try Sys.readSecret(0, what: "stdin", limit: 16 << 20) }
        let fd = try Sys.openInput(file)
        defer { close(fd) }
        return try Sys.readSecret(fd, what: file, limit: 16 << 20)
    }

    func run() throws {
        let fromStdin = file == "-"
        let what = fromStdin ? "stdin" : file
        let text = try readInput()
        let prefix = self.prefix
        let classify = profile != nil && !allSecrets

        // Pass 1: the keys in order of first appearance; the last value of each counts (as in python-dotenv):
        // empty (skipped), a plain setting (with --profile), or a secret.
        var order: [String] = []
        var plain: [String: String] = [:]
        var empty: Set<String> = []
        var warnings: [String] = []
        try Dotenv.parse(text, warn: { warnings.append($0) }) { (key: String, value: consuming SecretBytes) throws(VaultError) in
            if !order.contains(key) { order.append(key) }
            plain[key] = nil
            empty.remove(key)
            if value.count == 0 { empty.insert(key); return }
            if classify, let setting = value.withUnsafeBytes({ PlainSetting.classify(key: key, value: $0) }) { plain[key] = setting }
        }
        for w in warnings { Output.warning(w) }
        let secretKeys = order.filter { plain[$0] == nil && !empty.contains($0) }
        let settings = order.compactMap { k in plain[k].map { (k, $0) } }
        guard !secretKeys.isEmpty || !settings.isEmpty else {
            throw CLIError("\(what) holds no KEY=VALUE lines; nothing was imported")
        }
        for name in secretKeys {   // before anything changes: a bad --prefix changes nothing
            do { try VaultDocument.validateName(prefix + name) } catch { throw CLIError(error) }
        }

        // The profile is written to a temporary file before the vault changes, and renamed into place after.
        var staged: GeneratedProfile?
        var skipped: [String] = []
        if let name = profile {
            var p = try GeneratedProfile.prepare(name: name, home: global.homeDirectory, force: force)
            do {
                skipped = try p.write(secrets: secretKeys.map { ($0, prefix + $0) }, settings: settings,
                                      command: command, source: fromStdin ? "-" : file, prefix: prefix)
            } catch { p.discard(); throw error }
            staged = p
        }
        let now = Clock.system.now()
        var added: [String] = [], updated: [String] = []
        do {
            if !secretKeys.isEmpty {
                (added, updated) = try global.store().update(global.keyOptions()) { (doc: inout VaultDocument, _) throws(VaultError) -> ([String], [String]) in
                    let existing = Set(doc.secrets.keys)
                    let wanted = Set(secretKeys)
                    try Dotenv.parse(text) { (key: String, value: consuming SecretBytes) throws(VaultError) in
                        guard wanted.contains(key) else { return }
                        try doc.set(prefix + key, value: value, now: now)
                    }
                    return (secretKeys.filter { !existing.contains(prefix + $0) }.map { prefix + $0 },
                            secretKeys.filter { existing.contains(prefix + $0) }.map { prefix + $0 })
                }
            } else {
                try global.store().requireExists()
            }
            try staged?.commit()
        } catch {
            staged?.discard()
            throw error
        }
        for key in order where empty.contains(key) { Output.warning("skipped \(prefix + key): empty value") }
        let count = added.count + updated.count
        var parts: [String] = []
        if !added.isEmpty { parts.append("added \(added.joined(separator: ", "))") }
        if !updated.isEmpty { parts.append("updated \(updated.joined(separator: ", "))") }
        Output.info("imported \(count) secret\(count == 1 ? "" : "s")" + (parts.isEmpty ? "" : ": " + parts.joined(separator: "; ")))
        if let staged {
            for k in skipped {
                Output.warning("\(k) is not a variable name (letters, digits, _), so the profile does not inject it; the secret \(prefix + k) is in the vault")
            }
            if !settings.isEmpty {
                Output.info("plain settings, in the profile's [env] set and not in the vault: \(settings.map(\.0).joined(separator: ", ")) (--all-secrets stores them as secrets)")
            }
            Output.info("wrote profile \(staged.path)" + (command.isEmpty
                ? "; it has no command yet: uncomment and edit its command line, then run-with-keys check \(staged.name)"
                : "; check it: run-with-keys check \(staged.name)"))
        }
        if !fromStdin {
            Output.info("hint: the plaintext file is still on disk; delete it: shred -u \(file)")
        }
    }
}
