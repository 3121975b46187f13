import ArgumentParser
import Vault
import Profile

struct SetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Add or replace a secret. The value comes from --from-file, piped stdin, or a no-echo prompt; never from argv.",
        discussion: """
            Setting an existing name records a rotation: `updated` changes, `created` stays. Piped stdin and \
            the prompt drop one trailing newline; --from-file keeps the file's bytes exactly (PEM keys).
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Secret name: 1-128 of A-Z a-z 0-9 _ . / -, e.g. coinbase/api-key.", completion: Completion.secrets)
    var name: String
    @Option(name: .customLong("from-file"), help: ArgumentHelp("Read the value from this file.", valueName: "file"))
    var fromFile: String?
    @Option(name: .customLong("scope"), help: ArgumentHelp("A permission the key has at its issuer (view, trade, withdraw…). Repeatable.", valueName: "scope"))
    var scopes: [String] = []
    @Option(help: ArgumentHelp("A note kept with the key (not secret).", valueName: "text"))
    var note: String?
    @Option(help: ArgumentHelp("When the key expires at its issuer: an RFC 3339 time, a duration from now (90d), or none.", valueName: "when"))
    var expires: String?

    func run() throws {
        try VaultDocument.validateName(name)
        let store = global.store()
        try store.requireExists()
        let now = Clock.system.now()
        let expiry = try Expiry.parse(expires, now: now)
        let value = try SecretInput.readNonEmptyValue(fromFile: fromFile, name: name)
        let existed = try store.update(global.keyOptions()) { (doc: inout VaultDocument, _) throws(VaultError) -> Bool in
            let existed = doc.secrets[name] != nil
            try doc.set(name, value: value, now: now, scopes: scopes.isEmpty ? nil : scopes, note: note)
            if let expiry { doc.secrets[name]!.expires = expiry.time }
            return existed
        }
        Output.info(existed ? "rotated \(name) (updated \(now))" : "added \(name)")
    }
}
