/// Parsing of `[sandbox]`, `[restart]` and `[policy]`.
extension Profile {
    static func parseSandbox(_ section: Section, profileDirectory: String) throws(ProfileError) -> SandboxSpec {
        try section.checkKeys(["seccomp", "deny", "allow", "action", "no_exec", "no_new_privileges", "pid_namespace"])
        var sandbox = SandboxSpec()
        switch try section.nonEmptyString("seccomp") {
        case nil, "default": sandbox.seccomp = .default
        case "none": sandbox.seccomp = .none
        case let file?:
            sandbox.seccomp = .policyFile(file.hasPrefix("/") ? file : profileDirectory + "/" + file)
        }
        sandbox.deny = try syscallNames(section, "deny")
        sandbox.allow = try syscallNames(section, "allow")
        if sandbox.seccomp == .none, !sandbox.deny.isEmpty || !sandbox.allow.isEmpty {
            throw section.error(.invalidValue, sandbox.deny.isEmpty ? "allow" : "deny",
                                "has no effect with seccomp = \"none\"")
        }
        sandbox.action = try section.choice("action", SandboxSpec.Action.self) ?? .errno
        sandbox.noExec = try section.bool("no_exec") ?? false
        sandbox.noNewPrivileges = try section.bool("no_new_privileges") ?? true
        sandbox.pidNamespace = try section.bool("pid_namespace") ?? true
        return sandbox
    }

    /// Syscall names are only shape-checked here; the launcher asks libseccomp whether they exist.
    static func syscallNames(_ section: Section, _ key: String) throws(ProfileError) -> [String] {
        var names: [String] = []
        for name in try section.strings(key) ?? [] where !names.contains(name) {
            let ok = (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { c in
                (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_")
            }
            guard ok else {
                throw section.error(.invalidValue, key, "bad syscall name \"\(name)\"",
                                    hint: "syscall names are lowercase letters, digits and _, e.g. \"ptrace\"")
            }
            names.append(name)
        }
        return names
    }

    static func parseRestart(_ section: Section) throws(ProfileError) -> RestartSpec {
        try section.checkKeys([
            "policy", "delay", "max_delay", "stable_after", "burst", "interval",
            "stop_signal", "stop_timeout", "reload", "success_exit_codes",
        ])
        var restart = RestartSpec()
        restart.policy = try section.choice("policy", RestartSpec.Policy.self) ?? restart.policy
        restart.delay = try section.duration("delay") ?? restart.delay
        restart.maxDelay = try section.duration("max_delay") ?? restart.maxDelay
        restart.stableAfter = try section.duration("stable_after")
        restart.interval = try section.duration("interval") ?? restart.interval
        restart.stopTimeout = try section.duration("stop_timeout") ?? restart.stopTimeout
        restart.reload = try section.choice("reload", RestartSpec.Reload.self) ?? restart.reload
        if let burst = try section.int("burst") {
            guard burst >= 1 else { throw section.error(.invalidValue, "burst", "must be at least 1") }
            restart.burst = burst
        }
        guard restart.delay <= restart.maxDelay else {
            throw section.error(.invalidValue, section.contains("delay") ? "delay" : "max_delay",
                                "delay (\(restart.delay)) is longer than max_delay (\(restart.maxDelay))")
        }
        guard restart.interval.milliseconds > 0 else {
            throw section.error(.invalidValue, "interval", "must be longer than 0s")
        }
        restart.stopSignal = try stopSignal(section) ?? restart.stopSignal
        if let codes = section.table["success_exit_codes"] {
            guard let array = codes.array else {
                throw section.wrongType("success_exit_codes", expected: "an array of integers")
            }
            restart.successExitCodes = [0]
            for element in array {
                guard let n = element.int, (0...255).contains(n) else {
                    throw section.error(.invalidValue, "success_exit_codes", "exit codes are integers from 0 to 255")
                }
                if !restart.successExitCodes.contains(Int32(n)) { restart.successExitCodes.append(Int32(n)) }
            }
        }
        return restart
    }

    static func stopSignal(_ section: Section) throws(ProfileError) -> Int32? {
        guard let value = section.table["stop_signal"] else { return nil }
        guard let raw = value.string ?? value.int.map(String.init) else {
            throw section.wrongType("stop_signal", expected: "a signal name or number")
        }
        guard let n = Signals.number(named: raw) else {
            throw section.error(.invalidValue, "stop_signal", "unknown signal \"\(raw)\"",
                                hint: "use a name such as \"SIGTERM\" or \"INT\", or a number")
        }
        return n
    }

    static func parsePolicy(_ section: Section) throws(ProfileError) -> PolicySpec {
        try section.checkKeys(["max_key_age", "enforce_max_age", "forbid_scopes"])
        var policy = PolicySpec()
        policy.maxKeyAge = try section.duration("max_key_age")
        policy.enforceMaxAge = try section.bool("enforce_max_age") ?? false
        policy.forbidScopes = try section.strings("forbid_scopes") ?? []
        if policy.forbidScopes.contains("") {
            throw section.error(.invalidValue, "forbid_scopes", "scope names must not be empty")
        }
        return policy
    }
}
