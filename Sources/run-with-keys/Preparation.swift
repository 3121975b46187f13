import Common
import Glibc
import Age
import Vault
import Profile
import Hygiene
import Launch
import Supervisor

/// Opens the profile's vault and builds its launch plan; warns about stale keys.
final class Preparation {
    let profile: Profile
    let store: VaultStore
    let keys: KeyOptions
    /// The key that opened the vault the first time. Reloads reuse it: the
    /// supervisor's event loop must not prompt for a passphrase, read a spent
    /// --passphrase-fd, or wait on an identity command.
    var unlocked: UnlockedKey?
    /// What the bot may never open (filesystem = "hide-keys").
    var keyMaterial: [String]
    /// The bot runs as uid 0: `Containment.plan` then leaves it `/proc` and `/sys` read-only.
    let rootBot: Bool
    /// The vault file as it was just before the first decrypt.
    var vaultStamp: FileStamp?
    /// Checks on the decrypted vault before the plan is built (see `RunCommand.launch(profile:_:validate:)`).
    var validate: ((VaultDocument) throws -> Void)?
    /// Probe the PID namespace while planning (`check`), instead of letting the
    /// first spawn be the probe (a launch; see `TreeSupport.resolve`).
    var probeTree = false
    private var warnedContainment = false

    convenience init(_ global: GlobalOptions, profile: Profile) { self.init(global.plain, profile: profile) }

    init(_ global: Globals, profile: Profile, launchLog: String? = nil) {
        self.profile = profile
        store = global.store(path: global.vault ?? profile.vault)
        keys = global.keyOptions(identityCommand: profile.identityCommand)
        let botUid = Self.botUid(profile)
        rootBot = botUid == 0
        keyMaterial = Self.keyMaterial(global, store: store, profile: profile, launchLog: launchLog, botUid: botUid)
    }

    /// Every identity source that could be used, the vault with its lock and temp
    /// file, run-with-keys' home (identity.txt, profiles, launch log, run files),
    /// $CREDENTIALS_DIRECTORY, an outside launch log, the profile's directories, its
    /// template sources, and the absolute paths named in the identity command
    /// (those `botUid`, the bot's uid, could rewrite among its programs).
    static func keyMaterial(_ global: Globals, store: VaultStore, profile: Profile, launchLog: String?, botUid: uid_t) -> [String] {
        var paths = [global.homeDirectory, global.homeDirectory + "/identity.txt", store.givenPath, store.path, store.lockPath, store.tempPath]
        // A pipe given as the identity (`<(…)`, /dev/stdin) was read to EOF and the bot
        // doesn't inherit it; its /dev/fd path would resolve into /proc and hide the wrong things.
        func isPipe(_ p: String) -> Bool {
            var st = stat()
            return stat(p, &st) == 0 && [S_IFIFO, S_IFSOCK, S_IFCHR].contains(st.st_mode & S_IFMT)
        }
        if let p = global.identity, !isPipe(p) { paths.append(p) }
        for name in ["RUN_WITH_KEYS_IDENTITY", "CREDENTIALS_DIRECTORY"] {
            if let p = Sys.getenv(name), !p.isEmpty, !isPipe(p) { paths.append(p) }
        }
        if let log = launchLog { paths.append(log) }
        // A profile decides what the next launch runs and with which keys: a bot
        // that could rewrite one (or plant one where a name resolves) could have
        // itself started unsandboxed with every key. So the profile's own
        // directory and every directory a name resolves in are hidden too.
        // With `extends`, every file of the chain (`exec` without --profile has none: its path is "<exec>").
        // A profile reached through a symlink: the link's directory as well as the target's,
        // else the bot swaps the link for a profile of its own.
        for file in (profile.layers.isEmpty ? [profile.path] : profile.layers) where !file.hasPrefix("<") {
            paths.append(Sys.directory(of: Landlock.canonical(file)))
            paths.append(Landlock.canonical(Sys.directory(of: file)))
        }
        // A seccomp policy file decides what the bot may call: hidden like a profile.
        if case .policyFile(let file) = profile.sandbox.seccomp {
            paths.append(Sys.directory(of: Landlock.canonical(file)))
            paths.append(Landlock.canonical(Sys.directory(of: file)))
        }
        // The system-wide places: the profile directory a name also resolves in,
        // systemd's credential stores and the host key that decrypts them
        // (systemd-creds(1)): without a TPM, a root bot could decrypt the identity's
        // LoadCredentialEncrypted= file with them. Hidden when they exist. One that
        // doesn't exist yet needs no rule: only root can create it, under modes a
        // bot of another user can't read, and a root bot that could create it or
        // read it later can write /etc/cron.d too (the caution `check` prints for
        // root bots). Each costs a rule per entry of /etc, /run or /var/lib.
        for path in [Sys.directory(of: ProfileLocator.systemDirectory), "/etc/credstore", "/etc/credstore.encrypted",
                     "/run/credstore", "/run/credstore.encrypted", "/var/lib/systemd/credential.secret"] {
            var st = stat()
            if lstat(path, &st) == 0 { paths.append(path) }
        }
        // A template decides which of the profile's secrets go where: hidden like a profile.
        // The file (its target, if a link) is enough, as the directories on the way to a
        // hidden path get READ_DIR only; a link's own directory is hidden too, or the bot
        // could point the link elsewhere.
        for t in profile.templates {
            paths.append(t.source)
            var st = stat()
            if lstat(t.source, &st) == 0, st.st_mode & S_IFMT == S_IFLNK { paths.append(Sys.directory(of: t.source)) }
        }
        let userHome = Sys.getenv("HOME") ?? "/root"
        for command in [profile.identityCommand, Sys.getenv("RUN_WITH_KEYS_IDENTITY_COMMAND")] {
            if let command, !command.isEmpty {
                paths += Landlock.pathTokens(in: command, userHome: userHome, botUid: botUid)
            }
        }
        return paths
    }

