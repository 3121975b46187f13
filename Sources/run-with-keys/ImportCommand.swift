import ArgumentParser
import Glibc
import Age
import Vault

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Encrypt an existing dotenv file into the vault (multi-line values kept).",
        discussion: "Each KEY=VALUE becomes the secret <prefix>KEY. `export` lines, comments and quoted multi-line values are understood; ${VAR} is not expanded.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The dotenv file.") var file: String
    @Option(help: ArgumentHelp("Prefix for the secret names, e.g. coinbase/.", valueName: "prefix"))
    var prefix: String = ""

    func run() throws {
        let (fd, e) = Sys.open(file, O_RDONLY)
        guard fd >= 0 else { throw CLIError("can't read \(file): \(Sys.errnoString(e))") }
        defer { close(fd) }
        let text = try Sys.readSecret(fd, what: file, limit: 16 << 20)
        let now = Clock.system.now()
        let prefix = self.prefix
        let names = try global.store().update(global.keyOptions()) { (doc: inout VaultDocument, _) throws(VaultError) -> [String] in
            var names: [String] = []
            try Dotenv.parse(text, warn: { Output.warning($0) }) { (key: String, value: consuming SecretBytes) throws(VaultError) in
                let name = prefix + key
                if value.count == 0 { Output.warning("skipped \(name): empty value"); return }
                try doc.set(name, value: value, now: now)
                names.append(name)
            }
            guard !names.isEmpty else { throw VaultError(.input, "\(file) holds no KEY=VALUE lines; nothing was imported") }
            return names
        }
        Output.info("imported \(names.count) secret\(names.count == 1 ? "" : "s"): \(names.joined(separator: ", "))")
        Output.info("hint: the plaintext file is still on disk; delete it: shred -u \(file)")
    }
}
