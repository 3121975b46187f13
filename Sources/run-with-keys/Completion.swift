import ArgumentParser
import Vault
import Profile
import Common

/// Candidates the shell completion scripts (`--generate-completion-script bash|zsh|fish`) ask for
/// at TAB time through swift-argument-parser's hidden `---completion` entry point
/// (`CompletionKind.custom`). The shell filters them by the word being completed.
///
/// Never prompts, never waits and never prints a value: any failure completes nothing.
enum Completion {
    /// Profile names on the search path (`ProfileLocator.searchDirectories`), for `run`, `check`
    /// and `exec --profile`.
    static let profiles = CompletionKind.custom { words, _, _ in profileNames(globals(from: words)) }

    /// Secret names in the vault, for `set`, `rotate` and `rm`.
    static let secrets = CompletionKind.custom { words, _, _ in secretNames(globals(from: words)) }

    /// Only names of the secret-name characters (`SecretName`, letters, digits, `_ . / -`): bash's
    /// script hands the candidates to
    /// `compgen -W`, which expands `$(…)` and backquotes in them, so a file named
    /// `$(cmd).toml` in a profile directory would otherwise run `cmd` in the user's shell.
    static func profileNames(_ g: Globals) -> [String] {
        ProfileLocator.profiles(in: ProfileLocator.searchDirectories(home: g.homeDirectory)).map(\.name)
            .filter(SecretName.isValid)
    }

    /// The vault's names, decrypted only with a key that is readable without asking anyone:
    /// `--identity`, RUN_WITH_KEYS_IDENTITY, the systemd credential or `<home>/identity.txt`.
    /// No identity command runs, and a passphrase vault completes nothing (`mayPrompt = false`).
    /// Every file is opened non-blocking and must be a regular file (`Sys.openPrivate`), and the
    /// vault is read without its lock, so nothing here can hang.
    static func secretNames(_ g: Globals) -> [String] {
        var options = g.keyOptions()
        options.mayPrompt = false
        options.environment = { $0 == "RUN_WITH_KEYS_IDENTITY_COMMAND" ? nil : Sys.getenv($0) }
        guard let (doc, _) = try? g.store().open(options) else { return [] }
        return doc.names   // valid secret names (SecretName): nothing a shell expands
    }

    /// `--home`, `--vault` and `--identity` as typed on the command line being completed. The
    /// shell passes words verbatim, so one pair of enclosing quotes is removed.
    static func globals(from words: [String]) -> Globals {
        var g = Globals()
        var i = 0
        while i < words.count {
            let parts = words[i].split(separator: "=", maxSplits: 1).map(String.init)
            var value: String?
            if parts.count == 2 { value = parts[1] } else if i + 1 < words.count { value = words[i + 1] }
            if let v = value.map(unquote), !v.isEmpty {
                switch parts.first {
                case "--home": g.home = v
                case "--vault": g.vault = v
                case "--identity": g.identity = v
                default: break
                }
            }
            i += 1
        }
        return g
    }

    static func unquote(_ s: String) -> String {
        guard s.count >= 2, let f = s.first, f == s.last, f == "\"" || f == "'" else { return s }
        return String(s.dropFirst().dropLast())
    }
}
