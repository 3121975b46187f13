import Common
import Glibc
import Age
import Vault
import Profile
import CLaunch
import Accounts
import CSys

/// A failure while turning a profile into a launch plan: one line, hints, and
/// the exit code (125; 126/127 when the command can't be executed or found).
public struct PlanError: UserFacingError, CustomStringConvertible, Sendable {
    /// The error line's text, without the `run-with-keys: error: ` prefix.
    public var message: String
    /// One `run-with-keys: hint: ` line each; may be empty.
    public var hints: [String]
    /// 125; 127 when the command is not found, 126 when it can't be executed.
    public var exitCode: Int32
    /// Exit code 125 unless `exitCode` says otherwise.
    public init(_ message: String, hints: [String] = [], exitCode: Int32 = 125) {
        self.message = message
        self.hints = hints
        self.exitCode = exitCode
    }
    /// The same as `message`.
    public var description: String { message }
}

/// One variable of the child's environment, as `check` shows it (never a value).
public struct PlannedVariable: Sendable, Equatable {
    /// Where the variable's value comes from, as `check` shows it.
    public enum Source: Sendable, Equatable {
        /// Copied from our environment (`[env] inherit`), or given by `[env] set`.
        case inherited, set
        /// The value of the vault secret named here, in the variable itself (`as = "env"`).
        case secret(String)
        /// A sealed memfd at fd N; the variable holds /proc/self/fd/N.
        case secretFile(String, fd: Int32)
        /// The value is readable on fd N; the variable holds N.
        case secretFd(String, fd: Int32)
        /// reload = "signal": a sealed memfd held by the namespace's init; the
        /// variable holds a path that always opens the current value.
        case reloadableFile(String, path: String)
        /// A rendered config template (`source`, the secrets it refers to) in a
        /// sealed memfd at fd N; the variable holds /proc/self/fd/N.
        case template(source: String, secrets: [String], fd: Int32)
    }
    /// The variable's name in the child's environment.
    public var name: String
    /// Inherited, `[env] set`, a secret (and how it is injected) or a rendered template.
    public var source: Source
}

/// A secret value the plan injects, kept for redaction and restarts.
public final class PlannedSecret {
    /// The vault secret's name.
    public let secret: String
    /// The variable it reaches the bot through: the key's, `<VAR>_PREVIOUS` for a previous
    /// value, or the template's for a secret a template uses.
    public let variable: String
    /// The value, in guarded memory; for a secret a template uses, the raw value or (a second
    /// entry, when it differs) the escaped form the template renders.
    public let value: SecretBytes
    /// reload = "signal": its index in `SpawnRequest.initFds`.
    public let initSlot: Int?
    init(secret: String, variable: String, value: consuming SecretBytes, initSlot: Int? = nil) {
        self.secret = secret
        self.variable = variable
        self.value = value
        self.initSlot = initSlot
    }
}

/// The child's environment: "NAME=value\0" strings in one guarded buffer, and
/// a NULL-terminated pointer array into it.
public final class EnvironmentBlock {
    let storage: SecretBytes
    let offsets: [Int]
    let pointers: UnsafeMutablePointer<UnsafePointer<CChar>?>

    init(entries: [(String, EntryValue)], secrets: [PlannedSecret]) {
        var b = SecretBuilder(capacity: 4096)
        var offsets: [Int] = []
        for (name, value) in entries {
            offsets.append(b.count)
            b.append(name + "=")
            switch value {
            case .text(let t): b.append(t)
            case .secret(let i): b.append(secrets[i].value)
            }
            b.append(UInt8(0))
        }
        // In pages of its own, inherited by a forked child (the tree's init, or
        // the no_exec child), which reads it for execve.
        storage = b.finish().inheritedByChildren()
        self.offsets = offsets
        pointers = .allocate(capacity: offsets.count + 1)
        storage.withUnsafeBytes { base in
            for (i, o) in offsets.enumerated() {
                pointers[i] = UnsafePointer((base.baseAddress! + o).assumingMemoryBound(to: CChar.self))
            }
        }
        pointers[offsets.count] = nil
    }

