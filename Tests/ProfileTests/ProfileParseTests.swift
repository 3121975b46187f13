#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Profile

/// A full example profile, every section filled in.
let designProfile = #"""
description = "Coinbase trading bot"
command = ["/usr/bin/python3", "bot.py", "--live"]
workdir = "/srv/bot"
user = "bot"                       # optional privilege drop; needs root
vault = "~/.config/run-with-keys/vault.age"   # optional

[env]
inherit = ["PATH", "LANG", "TZ"]   # everything else is cleared
set = { LOG_LEVEL = "info" }

[keys]
COINBASE_API_KEY = "coinbase/key"                       # env var <- secret
COINBASE_API_PASSPHRASE = { secret = "coinbase/passphrase", max_age = "90d" }
COINBASE_KEY_FILE = { secret = "coinbase/cdp-key-json", as = "file" }  # sealed memfd; the var holds /proc/self/fd/N

[limits]                           # rlimits; "unlimited" allowed
core = 0
nofile = 1024
address_space = "2G"
processes = 256

[sandbox]
seccomp = "default"                # "default" | "none" | path to a policy file
deny = ["socketpair"]              # extra syscalls to refuse
action = "errno"                   # "errno" (EPERM) | "kill"
no_exec = false                    # refuse every execve after the bot's own
no_new_privileges = true

[restart]
policy = "on-failure"              # "no" | "on-failure" | "always"
delay = "1s"
max_delay = "1m"                   # exponential with jitter; reset after a stable run
burst = 5
interval = "10m"                   # give up after `burst` starts within `interval`
stop_signal = "SIGTERM"
stop_timeout = "10s"
reload = "restart"                 # on SIGHUP or a vault change: re-decrypt, then restart the bot

