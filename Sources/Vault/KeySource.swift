import Glibc
import Age

/// Where the vault's key comes from (docs/ARCHITECTURE.md, "The vault and its key"), first match wins:
/// 1. `--identity PATH`; 2. `RUN_WITH_KEYS_IDENTITY`; 3. `$CREDENTIALS_DIRECTORY/run-with-keys.identity`;
/// 4. the profile's `identity_command` or `RUN_WITH_KEYS_IDENTITY_COMMAND`; 5. `<home>/identity.txt`;
/// 6. for a passphrase vault, `--passphrase-fd N` or a prompt on /dev/tty.
public struct KeyOptions: Sendable {
    /// The run-with-keys home directory (`--home`, `RUN_WITH_KEYS_HOME`, …), where `identity.txt` is looked for.
    public var home: String
    /// `--identity PATH` (source 1); nil when not given.
    public var identityPath: String?
    /// `--passphrase-fd N`: read to EOF (over 4096 bytes is an error), the passphrase is the first line; the
    /// fd is not closed. nil: prompt on /dev/tty.
    public var passphraseFD: Int32?
    /// The profile's `identity_command` (source 4), run as `/bin/sh -c`; nil or empty when none.
    public var identityCommand: String?
    /// Looks up an environment variable (`RUN_WITH_KEYS_IDENTITY`, `CREDENTIALS_DIRECTORY`,
    /// `RUN_WITH_KEYS_IDENTITY_COMMAND`, the command timeout); nil when unset. Replaceable for tests.
    public var environment: @Sendable (String) -> String?
    /// False where nobody may be asked and nothing may wait (shell completion): a passphrase
    /// vault without `passphraseFD` is then an error instead of a prompt on /dev/tty, and an
    /// identity that names a pipe is refused instead of waited for.
    public var mayPrompt = true

    /// Options for the sources given on the command line or in the profile; the others are read through
    /// `environment` (default: the process environment).
    public init(home: String, identityPath: String? = nil, passphraseFD: Int32? = nil, identityCommand: String? = nil,
                environment: @escaping @Sendable (String) -> String? = { Sys.getenv($0) }) {
        self.home = home
        self.identityPath = identityPath
        self.passphraseFD = passphraseFD
        self.identityCommand = identityCommand
        self.environment = environment
    }

    /// `<home>/identity.txt` (source 5).
    public var defaultIdentityPath: String { home + "/identity.txt" }
}

/// The key that opened a vault, and how to encrypt it again.
public final class UnlockedKey {
    /// The identities to try, in order: those of the identity file (one per `AGE-SECRET-KEY-1…` line), or
    /// one `ScryptIdentity` for a passphrase vault.
    public let identities: [any Identity]
    /// For people: "--identity /path", "RUN_WITH_KEYS_IDENTITY_COMMAND", "the passphrase".
    public let source: String
    /// Set when the vault is passphrase-encrypted: new versions use the same passphrase.
    let passphraseRecipient: ScryptRecipient?
    /// How many X25519 stanzas the vault's header had.
    public internal(set) var headerStanzas = 0

    init(identities: [any Identity], source: String, passphraseRecipient: ScryptRecipient? = nil) {
        self.identities = identities
        self.source = source
        self.passphraseRecipient = passphraseRecipient
    }

    /// True when the vault was opened with a passphrase (scrypt): new versions are encrypted with it again.
    public var isPassphrase: Bool { passphraseRecipient != nil }

    /// The recipients of the X25519 identities (what `recipients` falls back to).
    public var ownRecipients: [X25519Recipient] { identities.compactMap { ($0 as? X25519Identity)?.recipient } }
}

/// Finds and loads the vault's key from the sources listed on `KeyOptions`.
public enum KeySource {
    /// Resolves the key for a vault whose header is `header`.
    /// `vault` names the vault for the "no identity" error: when it exists, `init` is no help.
    public static func unlock(for header: Header, options: KeyOptions, vault: String? = nil) throws(VaultError) -> UnlockedKey {
        if header.stanzas.count == 1 && header.stanzas[0].type == "scrypt" {
            let pass = try readPassphrase(options, prompt: "Vault passphrase: ")
            let copy = pass.slice(0..<pass.count)
            return UnlockedKey(identities: [ScryptIdentity(passphrase: pass)], source: "the passphrase",
                               passphraseRecipient: ScryptRecipient(passphrase: copy))
        }
        return try identityKey(options, vault: vault)
    }

