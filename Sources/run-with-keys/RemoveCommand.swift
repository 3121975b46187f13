import ArgumentParser
import Vault

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a secret.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Secret name.", completion: Completion.secrets) var name: String

    func run() throws {
        try VaultDocument.validateName(name)
        try global.store().update(global.keyOptions()) { (doc: inout VaultDocument, _) throws(VaultError) in
            guard doc.secrets.removeValue(forKey: name) != nil else {
                throw VaultError(.unknownName, "no secret named \"\(name)\"", hints: ["`run-with-keys list` shows the names"])
            }
        }
        Output.info("removed \(name)")
    }
}
