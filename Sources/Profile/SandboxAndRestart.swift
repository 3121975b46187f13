import TOMLKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Parsing of `[sandbox]`, `[restart]` and `[policy]`.
extension Profile {
    static func parseSandbox(_ section: Section) throws(ProfileError) -> SandboxSpec {
        try section.checkKeys(["seccomp", "deny", "allow", "action", "no_exec", "no_new_privileges", "pid_namespace",
                               "filesystem", "read", "write", "exec", "connect", "bind", "signals", "abstract_sockets",
                               "require", "capabilities"])
        var sandbox = SandboxSpec()
        switch try section.nonEmptyString("seccomp") {
        case nil, "default": sandbox.seccomp = .default
        case "none": sandbox.seccomp = .none
        case let file?:
            sandbox.seccomp = .policyFile(file.hasPrefix("/") ? file : section.context.directory(of: section.path + ["seccomp"]) + "/" + file)
        }
        sandbox.deny = try syscallNames(section, "deny")
        sandbox.allow = try syscallNames(section, "allow")
        if sandbox.seccomp != .default, !sandbox.deny.isEmpty || !sandbox.allow.isEmpty {
            let key = sandbox.deny.isEmpty ? "allow" : "deny"
            if sandbox.seccomp == .none { throw section.error(.invalidValue, key, "has no effect with seccomp = \"none\"") }
            throw section.error(.invalidValue, key, "has no effect with a seccomp policy file",
                                hint: "a policy file is the whole allowlist: add or remove the syscalls there"
                                    + (section.context.layers.count > 1 ? " (`\(key) = []` here clears an extended profile's)" : ""))
        }
        sandbox.action = try section.choice("action", SandboxSpec.Action.self) ?? .errno
        sandbox.noExec = try section.bool("no_exec") ?? false
        sandbox.noNewPrivileges = try section.bool("no_new_privileges") ?? true
        sandbox.pidNamespace = try section.bool("pid_namespace") ?? true
        sandbox.capabilities = try capabilities(section)
        try parseLandlock(section, into: &sandbox)
        return sandbox
    }

    /// `capabilities = ["CAP_NET_BIND_SERVICE"]`: names as capabilities(7) writes them,
    /// the CAP_ prefix and case optional; each once.
    static func capabilities(_ section: Section) throws(ProfileError) -> [Capability] {
        var out: [Capability] = []
        for name in try section.strings("capabilities") ?? [] {
            guard let cap = Capability(name: name) else {
                let upper = name.uppercased()
                if upper == "ALL" || upper == "CAP_ALL" {
                    throw section.error(.invalidValue, "capabilities", "unknown capability \"\(name)\"",
                                        hint: "there is no \"ALL\": list each capability the bot needs, as capabilities(7) names them")
                }
                throw section.error(.invalidValue, "capabilities", "unknown capability \"\(name)\"",
                                    hint: Suggest.closest(to: upper.hasPrefix("CAP_") ? upper : "CAP_" + upper, in: Capability.allNames).map { "did you mean \"\($0)\"?" }
                                        ?? "capabilities(7) lists them, e.g. \"CAP_NET_BIND_SERVICE\"")
            }
            if !out.contains(cap) { out.append(cap) }
        }
        return out
    }

