import ArgumentParser
import Vault

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Home directory (identity.txt, vault.age, profiles/, launches.log).", valueName: "dir"))
    var home: String?

    @Option(name: .long, help: ArgumentHelp("Vault file (default: <home>/vault.age).", valueName: "path"))
    var vault: String?

    @Option(name: .long, help: ArgumentHelp("Identity file with the vault's age key.", valueName: "path"))
    var identity: String?

    @Option(name: .customLong("passphrase-fd"), help: ArgumentHelp("Read the vault passphrase from this file descriptor.", valueName: "n"))
    var passphraseFD: Int32?

    @Option(name: .customLong("lock-timeout"), help: ArgumentHelp("Seconds to wait for another writer's lock on the vault.", valueName: "seconds"))
    var lockTimeout: Double = 10

    func validate() throws {
        guard Globals.isValidLockTimeout(lockTimeout) else {
            throw ValidationError("--lock-timeout must be a number of seconds from 0 to \(Int(Globals.lockTimeoutRange.upperBound))")
        }
    }

    var plain: Globals {
        Globals(home: home, vault: vault, identity: identity, passphraseFD: passphraseFD, lockTimeout: lockTimeout)
    }

    var homeDirectory: String { plain.homeDirectory }
    var vaultPath: String { plain.vaultPath }
    func keyOptions(identityCommand: String? = nil) -> KeyOptions { plain.keyOptions(identityCommand: identityCommand) }
    func store(path: String? = nil) -> VaultStore { plain.store(path: path) }
}

/// The global options as plain values, for code that runs without ArgumentParser.
struct Globals {
    var home: String?
    var vault: String?
    var identity: String?
    var passphraseFD: Int32?
    var lockTimeout: Double = 10

    /// `--lock-timeout`'s range, in seconds; checked by `GlobalOptions.validate` and `LaunchSettings.parse`.
    static let lockTimeoutRange: ClosedRange<Double> = 0...86_400
    static func isValidLockTimeout(_ t: Double) -> Bool { t.isFinite && lockTimeoutRange.contains(t) }

    /// --home, then RUN_WITH_KEYS_HOME, then $XDG_CONFIG_HOME/run-with-keys, then ~/.config/run-with-keys.
    var homeDirectory: String {
        if let home { return home }
        if let h = Sys.getenv("RUN_WITH_KEYS_HOME"), !h.isEmpty { return h }
        if let x = Sys.getenv("XDG_CONFIG_HOME"), !x.isEmpty { return x + "/run-with-keys" }
        return (Sys.getenv("HOME") ?? "/root") + "/.config/run-with-keys"
    }

    var vaultPath: String { vault ?? homeDirectory + "/vault.age" }

    func keyOptions(identityCommand: String? = nil) -> KeyOptions {
        KeyOptions(home: homeDirectory, identityPath: identity, passphraseFD: passphraseFD, identityCommand: identityCommand)
    }

    func store(path: String? = nil) -> VaultStore {
        VaultStore(path: path ?? vaultPath, lockTimeoutMs: Int(lockTimeout * 1000))
    }
}

extension Globals {
    /// The option at `args[i]` as (name, value), from `--name=value` or `--name value`;
    /// `i` is left on the last word used. Nil when the value is missing (`--name` last,
    /// or `--name=` with nothing after it). For the fast
    /// paths that don't go through ArgumentParser (launch, `list`, `audit`).
    static func option(_ args: [String], _ i: inout Int) -> (name: String, value: String)? {
        let a = args[i]
        if let eq = a.utf8.firstIndex(of: UInt8(ascii: "=")) {
            // `--vault=` is a missing value to ArgumentParser: let it say so.
            guard a.index(after: eq) < a.endIndex else { return nil }
            return (String(a[..<eq]), String(a[a.index(after: eq)...]))
        }
        guard i + 1 < args.count else { return nil }
        i += 1
        return (a, args[i])
    }

    /// Sets the global option `name` (`--home`, …) from `value`, validated as
    /// `GlobalOptions` does. Returns false for another name or a bad value.
    mutating func set(_ name: String, _ value: String) -> Bool {
        switch name {
        case "--home": home = value
        case "--vault": vault = value
        case "--identity": identity = value
        case "--passphrase-fd":
            guard let fd = Int32(value) else { return false }
            passphraseFD = fd
        case "--lock-timeout":
            guard let t = Double(value), Globals.isValidLockTimeout(t) else { return false }
            lockTimeout = t
        default: return false
        }
        return true
    }
}