    /// The first identity source that is present, loaded.
    /// `vault`: the existing vault it is for, if any (see ``unlock(for:options:vault:)``).
    /// `--identity` and `RUN_WITH_KEYS_IDENTITY` may name a pipe (`<(…)`, `/dev/stdin`);
    /// the other sources must be regular files, and so must these when `options.mayPrompt` is false.
    public static func identityKey(_ options: KeyOptions, vault: String? = nil) throws(VaultError) -> UnlockedKey {
        if let p = options.identityPath { return try fromFile(p, source: "--identity \(p)", allowPipe: options.mayPrompt, warn: options.mayPrompt) }
        if let p = options.environment("RUN_WITH_KEYS_IDENTITY"), !p.isEmpty {
            return try fromFile(p, source: "RUN_WITH_KEYS_IDENTITY (\(p))", allowPipe: options.mayPrompt, warn: options.mayPrompt)
        }
        if let dir = options.environment("CREDENTIALS_DIRECTORY"), !dir.isEmpty, Sys.exists(dir + "/run-with-keys.identity") {
            let p = dir + "/run-with-keys.identity"
            return try fromFile(p, source: "the systemd credential \(p)", warn: options.mayPrompt)
        }
        if let cmd = options.identityCommand, !cmd.isEmpty { return try fromCommand(cmd, source: "the profile's identity_command", options: options) }
        if let cmd = options.environment("RUN_WITH_KEYS_IDENTITY_COMMAND"), !cmd.isEmpty {
            return try fromCommand(cmd, source: "RUN_WITH_KEYS_IDENTITY_COMMAND", options: options)
        }
        if Sys.exists(options.defaultIdentityPath) {
            return try fromFile(options.defaultIdentityPath, source: options.defaultIdentityPath, warn: options.mayPrompt)
        }
        if let vault {
            // The vault exists, so `init` can't help (it refuses to overwrite a vault).
            throw VaultError(.missing, "no identity found to decrypt the vault \(vault) (looked for \(options.defaultIdentityPath))",
                             hints: ["pass the identity the vault was encrypted to: --identity PATH, or RUN_WITH_KEYS_IDENTITY=PATH",
                                     "if it lives only in a systemd credential: run-with-keys --identity <(systemd-creds decrypt /etc/credstore.encrypted/run-with-keys.identity -) …"])
        }
        throw VaultError(.missing, "no identity found to decrypt the vault",
                         hints: ["run `run-with-keys init` to create \(options.defaultIdentityPath)",
                                 "or pass --identity PATH, set RUN_WITH_KEYS_IDENTITY, or use systemd LoadCredentialEncrypted=run-with-keys.identity"])
    }

    static func parse(_ text: borrowing SecretBytes, source: String) throws(VaultError) -> UnlockedKey {
        do {
            return UnlockedKey(identities: try X25519Identity.parseFile(text), source: source)
        } catch {
            throw VaultError(.input, "\(source): \(error)",
                             hints: ["an identity file holds AGE-SECRET-KEY-1… lines, as written by `run-with-keys init` or age-keygen"])
        }
    }

    /// How long a pipe given as `--identity` may take to deliver the identity and close.
    public static let pipeTimeoutMs = 30_000

    /// `warn`: say so on stderr when the file is readable by every user on a read-only
    /// mount (accepted: the exporter decided); off for completion (`mayPrompt = false`).
    static func fromFile(_ path: String, source: String, allowPipe: Bool = false, warn: Bool = true) throws(VaultError) -> UnlockedKey {
        let (fd, isPipe) = try Sys.openPrivate(path, what: "identity file", allowPipe: allowPipe)
        defer { close(fd) }
        var st = stat()
        if warn, !isPipe, fstat(fd, &st) == 0, st.st_mode & 0o004 != 0, FileTrust.isReadOnlyMount(fd) {
            // Accepted (the exporter decided), but every user of this machine can read it.
            Sys.writeAll(2, "run-with-keys: warning: identity file \(path) is readable by every user (mode \(FileTrust.modeString(st.st_mode)), read-only mount)\n"
                         + "run-with-keys: hint: fix it where it comes from: defaultMode: 0400 (or 0440 with fsGroup) on the Kubernetes Secret, chmod 600 on the host file\n")
        }
        let text = try Sys.readSecret(fd, what: path, limit: 64 * 1024, timeoutMs: isPipe ? pipeTimeoutMs : nil)
        return try parse(text, source: source)
    }

    /// Runs `/bin/sh -c command` with a timeout (`Command`); its stdout is the identity (in guarded memory).
    static func fromCommand(_ command: String, source: String, options: KeyOptions) throws(VaultError) -> UnlockedKey {
        let timeout = try Command.timeoutMs(environment: options.environment)
        let text = try Command.output(of: command, what: source, timeoutMs: timeout)
        return try parse(text, source: source)
    }

    /// A passphrase from `--passphrase-fd` or a no-echo prompt on /dev/tty.
    public static func readPassphrase(_ options: KeyOptions, prompt: String, confirm: Bool = false) throws(VaultError) -> SecretBytes {
        if let fd = options.passphraseFD {
            let raw = try Sys.readSecret(fd, what: "--passphrase-fd \(fd)", limit: 4096)
            let pass = SecretInput.firstLine(raw)
            guard pass.count > 0 else { throw VaultError(.emptyValue, "the passphrase from --passphrase-fd \(fd) is empty") }
            return pass
        }
        guard options.mayPrompt else {
            throw VaultError(.missing, "the vault needs a passphrase, and none may be asked for here",
                             hints: ["pass --passphrase-fd N"])
        }
        let pass = try SecretInput.promptNoEcho(prompt)
        guard pass.count > 0 else { throw VaultError(.emptyValue, "the passphrase is empty") }
        if confirm {
            let again = try SecretInput.promptNoEcho("Confirm passphrase: ")
            guard pass.constantTimeEquals(again) else { throw VaultError(.input, "the passphrases do not match") }
        }
        return pass
    }
}