    /// The Landlock keys: filesystem, read/write/exec, connect, bind, signals, abstract_sockets, require.
    static func parseLandlock(_ section: Section, into sandbox: inout SandboxSpec) throws(ProfileError) {
        sandbox.filesystem = try section.choice("filesystem", SandboxSpec.Filesystem.self) ?? .hideKeys
        sandbox.read = try accessPaths(section, "read")
        sandbox.write = try accessPaths(section, "write")
        sandbox.exec = try accessPaths(section, "exec")
        if sandbox.filesystem != .allowlist {
            for key in ["read", "write", "exec"] where section.contains(key) {
                throw section.error(.invalidValue, key, "has no effect with filesystem = \"\(sandbox.filesystem.rawValue)\"",
                                    hint: "set filesystem = \"allowlist\", or remove \(key)")
            }
        }
        sandbox.connect = try ports(section, "connect")
        sandbox.bind = try ports(section, "bind")
        sandbox.signals = try section.choice("signals", SandboxSpec.Scope.self) ?? .scoped
        sandbox.abstractSockets = try section.choice("abstract_sockets", SandboxSpec.Scope.self) ?? .scoped
        for name in try section.strings("require") ?? [] {
            guard let p = SandboxSpec.Protection(rawValue: name) else {
                let names = SandboxSpec.Protection.allCases.map(\.rawValue)
                throw section.error(.invalidValue, "require", "unknown protection \"\(name)\"",
                                    hint: Suggest.closest(to: name, in: names).map { "did you mean \"\($0)\"?" }
                                        ?? "use any of " + names.map { "\"\($0)\"" }.joined(separator: ", "))
            }
            if !sandbox.require.contains(p) { sandbox.require.append(p) }
        }
        // A switch, not a dictionary keyed by Protection: its first use at every
        // launch would cost a protocol conformance lookup.
        func turnedOff(_ p: SandboxSpec.Protection) -> String? {
            switch p {
            case .filesystem: return sandbox.filesystem == .off ? "filesystem = \"off\"" : nil
            case .network: return sandbox.connect == nil && sandbox.bind == nil ? "neither connect nor bind is set" : nil
            case .signals: return sandbox.signals == .off ? "signals = \"off\"" : nil
            case .abstractSockets: return sandbox.abstractSockets == .off ? "abstract_sockets = \"off\"" : nil
            case .tree: return nil
            }
        }
        for p in sandbox.require {
            if let why = turnedOff(p) {
                throw section.error(.invalidValue, "require", "requires \"\(p.rawValue)\", but \(why)")
            }
        }
    }

    /// A list of paths that must exist now: `~/` expanded, relative ones against the directory of the file that wrote them.
    static func accessPaths(_ section: Section, _ key: String) throws(ProfileError) -> [SandboxSpec.AccessPath] {
        var out: [SandboxSpec.AccessPath] = []
        let line = section.context.line(of: section.path + [key])
        for raw in try section.strings(key) ?? [] {
            guard !raw.isEmpty else { throw section.error(.invalidValue, key, "paths must not be empty") }
            var path = expandHome(raw)
            if !path.hasPrefix("/") { path = section.context.directory(of: section.path + [key]) + "/" + path }
            var st = stat()
            guard stat(path, &st) == 0 else {
                let reason = String(cString: strerror(errno))
                throw section.error(.invalidValue, key, "\(path): \(reason)",
                                    hint: "every path in \(key) must exist when the bot starts; create it or remove it from the list")
            }
            if !out.contains(where: { $0.path == path }) {
                out.append(SandboxSpec.AccessPath(path: path, key: section.keyPath(key), line: line))
            }
        }
        return out
    }

    /// TCP ports: integers 1...65535, duplicates dropped; nil when the key is absent.
    static func ports(_ section: Section, _ key: String) throws(ProfileError) -> [UInt16]? {
        guard let value = section.table[key] else { return nil }
        guard let array = value.array else { throw section.wrongType(key, expected: "an array of TCP port numbers") }
        var out: [UInt16] = []
        for element in array {
            guard let n = element.int, (1...65535).contains(n) else {
                let shown = element.int.map(String.init) ?? Section.describe(element.type)
                throw section.error(.invalidValue, key, "bad TCP port \(shown)", hint: "ports are integers from 1 to 65535")
            }
            if !out.contains(UInt16(n)) { out.append(UInt16(n)) }
        }
        return out
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
            "stop_signal", "stop_timeout", "reload", "reload_signal", "success_exit_codes",
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
        restart.stopSignal = try signal(section, "stop_signal") ?? restart.stopSignal
        if let sig = try signal(section, "reload_signal") {
            guard restart.reload == .signal else {
                throw section.error(.invalidValue, "reload_signal", "has no effect unless reload = \"signal\"")
            }
            restart.reloadSignal = sig
        }
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

    static func signal(_ section: Section, _ key: String) throws(ProfileError) -> Int32? {
        guard let value = section.table[key] else { return nil }
        guard let raw = value.string ?? value.int.map(String.init) else {
            throw section.wrongType(key, expected: "a signal name or number")
        }
        guard let n = Signals.number(named: raw) else {
            throw section.error(.invalidValue, key, "unknown signal \"\(raw)\"",
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
