import ArgumentParser
import Glibc
import Age
import Vault
import Profile
import CSys

struct RotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace a key with a new value and tell running supervisors that use it to reload.",
        discussion: """
            Reads the new value like `set`. With --keep-previous DURATION the old value stays available \
            to bots as <VAR>_PREVIOUS until the grace period ends, so a bot can switch without downtime. \
            Running supervisors register in <home>/run/<profile>.<pid>.json; those whose profile uses the key \
            and has reload = "restart" get SIGHUP and restart the bot with the new key.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Secret name.", completion: Completion.secrets) var name: String
    @Option(name: .customLong("from-file"), help: ArgumentHelp("Read the new value from this file.", valueName: "file"))
    var fromFile: String?
    @Option(name: .customLong("keep-previous"), help: ArgumentHelp("Keep the old value as <VAR>_PREVIOUS for this long (e.g. 1h, 2d).", valueName: "duration"))
    var keepPrevious: String?
    @Option(name: .customLong("scope"), help: ArgumentHelp("Replace the recorded scopes. Repeatable.", valueName: "scope"))
    var scopes: [String] = []
    @Option(help: ArgumentHelp("Replace the note.", valueName: "text")) var note: String?
    @Option(help: ArgumentHelp("When the new key expires at its issuer: an RFC 3339 time, a duration from now (90d), or none.", valueName: "when"))
    var expires: String?

    func run() throws {
        try VaultDocument.validateName(name)
        var grace: Milliseconds? = nil
        if let text = keepPrevious {
            do { grace = try Units.parseDuration(text) } catch { throw CLIError("--keep-previous: \(error.message)") }
        }
        let store = global.store()
        try store.requireExists()
        let now = Clock.system.now()
        let expiry = try Expiry.parse(expires, now: now)
        let value = try SecretInput.readNonEmptyValue(fromFile: fromFile, name: name)
        let name = self.name, scopes = self.scopes, note = self.note
        try store.update(global.keyOptions()) { (doc: inout VaultDocument, _) throws(VaultError) in
            guard let entry = doc.secrets[name] else {
                throw VaultError(.unknownName, "no secret named \"\(name)\" to rotate", hints: ["add it with `run-with-keys set \(name)`"])
            }
            let old = entry.value
            // `set` drops any previous value; the grace period then keeps this one.
            try doc.set(name, value: value, now: now, scopes: scopes.isEmpty ? nil : scopes, note: note)
            if let grace {
                entry.previous = Optional(old.slice(0..<old.count))
                entry.previousUntil = Timestamp(seconds: now.seconds + grace.milliseconds / 1000)
            }
            if let expiry { entry.expires = expiry.time }
        }
        Output.info("rotated \(name) (updated \(now))" + (grace.map { ", previous value kept as <VAR>_PREVIOUS for \($0)" } ?? ""))
        notifySupervisors(using: name)
    }

    /// SIGHUP to every live supervisor whose profile uses `name`; then says how
    /// many were told (a supervisor still starting re-checks the vault once it
    /// has registered, so a rotate can't slip between its decrypt and its run file).
    func notifySupervisors(using name: String) {
        let dir = global.homeDirectory + "/run"
        var told = 0
        if RunSupervisors.trustedDirectory(dir) {
            for file in ProfileLocator.entries(in: dir, suffix: ".json") {
                guard let info = RunFile.read(dir + "/" + file), info.keys.contains(name) else { continue }
                // Pin the process with a pidfd, then check it is still our supervisor: no pid-reuse race.
                let pidfd = rwk_pidfd_open(info.pid)
                guard pidfd >= 0 else { continue }
                defer { close(pidfd) }
                guard RunSupervisors.isSupervisor(info.pid) else { continue }
                if info.reload != "none" {
                    if rwk_pidfd_send_signal(pidfd, SIGHUP) == 0 {
                        told += 1
                        Output.info("told the supervisor of \(info.profile) (pid \(info.pid)) to reload")
                    }
                } else {
                    Output.warning("profile \(info.profile) (pid \(info.pid)) uses \(name) but does not reload on its own; restart it, or set reload = \"restart\"")
                }
            }
        }
        Output.info("notified \(told) running supervisor\(told == 1 ? "" : "s") that reload on their own")
    }
}