    /// The uid the bot runs as: the profile's `user`, else ours (an unknown user
    /// counts as ours here; building the plan reports it).
    static func botUid(_ profile: Profile) -> uid_t {
        profile.user.flatMap { try? Credentials.resolveUid($0) } ?? geteuid()
    }

    /// Decrypts, checks the key policy, builds the plan. Policy refusals are errors.
    func plan(arguments: [String], warn: Bool = true) throws -> (LaunchPlan, [KeyFinding]) {
        // The Landlock ruleset needs the profile and the key material's paths, not
        // the vault: built on a second thread while this one decrypts.
        var prepared: PreparedContainment? = PreparedContainment(profile.sandbox, keyMaterial: keyMaterial, profilePath: profile.path,
                                                                 rootBot: rootBot)
        let doc: VaultDocument
        if let key = unlocked {
            doc = try store.open(with: key)
        } else {
            vaultStamp = FileStamp.of(store.path)   // before the decrypt: see SupervisorOptions.vaultStamp
            let started = MonotonicClock.nowMs()
            let (d, key) = try store.open(keys)
            // Hide-keys rules the entries that exist when the ruleset is built; a later
            // entry in a directory on the way to a hidden path is denied to the bot. A
            // decrypt that waited (an identity command, a pipe, a passphrase prompt)
            // would stretch that moment back by seconds: then it is built after it.
            if MonotonicClock.nowMs() - started > PreparedContainment.waitedMs { prepared = nil }
            LaunchTiming.mark("vault decrypt")
            doc = d
            unlocked = key
        }
        try validate?(doc)
        let now = Clock.system.now()
        let findings = KeyPolicy.check(profile, document: doc, now: now)
        if KeyPolicy.refuses(findings, profile: profile) {
            let first = findings.first { $0.alwaysRefuses || profile.policy.enforceMaxAge }!
            throw CLIError(first.description, hints: findings.map(\.remedy) + ["the profile's [policy] refuses to launch with this key"])
        }
        if warn { for f in findings { Output.warning("\(f.description); \(f.remedy)") } }
        let plan = try LaunchPlan.build(profile: profile, document: doc, now: now, arguments: arguments, keyMaterial: keyMaterial,
                                        probeTree: probeTree, prepared: prepared)
        plan.onTreeFallback = { status in   // the same lines as the warnings below, when the first spawn finds out
            guard let w = Containment.warning(status) else { return }
            Output.warning(w.message)
            if let hint = w.hint { Output.hint(hint) }
        }
        if warn {   // values too short to redact: one line per key, one hint
            let short = RedactionPatterns.tooShort(in: plan)
            for s in short { Output.warning(RedactionPatterns.shortValueWarning(name: s.name, count: s.count)) }
            if !short.isEmpty { Output.hint(RedactionPatterns.shortValueHint) }
        }
        if !warnedContainment {   // once, not at every reload
            warnedContainment = true
            let required = profile.sandbox.require.compactMap { Containment.Feature(rawValue: $0.rawValue) }
            for w in plan.warnings + plan.containment.warnings(required: required) {
                Output.warning(w.message)
                if let hint = w.hint { Output.hint(hint) }
            }
            if SecretBytes.lockFailed {
                Output.warning("the decrypted keys could not all be locked in memory (mlock: RLIMIT_MEMLOCK too small), so they may be written to swap")
                Output.hint("raise the limit: `ulimit -l 1024`, LimitMEMLOCK= in a systemd unit, or --ulimit memlock= in a container")
            }
        }
        return (plan, findings)
    }
}