[output]
redact = true                      # mask secret values in the bot's stdout/stderr
"""#

func parse(_ toml: String) throws(ProfileError) -> Profile {
    try Profile.parse(toml: toml, path: "profiles/bot.toml", name: "bot")
}

/// The error parsing `toml` fails with, or nil if it parses.
func parseError(_ toml: String) -> ProfileError? {
    do {
        _ = try parse(toml)
        return nil
    } catch {
        return error
    }
}

@Suite struct ProfileParseTests {
    @Test func designProfileParsesToExactValues() throws {
        let home = String(cString: try #require(getenv("HOME")))
        var expected = Profile(name: "bot", path: "profiles/bot.toml",
                               command: ["/usr/bin/python3", "bot.py", "--live"])
        expected.description = "Coinbase trading bot"
        expected.workdir = "/srv/bot"
        expected.user = "bot"
        expected.vault = home + "/.config/run-with-keys/vault.age"
        expected.env = EnvSpec(inherit: ["PATH", "LANG", "TZ"], set: [EnvPair(name: "LOG_LEVEL", value: "info")])
        expected.keys = [
            KeySpec(variable: "COINBASE_API_KEY", secret: "coinbase/key"),
            KeySpec(variable: "COINBASE_API_PASSPHRASE", secret: "coinbase/passphrase",
                    maxAge: .seconds(90 * 86_400)),
            KeySpec(variable: "COINBASE_KEY_FILE", secret: "coinbase/cdp-key-json", mode: .file),
        ]
        expected.limits = [
            LimitSpec(resource: .core, soft: .value(0), hard: .value(0)),
            LimitSpec(resource: .nofile, soft: .value(1024), hard: .value(1024)),
            LimitSpec(resource: .addressSpace, soft: .value(2 << 30), hard: .value(2 << 30)),
            LimitSpec(resource: .processes, soft: .value(256), hard: .value(256)),
        ]
        expected.sandbox.deny = ["socketpair"]
        expected.restart.policy = .onFailure
        expected.restart.maxDelay = .seconds(60)
        expected.restart.reload = .restart
        expected.output.redact = true

        let profile = try parse(designProfile)
        #expect(profile == expected)
        // Spot checks that do not rely on the defaults in `expected`.
        #expect(profile.restart.interval == .seconds(600))
        #expect(profile.restart.stopSignal == SIGTERM)
        #expect(profile.sandbox.seccomp == .default && profile.sandbox.action == .errno)
    }

    @Test func defaultsForCommandOnly() throws {
        let p = try parse(#"command = ["bot"]"#)
        #expect(p.command == ["bot"])
        #expect(p.name == "bot" && p.path == "profiles/bot.toml")
        #expect(p.description == nil && p.workdir == nil && p.user == nil && p.group == nil)
        #expect(p.vault == nil && p.identityCommand == nil)
        #expect(p.env == EnvSpec(inherit: [], set: []))
        #expect(p.keys.isEmpty)
        #expect(p.limits == [LimitSpec(resource: .core, soft: .value(0), hard: .value(0))])
        #expect(p.sandbox.seccomp == .default && p.sandbox.deny.isEmpty && p.sandbox.allow.isEmpty)
        #expect(p.sandbox.action == .errno && !p.sandbox.noExec && p.sandbox.noNewPrivileges)
        let r = p.restart
        #expect(r.policy == .no && r.delay == .seconds(1) && r.maxDelay == .seconds(60) && r.stableAfter == nil)
        #expect(r.burst == 5 && r.interval == .seconds(600) && r.stopSignal == SIGTERM)
        #expect(r.stopTimeout == .seconds(10) && r.reload == RestartSpec.Reload.none && r.successExitCodes == [0])
        #expect(p.output.redact)
        #expect(p.policy == PolicySpec())
    }

    @Test func everyOtherFormParses() throws {
        let p = try parse(#"""
        command = ["bot"]
        group = 1001
        identity_command = "pass show age-key"
        [env.set]
        B_VAR = "2"
        A_VAR = "1"
        [keys]
        ZED = { secret = "z", as = "fd", fd = 7 }
        ALPHA = { secret = "a", as = "env" }
        MID = "m"
        [limits]
        nofile = { soft = 1024, hard = 4096 }
        stack = "8M"
        cpu = "10m"
        fsize = "unlimited"
        core = "unlimited"
        memlock = 65536
        [sandbox]
        seccomp = "policies/bot.seccomp"
        action = "kill"
        no_exec = true
        no_new_privileges = false
        [restart]
        delay = 2
        stable_after = "5m"
        stop_signal = "int"
        success_exit_codes = [3, 0, 3]
        [policy]
        max_key_age = "30d"
        enforce_max_age = true
        forbid_scopes = ["withdraw"]
        """#)
        #expect(p.group == "1001" && p.identityCommand == "pass show age-key")
        #expect(p.env.set == [EnvPair(name: "B_VAR", value: "2"), EnvPair(name: "A_VAR", value: "1")])
        #expect(p.keys.map(\.variable) == ["ZED", "ALPHA", "MID"])
        #expect(p.keys[0].mode == .fd(7) && p.keys[1].mode == .env && p.keys[2].secret == "m")
        #expect(p.limits == [
            LimitSpec(resource: .nofile, soft: .value(1024), hard: .value(4096)),
            LimitSpec(resource: .stack, soft: .value(8 << 20), hard: .value(8 << 20)),
            LimitSpec(resource: .cpu, soft: .value(600), hard: .value(600)),
            LimitSpec(resource: .fsize, soft: .unlimited, hard: .unlimited),
            LimitSpec(resource: .core, soft: .unlimited, hard: .unlimited),
            LimitSpec(resource: .memlock, soft: .value(65536), hard: .value(65536)),
        ])
        #expect(p.sandbox.seccomp == .policyFile(ProfileLocator.currentDirectory()! + "/profiles/policies/bot.seccomp"))   // relative: against the profile's directory, made absolute
        #expect(p.sandbox.action == .kill)
        #expect(try parse("command = [\"bot\"]\n[sandbox]\nallow = [\"ptrace\"]").sandbox.allow == ["ptrace"])   // default filter only
        #expect(p.sandbox.noExec && !p.sandbox.noNewPrivileges)
        #expect(p.restart.delay == .seconds(2) && p.restart.stableAfter == .seconds(300))
        #expect(p.restart.stopSignal == SIGINT && p.restart.successExitCodes == [0, 3])
        #expect(p.policy.maxKeyAge == .seconds(30 * 86_400) && p.policy.enforceMaxAge)
        #expect(p.policy.forbidScopes == ["withdraw"])
    }

    @Test func keyPositionsGiveLinesAndFileOrder() {
        let positions = KeyPositions(text: #"""
        a = "x # not a comment"   # comment
        [t]
        'q.k' = """
        still = "a string"
        """
        z = { y = [1, { w = 2 }], "x.y" = 3 }
        """#)
        #expect(positions.line(of: ["a"]) == 1)
        #expect(positions.line(of: ["t", "q.k"]) == 3)
        #expect(positions.line(of: ["t", "still"]) == nil)
        #expect(positions.line(of: ["t", "z", "x.y"]) == 6)
        #expect(positions.line(of: ["t", "z", "w"]) == nil)
        #expect(positions.fileOrder(["x.y", "y"], in: ["t", "z"]) == ["y", "x.y"])
    }
}
