import ArgumentParser
import Glibc
import Age
import Vault

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an identity (0600) and an empty vault; print the recipient.",
        discussion: """
            Writes <home>/identity.txt (unless it, or --identity, already exists) and <home>/vault.age \
            encrypted to that identity's recipient, which is printed on stdout. With --passphrase the vault \
            is encrypted with an scrypt passphrase instead, and no identity file is written.
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Encrypt the vault with a passphrase (age scrypt) instead of an identity file.")
    var passphrase = false

    func run() throws {
        let store = global.store()
        guard !Sys.exists(store.path) else {
            throw CLIError("a vault already exists at \(store.path)", hints: ["nothing was changed; add keys with `run-with-keys set NAME`, giving the vault's identity with --identity PATH if it is not \(global.keyOptions().defaultIdentityPath)"])
        }
        try Sys.makeDirectories(global.homeDirectory)
        let hadLockBefore = Sys.exists(store.lockPath)
        if passphrase {
            let pass = try KeySource.readPassphrase(global.keyOptions(), prompt: "New vault passphrase: ", confirm: true)
            do { try store.create(VaultDocument(), recipients: [ScryptRecipient(passphrase: pass)]) } catch {
                if !Sys.exists(store.path) && !hadLockBefore { unlink(store.lockPath) }
                throw error
            }
            Output.info("created passphrase-encrypted vault \(store.path)")
            return
        }
        let idPath = global.identity ?? global.keyOptions().defaultIdentityPath
        let recipient: X25519Recipient
        // On a failure (a full disk), leave nothing behind: no identity without a vault.
        var written: [String] = []
        let hadLock = Sys.exists(store.lockPath)
        var done = false
        defer {
            if !done {
                for p in written { unlink(p) }
                if !hadLock { unlink(store.lockPath) }
            }
        }
        if Sys.exists(idPath) {
            let key = try KeySource.identityKey(global.keyOptions())
            guard let r = key.ownRecipients.first else { throw CLIError("\(idPath) holds no X25519 identity") }
            recipient = r
            Output.info("using the existing identity \(idPath)")
        } else {
            let id = X25519Identity.generate()
            try writeIdentity(id, to: idPath)
            written.append(idPath)
            recipient = id.recipient
        }
        var doc = VaultDocument()
        doc.recipients = [recipient.description]
        try store.create(doc, recipients: [recipient])
        done = true
        if !written.isEmpty {
            Output.info("wrote identity \(idPath) (mode 0600); back it up: without it the vault can't be decrypted")
        }
        Output.info("created vault \(store.path)")
        Output.out(recipient.description + "\n")
    }

    /// age-keygen's format, written from guarded memory with O_EXCL and mode 0600.
    func writeIdentity(_ id: X25519Identity, to path: String) throws {
        try Sys.makeDirectories(Sys.directory(of: path))
        var text = SecretBuilder(capacity: 256)
        text.append("# created: \(Clock.system.now())\n# public key: \(id.recipient)\n")
        text.append(id.encoded())
        text.append("\n")
        let bytes = text.finish()
        let (fd, e) = Sys.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw CLIError("can't create \(path): \(Sys.errnoString(e))") }
        let werr = bytes.withUnsafeBytes { Sys.writeAll(fd, $0) }
        let serr = fsync(fd) == 0 ? 0 : errno
        close(fd)
        guard werr == 0 && serr == 0 else {
            unlink(path)
            throw CLIError("can't write \(path): \(Sys.errnoString(werr != 0 ? werr : serr))")
        }
        Sys.fsyncDirectory(of: path)
    }
}