    enum EntryValue { case text(String), secret(Int) }

    deinit { pointers.deallocate() }

    /// `body` gets the envp; the guarded memory is readable only meanwhile (and
    /// must be, across fork: the child inherits the protection).
    public func withEnvp<R, E: Error>(_ body: (UnsafePointer<UnsafePointer<CChar>?>) throws(E) -> R) throws(E) -> R {
        try storage.withUnsafeBytes { (_: UnsafeRawBufferPointer) throws(E) -> R in try body(UnsafePointer(pointers)) }
    }
}

/// Everything needed to start the bot, built in the parent before fork.
public final class LaunchPlan {
    /// The profile the plan was built from.
    public let profile: Profile
    public private(set) var request: SpawnRequest
    /// The child's environment ("NAME=value" strings in guarded memory), owned by the plan;
    /// `spawn` hands it over through `withEnvp`.
    public let environment: EnvironmentBlock
    /// The child's variables, without values, in environment order: inherited, `[env] set`, keys,
    /// templates (a name set again keeps its first place).
    public let variables: [PlannedVariable]
    /// Every value the plan injects, for redaction and reload: one per key (and its `<VAR>_PREVIOUS`),
    /// and for each secret a template uses, its value and, when it differs, its escaped form.
    public let secrets: [PlannedSecret]
    /// The sealed memfds, owned by the plan (closed when it goes away).
    let memfds: [Int32]
    /// Which protections are in force (filesystem, network, signals, tree).
    public var containment: Containment
    /// The Landlock ruleset fd, owned by the plan and reused by every restart.
    let landlockFd: Int32?
    /// Settings that won't do what they say here, for one warning line (and a
    /// hint) each at launch and in `check` (e.g. a kept capability we don't hold).
    public var warnings: [(message: String, hint: String?)] = []

    init(profile: Profile, request: SpawnRequest, environment: EnvironmentBlock, variables: [PlannedVariable],
         secrets: [PlannedSecret], memfds: [Int32], containment: Containment, landlockFd: Int32?) {
        self.profile = profile
        self.request = request
        self.environment = environment
        self.variables = variables
        self.secrets = secrets
        self.memfds = memfds
        self.containment = containment
        self.landlockFd = landlockFd
    }

    deinit {
        for fd in memfds { close(fd) }
        if let fd = landlockFd { close(fd) }
    }

    /// The secret names this launch uses (keys and templates), in profile order.
    public var secretNames: [String] { profile.secretNames }

    /// What the supervisor needs of the profile.
    public var supervision: Supervision { Supervision(profile) }

    /// Sets the child's stdio (the supervisor's redaction pipes or a pty).
    public func setStdio(stdin: Int32?, stdout: Int32?, stderr: Int32?, controllingTerminal: Int32? = nil) {
        request.stdin = stdin
        request.stdout = stdout
        request.stderr = stderr
        request.controllingTerminal = controllingTerminal
    }

    /// How the bot joins sessions and process groups: a new session (the
    /// default), or the foreground of our terminal `terminal` (job control).
    public func setSession(_ session: SpawnRequest.Session, terminal: Int32? = nil) {
        request.session = session
        switch session {
        case .foregroundProcessGroup: request.controllingTerminal = terminal
        case .inherit, .newProcessGroup: request.controllingTerminal = nil
        case .newSession: break
        }
    }

    /// The plan took a PID namespace without probing (`TreeSupport.resolve`):
    /// the first spawn, or `confirmTree`, finds out.
    public internal(set) var treeAssumed = false
    /// Called when the assumed PID namespace turned out refused and nothing
    /// else contains the tree: the caller warns as it does for a plan that
    /// probed (the same words `check` prints).
    public var onTreeFallback: ((Containment.Status) -> Void)?

