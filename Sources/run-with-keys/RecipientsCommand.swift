import ArgumentParser
import Age
import Vault

struct RecipientsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipients",
        abstract: "List, add or remove the age recipients the vault is encrypted to (e.g. laptop + server).",
        subcommands: [List.self, Add.self, Remove.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Print the vault's recipients.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let (doc, key) = try global.store().open(global.keyOptions())
            if key.isPassphrase { Output.info("the vault is encrypted with a passphrase; it has no recipients"); return }
            let list = doc.recipientList(openedWith: key)
            Output.out(list.map { $0 + "\n" }.joined())
        }
    }

    /// What `add` and `rm` take: the global options and one recipient.
    struct Target: ParsableArguments {
        @OptionGroup var global: GlobalOptions
        @Argument(help: "An age1… recipient.") var recipient: String
        func parsed() throws -> X25519Recipient { try X25519Recipient(parsing: recipient) }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a recipient and re-encrypt the vault.")
        @OptionGroup var target: Target
        func run() throws {
            let r = try target.parsed(), global = target.global
            try global.store().update(global.keyOptions()) { (doc: inout VaultDocument, key: UnlockedKey) throws(VaultError) in
                guard !key.isPassphrase else {
                    throw VaultError(.input, "a passphrase vault can't have recipients",
                                     hints: ["create an identity-based vault with `run-with-keys init` and move the keys"])
                }
                doc.recipients = doc.recipientList(openedWith: key)
                guard !doc.recipients.contains(r.description) else {
                    throw VaultError(.input, "\(r) is already a recipient; nothing was changed")
                }
                doc.recipients.append(r.description)
            }
            Output.info("added \(r); the vault is re-encrypted")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a recipient and re-encrypt the vault.")
        @OptionGroup var target: Target
        func run() throws {
            let r = try target.parsed(), global = target.global
            let wasOwn = try global.store().update(global.keyOptions()) { (doc: inout VaultDocument, key: UnlockedKey) throws(VaultError) -> Bool in
                doc.recipients = doc.recipientList(openedWith: key)
                guard let i = doc.recipients.firstIndex(of: r.description) else {
                    throw VaultError(.input, "\(r) is not a recipient of this vault", hints: ["`run-with-keys recipients list` shows them"])
                }
                guard doc.recipients.count > 1 else {
                    throw VaultError(.input, "refusing to remove the last recipient: nobody could decrypt the vault")
                }
                doc.recipients.remove(at: i)
                return key.ownRecipients.contains(r)
            }
            Output.info("removed \(r); the vault is re-encrypted")
            if wasOwn { Output.warning("that was the recipient of the identity you used: it can no longer decrypt the vault") }
        }
    }
}