    /// Starts the bot. Into an assumed PID namespace that the kernel refuses
    /// (no CAP_SYS_ADMIN, a seccomp filter such as systemd's
    /// RestrictNamespaces=, the namespace limit): `confirmTree`, then the bot is
    /// started the way the probe found.
    /// - Parameter keeper: the persistent init of the last start (`Launch.spawn`).
    /// - Throws: `LaunchError` for a stage that failed.
    public func spawn(into keeper: TreeInit? = nil) throws(LaunchError) -> SpawnedProcess {
        do {
            let spawned = try spawnAsPlanned(keeper)
            if treeAssumed { TreeSupport.confirmPidNamespace(); treeAssumed = false }
            return spawned
        } catch {
            guard treeAssumed, error.stage == .pidNamespace else { throw error }
            confirmTree()
            return try spawnAsPlanned(nil)
        }
    }

    /// Probes an assumed PID namespace now and takes what the probe found: the
    /// request's tree mode and `containment` (`onTreeFallback` when the tree is
    /// then not contained). `run` asks before choosing exec in place, when the
    /// tree is the only reason for a supervisor, so that it takes the path
    /// `check` shows.
    public func confirmTree() {
        guard treeAssumed else { return }
        treeAssumed = false
        let (mode, status, _) = TreeSupport.resolve(wanted: true, dropsPrivileges: request.credentials != nil)
        request.tree = mode
        containment.set(status)
        if !status.active { onTreeFallback?(status) }
    }

    private func spawnAsPlanned(_ keeper: TreeInit?) throws(LaunchError) -> SpawnedProcess {
        let request = self.request
        return try environment.withEnvp { (envp) throws(LaunchError) -> SpawnedProcess in
            try Launch.spawn(request, environment: envp, into: keeper)
        }
    }

    /// The default PATH for finding the command when the child gets no PATH
    /// (`RWK_DEFAULT_PATH` in claunch.h, which the child's own search uses).
    public static let defaultPath: String = RWK_DEFAULT_PATH

    /// Builds the plan: environment, memfds, limits, credentials, seccomp filter and Landlock ruleset.
    /// `environment` is run-with-keys' own environment (for `[env] inherit`).
    /// `keyMaterial`: paths the bot must never open under `filesystem = "hide-keys"`
    /// (identity candidates, the vault with its lock and temp file, run-with-keys'
    /// home, `$CREDENTIALS_DIRECTORY`, paths in the identity command); they may not
    /// exist yet. Allowlist entries may not contain them either.
    /// `probeTree`: probe the PID namespace now, as `check` does; a launch as root
    /// lets its first spawn be the probe (`TreeSupport.resolve`, `spawn`).
    /// `prepared`: the containment plan and ruleset, started on another thread
    /// before the decrypt (`PreparedContainment`); nil works them out here, from
    /// `keyMaterial`.
    public static func build(profile: Profile, document: VaultDocument, now: Timestamp, arguments extra: [String] = [],
                             keyMaterial: [String] = [], probeTree: Bool = false,
                             prepared: PreparedContainment? = nil,
                             environment: (String) -> String? = { Sys.getenv($0) }) throws(PlanError) -> LaunchPlan {
        // 1. Every named secret must exist; report all the missing ones at once.
        let missing = profile.keys.map(\.secret).filter { document.secrets[$0] == nil }
        guard missing.isEmpty else {
            throw PlanError("profile \(profile.name) names secret\(missing.count > 1 ? "s" : "") that the vault doesn't have: "
                            + missing.map { "\"\($0)\"" }.joined(separator: ", "),
                            hints: ["add \(missing.count > 1 ? "them" : "it") with `run-with-keys set \(missing[0])`, or fix the name in \(profile.path)"])
        }
        for template in profile.templates {
            if let name = template.references.first(where: { document.secrets[$0] == nil }) {
                throw PlanError("\(template.source) line \(template.line(of: name) ?? 0): the vault has no secret \"\(name)\"",
                                hints: ["add it with `run-with-keys set \(name)`, or fix the reference in the template"])
            }
        }

        // A hand-written vault may hold a value with a NUL byte: it would reach the bot
        // cut at the NUL (an environment string ends there), and unredacted. Refused.
        let used = profile.keys.map(\.secret) + profile.templates.flatMap(\.references)
        if let bad = used.first(where: { document.secrets[$0]!.holdsNUL }) {
            throw PlanError("the value of secret \"\(bad)\" holds a NUL byte (\\u0000), which can't reach the bot intact",
                            hints: ["store it again with `run-with-keys set \(bad)` (base64-encode a binary value)"])
        }

        // 2. The environment: inherited names, then [env] set, then the keys.
        var entries: [(String, EnvironmentBlock.EntryValue)] = []
        var variables: [PlannedVariable] = []
        func put(_ name: String, _ value: EnvironmentBlock.EntryValue, _ source: PlannedVariable.Source) {
            if let i = entries.firstIndex(where: { $0.0 == name }) {
                entries[i] = (name, value); variables[i] = PlannedVariable(name: name, source: source)
            } else {
                entries.append((name, value)); variables.append(PlannedVariable(name: name, source: source))
            }
        }
        // The key sources never reach the bot (docs/ARCHITECTURE.md, "The vault and its key"), whatever the profile says.
        for name in profile.env.inherit where !name.hasPrefix("RUN_WITH_KEYS_") && name != "CREDENTIALS_DIRECTORY" {
            if let v = environment(name) { put(name, .text(v), .inherited) }
        }
        for pair in profile.env.set { put(pair.name, .text(pair.value), .set) }

        // reload = "signal" delivers new values into key files in place: an
        // environment variable can't change in a running process, and an fd
        // key's fd is the bot's own. So every key must be a file.
        let inPlace = profile.restart.reload == .signal
        if inPlace, let key = profile.keys.first(where: { $0.mode != .file }) {
            throw PlanError("\(profile.path): reload = \"signal\" puts new values into key files, but \(key.variable) is "
                            + (key.mode == .env ? "an environment variable, which can't change in a running process"
                                                : "an fd key, whose fd belongs to the bot"),
                            hints: ["declare it as \(key.variable) = { secret = \"\(key.secret)\", as = \"file\" }, or use reload = \"restart\""])
        }
        if inPlace, let template = profile.templates.first {
            throw PlanError("\(profile.path): reload = \"signal\" replaces key files in place, but \(template.variable) is a rendered template",
                            hints: ["use reload = \"restart\" with [templates]"])
        }
        var secrets: [PlannedSecret] = []
        var memfds: [Int32] = []
        var fdMap: [FdMapping] = []
        var initFds: [Int32] = []
        let keyDirectory: Int32? = inPlace ? 3 : nil   // no other fd is mapped in this mode
        var closeOnError = true
        defer { if closeOnError { for fd in memfds { close(fd) } } }
        let fixed = Set(profile.keys.compactMap { if case .fd(let n) = $0.mode { return n } else { return nil } })
        var nextFd: Int32 = 3
        func freeFd() -> Int32 {
            while fixed.contains(nextFd) || fdMap.contains(where: { $0.target == nextFd }) { nextFd += 1 }
            return nextFd
        }
        func inject(_ key: KeySpec, variable: String, value: borrowing SecretBytes) throws(PlanError) {
            let index = secrets.count
            let slot = inPlace ? initFds.count : nil
            secrets.append(PlannedSecret(secret: key.secret, variable: variable, value: value.slice(0..<value.count),
                                         initSlot: slot))
            switch key.mode {
            case .env:
                put(variable, .secret(index), .secret(key.secret))
            case .file, .fd:
                let fd: Int32
                do {
                    fd = try value.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(LaunchError) -> Int32 in
                        try Memfd.sealed(name: "run-with-keys:" + variable, contents: b)
                    }
                } catch { throw PlanError("can't create the memfd for \(variable): \(error)") }
                memfds.append(fd)
                if let slot, let dir = keyDirectory {
                    initFds.append(fd)
                    let path = "/proc/self/fd/\(dir)/\(3 + slot)"
                    put(variable, .text(path), .reloadableFile(key.secret, path: path))
                } else if case .fd(let n) = key.mode {
                    fdMap.append(FdMapping(fd, to: n, rewind: true))
                    put(variable, .text(String(n)), .secretFd(key.secret, fd: n))
                } else {
                    let n = freeFd()
                    fdMap.append(FdMapping(fd, to: n, rewind: true))
                    put(variable, .text("/proc/self/fd/\(n)"), .secretFile(key.secret, fd: n))
                }
            }
        }
        for key in profile.keys {
            let entry = document.secrets[key.secret]!
            try inject(key, variable: key.variable, value: entry.value)
            // During a `rotate --keep-previous` grace period the old value rides along.
            if entry.previous != nil, let until = entry.previousUntil, now < until {
                var previous = key
                if case .fd = key.mode { previous.mode = .file }
                try inject(previous, variable: key.variable + "_PREVIOUS", value: entry.previous!)
            }
        }
        // Config templates: rendered in guarded memory, handed over as sealed memfds.
        // Their values join the plan's secrets, so that the output is redacted of them
        // and a change of one counts for reload.
        for template in profile.templates {
            let rendered = TemplateEscape.render(template, document: document)
            let fd: Int32
            do {
                fd = try rendered.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(LaunchError) -> Int32 in
                    try Memfd.sealed(name: "run-with-keys:" + template.variable, contents: b)
                }
            } catch { throw PlanError("can't create the memfd for \(template.variable): \(error)") }
            memfds.append(fd)
            let n = freeFd()
            fdMap.append(FdMapping(fd, to: n, rewind: true))
            put(template.variable, .text("/proc/self/fd/\(n)"),
                .template(source: template.source, secrets: template.references, fd: n))
            for name in template.references {
                let entry = document.secrets[name]!
                secrets.append(PlannedSecret(secret: name, variable: template.variable, value: entry.value.slice(0..<entry.value.count)))
                // A bot that prints its config file shows the escaped form: mask that too.
                var b = SecretBuilder(capacity: entry.value.count * 2 + 16)
                entry.value.withUnsafeBytes { TemplateEscape.append($0, format: template.format, to: &b) }
                let escaped = b.finish()
                if !escaped.constantTimeEquals(entry.value) {
                    secrets.append(PlannedSecret(secret: name, variable: template.variable, value: escaped))
                }
            }
        }
        let block = EnvironmentBlock(entries: entries, secrets: secrets)

        // 3. The workdir and the command, resolved now so that "not found" is reported before anything starts.
        try Preflight.workdir(profile)
        let childPath = entries.first { $0.0 == "PATH" }.flatMap { if case .text(let t) = $0.1 { return t } else { return nil } }
        let executable = try resolveExecutable(profile.command[0], path: childPath ?? defaultPath, profile: profile)
        try NoExecCheck.check(executable: executable, arguments: profile.command, childPath: childPath ?? defaultPath,
                              profile: profile)
        let arguments = try substituteFilePlaceholders(profile.command, variables: variables, profile: profile) + extra
        try ExecLimits.check(arguments: arguments, environment: entries.map { entry in
            let size: Int
            switch entry.1 {
            case .text(let t): size = t.utf8.count
            case .secret(let i): size = secrets[i].value.count
            }
            var secret: String? = nil
            if case .secret(let i) = entry.1 { secret = secrets[i].secret }
            return (entry.0, size, secret)
        }, profile: profile)
        var request = SpawnRequest(executable: executable, arguments: arguments)
        // If the supervisor dies (SIGKILL, OOM), the bot must not run on with its keys unsupervised.
        request.parentDeathSignal = SIGKILL
        request.workdir = profile.workdir
        request.fds = fdMap
        request.limits = profile.limits.map { limit in
            func raw(_ v: LimitValue) -> UInt64 { if case .value(let n) = v { return n } else { return ResourceLimit.unlimited } }
            return ResourceLimit(resourceFor(limit.resource), soft: raw(limit.soft), hard: raw(limit.hard))
        }
        try Preflight.limits(request.limits, profile: profile)

        // 4. Privilege drop.
        if let user = profile.user {
            do { request.credentials = try Credentials.resolveUser(user, group: profile.group) } catch {
                throw PlanError("\(profile.path): \(error)", hints: ["create it (useradd --system \(user)) or change `user`"])
            }
            if let c = request.credentials, geteuid() != 0 && c.uid != geteuid() {
                throw PlanError("switching to user \"\(user)\" needs root", hints: ["run as root (e.g. under systemd), or remove `user` from \(profile.path)"])
            }
        } else if let group = profile.group {
            // `group` alone, as systemd's Group= without User=: our uid, that group as the only one.
            let gid: gid_t
            do { gid = try Credentials.resolveGroup(group) } catch {
                throw PlanError("\(profile.path): \(error)", hints: ["create it (groupadd --system \(group)) or change `group`"])
            }
            var real: UInt32 = 0, saved: UInt32 = 0
            if rwk_real_and_saved_gid(&real, &saved) != 0 { (real, saved) = (getgid(), getegid()) }
            request.credentials = try groupAlone(gid, named: group, euid: geteuid(),
                                                 callerGroups: Accounts.callerGroups() + [real, saved], profilePath: profile.path)
        }

        // 5. The sandbox.
        let botIsRoot = (request.credentials?.uid ?? geteuid()) == 0
        let capabilities = CapabilityPlan(profile.sandbox)
        request.capabilities = capabilities.keep
        request.noNewPrivileges = profile.sandbox.noNewPrivileges
        request.noExec = profile.sandbox.noExec
        LaunchTiming.mark("plan: environment and command")
        do { request.seccomp = try seccompPolicy(profile.sandbox)?.compile() } catch {
            if case let .untrusted(_, _, fix) = error { throw PlanError("\(profile.path): \(error)", hints: [fix]) }
            throw PlanError("\(profile.path): \(error)", hints: ["see `ausyscall --dump` or /usr/include/asm/unistd_64.h for syscall names"])
        }
        // 6. Landlock: computed here, enforced by the child right after no_new_privs.
        LaunchTiming.mark("plan: seccomp filter")
        let sandbox = profile.sandbox
        let prepared = prepared ?? PreparedContainment(sandbox, keyMaterial: keyMaterial, profilePath: profile.path, rootBot: botIsRoot,
                                                       background: false)
        var (containment, ruleset) = try prepared.plan()
        LaunchTiming.mark("plan: Landlock rules")
        let wantsLandlock = sandbox.filesystem != .off || sandbox.connect != nil || sandbox.bind != nil
            || sandbox.signals == .scoped || sandbox.abstractSockets == .scoped
        // Without no_new_privs, installing a seccomp filter takes CAP_SYS_ADMIN (seccomp(2)),
        // which the bot holds only if it keeps it.
        let filterNeedsIt = (request.seccomp != nil || sandbox.noExec) && !capabilities.keepsSysAdmin
        if wantsLandlock && !sandbox.noNewPrivileges {
            throw PlanError("\(profile.path): [sandbox] no_new_privileges = false, but Landlock (filesystem, network, signals, abstract sockets) needs no_new_privs",
                            hints: ["remove no_new_privileges = false, or set filesystem, signals and abstract_sockets to \"off\" and leave connect/bind unset"
                                    + (filterNeedsIt ? "; and seccomp = \"none\"" : "")])
        }
        if filterNeedsIt && !sandbox.noNewPrivileges {
            throw PlanError("\(profile.path): [sandbox] no_new_privileges = false, but the seccomp filter then needs CAP_SYS_ADMIN, which the bot doesn't keep",
                            hints: ["remove no_new_privileges = false, or set seccomp = \"none\" (and no_exec = false)"])
        }
        if botIsRoot && (sandbox.filesystem != .off || sandbox.pidNamespace) {
            containment.cautions.append("the bot runs as root: the sandbox hides the keys and drops root's capabilities, but root "
                                        + "can still reach the keys or run code outside it through what root owns (systemd's "
                                        + "and D-Bus's sockets, raw disks, cron, programs in /usr); set user = \"…\"")
        }
        if (sandbox.connect != nil || sandbox.bind == []) && sandbox.seccomp != .default {
            containment.cautions.append("with seccomp other than \"default\", TCP Fast Open, MPTCP sockets"
                                        + (sandbox.bind == [] ? " and listen(2)" : "") + " are not refused: they sidestep the port rules")
        }
        // 7. The process tree: nothing the bot starts may outlive us.
        let (treeMode, treeStatus, treeAssumed) = TreeSupport.resolve(
            wanted: sandbox.pidNamespace || inPlace, dropsPrivileges: request.credentials != nil, needsInit: inPlace,
            probe: probeTree || inPlace || sandbox.require.contains(.tree))
        request.tree = treeMode
        try capabilities.checkBoundingSet(sandbox, tree: treeMode, profilePath: profile.path)
        LaunchTiming.mark("plan: process tree")
        if inPlace {
            guard treeMode != .none else {
                throw PlanError("\(profile.path): reload = \"signal\" needs the bot's own PID namespace, whose init holds the key files"
                                + (treeStatus.missing.map { ": \($0)" } ?? ""),
                                hints: [treeStatus.hint ?? "", "or use reload = \"restart\""].filter { !$0.isEmpty })
            }
            guard !SecretBytes.wipeOnForkFailed else {
                throw PlanError("\(profile.path): reload = \"signal\" needs MADV_WIPEONFORK (Linux 4.14+): the init that holds the key files would keep copies of the supervisor's secrets",
                                hints: ["use reload = \"restart\""])
            }
            request.initFds = initFds
            request.keyDirectoryTarget = keyDirectory
        }
        containment.set(treeStatus)
        try containment.enforce(required: sandbox.require.compactMap { Containment.Feature(rawValue: $0.rawValue) })
        var landlockFd: Int32?
        if ruleset != nil {
            do { landlockFd = try prepared.rulesetFd() } catch {
                throw PlanError("can't build the Landlock ruleset: \(error)")
            }
            request.landlock = landlockFd
        }
        LaunchTiming.mark("plan: Landlock ruleset")
        closeOnError = false
        let plan = LaunchPlan(profile: profile, request: request, environment: block, variables: variables,
                              secrets: secrets, memfds: memfds, containment: containment, landlockFd: landlockFd)
        plan.treeAssumed = treeAssumed
        plan.warnings = capabilities.warnings
        return plan
    }

    /// `{file:VAR}` in a profile's `command` becomes the memfd path of the key
    /// VAR (one with `as = "file"` or `"fd"`), for bots that take a key file as an
    /// argument. Only the path is substituted, never a value. The bot's own
    /// arguments after `--` are passed as they are.
    static func substituteFilePlaceholders(_ command: [String], variables: [PlannedVariable],
                                           profile: Profile) throws(PlanError) -> [String] {
        var out: [String] = []
        for arg in command {
            var result = ""
            var rest = Substring(arg)
            // Found as bytes, like template markers: a combining mark after a brace
            // would make it part of another Character.
            while let open = rest.utf8.firstRange(ofBytes: "{file:") {
                guard let close = rest.utf8[open.upperBound...].firstIndex(of: UInt8(ascii: "}")) else { break }
                let name = String(rest[open.upperBound..<close])
                let path: String? = variables.first { $0.name == name }.flatMap {
                    switch $0.source {
                    case .secretFile(_, let fd), .secretFd(_, let fd), .template(_, _, let fd): return "/proc/self/fd/\(fd)"
                    case .reloadableFile(_, let path): return path
                    default: return nil
                    }
                }
                guard let path else {
                    throw PlanError("\(profile.path): command refers to {file:\(name)}, which is not a key injected as a file",
                                    hints: ["declare it in [keys] as \(name) = { secret = \"…\", as = \"file\" }, or in [templates]"])
                }
                // String(Substring) and String += String: `+` with a Substring is the
                // generic append(contentsOf:), a run-time metadata lookup at first use.
                result += String(rest[..<open.lowerBound])
                result += path
                rest = rest[rest.utf8.index(after: close)...]
            }
            result += String(rest)
            out.append(result)
        }
        return out
    }

    static func seccompPolicy(_ s: SandboxSpec) throws(LaunchError) -> SeccompPolicy? {
        let action: SeccompPolicy.Action = s.action == .kill ? .kill : .errno
        switch s.seccomp {
        case .none: return nil
        case .default:
            var policy = SeccompPolicy.denylist(extra: s.deny, action: action)
            let allowed = Set(s.allow)
            policy.rules.removeAll { allowed.contains($0.name) }
            policy.argumentRules = SeccompPolicy.networkGuard(connect: s.connect != nil, noBind: s.bind == [])
                .filter { !allowed.contains($0.name) }
            for name in s.allow where SeccompPolicy.syscallNumber(name) == nil {
                throw .unknownSyscall(name: name, origin: "[sandbox] allow")
            }
            return policy
        case .policyFile(let path):
            return try SeccompPolicy.allowlist(contentsOf: path, action: action)
        }
    }

    static func resourceFor(_ r: LimitResource) -> ResourceLimit.Resource {
        switch r {
        case .core: return .core
        case .nofile: return .openFiles
        case .addressSpace: return .addressSpace
        case .processes: return .processes
        case .cpu: return .cpu
        case .fsize: return .fileSize
        case .data: return .data
        case .stack: return .stack
        case .memlock: return .lockedMemory
        case .nice: return .nice
        case .rtprio: return .realtimePriority
        case .sigpending: return .pendingSignals
        case .msgqueue: return .messageQueue
        case .locks: return .locks
        case .rss: return .rss
        }
    }

    /// The ids for `group = NAME` without `user`: as root, uid 0 with `gid` as its only group; as
    /// anyone else nothing changes, which is right only when `gid` is already our one group
    /// (`callerGroups`: our real, effective, saved and supplementary gids; a bot could switch
    /// to a real or saved one), since dropping groups needs CAP_SETGID.
    /// - Throws: `PlanError` when not root and we hold another group.
    static func groupAlone(_ gid: gid_t, named group: String, euid: uid_t, callerGroups: [gid_t],
                           profilePath: String) throws(PlanError) -> Credentials? {
        if euid == 0 { return Credentials(uid: 0, gid: gid, groups: [gid]) }
        guard callerGroups.allSatisfy({ $0 == gid }) else {
            throw PlanError("switching to group \"\(group)\" as the bot's only group needs root",
                            hints: ["run as root (e.g. under systemd), or remove `group` from \(profilePath)"])
        }
        return nil
    }

    /// The program to execve for `command[0]`: as is when it contains "/" (the profile
    /// parser made a relative one absolute), else the first executable match in `path`
    /// (colon-separated). Not found is 127, not executable 126.
    static func resolveExecutable(_ name: String, path: String, profile: Profile) throws(PlanError) -> String {
        let adHoc = profile.path.hasPrefix("<")   // `exec`: no profile file to fix
        func check(_ candidate: String) -> Int32 {  // 0 ok, else errno
            var st = stat()
            if stat(candidate, &st) != 0 { return errno }
            if st.st_mode & S_IFMT == S_IFDIR { return EISDIR }
            return access(candidate, X_OK) == 0 ? 0 : errno
        }
        if name.contains("/") {
            let full = name.hasPrefix("/") || profile.workdir == nil ? name : profile.workdir! + "/" + name
            let e = check(full)
            if e == 0 { return name }
            if e == ENOENT || e == ENOTDIR {
                throw PlanError("command not found: \(name)", hints: [adHoc ? "check the path after --" : "fix `command` in \(profile.path)"], exitCode: 127)
            }
            throw PlanError("command can't be executed: \(name): \(Sys.errnoString(e))",
                            hints: ["chmod +x \(name)" + (adHoc ? "" : ", or fix `command` in \(profile.path)")], exitCode: 126)
        }
        var denied: String?
        // Only absolute PATH entries: a relative one ("" or ".") would be checked here,
        // in our directory, but resolved by the child in its workdir.
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) where dir.hasPrefix("/") {
            let candidate = String(dir) + "/" + name
            let e = check(candidate)
            if e == 0 { return candidate }
            if e == EACCES || e == EISDIR { denied = denied ?? candidate }
        }
        if let denied {
            throw PlanError("command can't be executed: \(denied): permission denied", hints: ["chmod +x \(denied)"], exitCode: 126)
        }
        throw PlanError("command not found: \(name) (searched PATH=\(path))",
                        hints: [adHoc ? "give an absolute path, or pass --inherit PATH"
                                      : "use an absolute path in `command`, or add PATH to [env] inherit in \(profile.path)"], exitCode: 127)
    }
}
