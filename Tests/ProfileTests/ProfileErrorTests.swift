import Testing
@testable import Profile

@Suite struct ProfileErrorTests {
    @Test func tomlSyntaxError() throws {
        let e = try #require(parseError("command = [\"bot\"]\nuser = \"bot\n"))
        #expect(e.kind == .syntax)
        #expect(e.line == 2)
        #expect(e.message.hasPrefix("profiles/bot.toml: invalid TOML: "))
        #expect(e.message.hasSuffix("(line 2, column 12)"))
        #expect(!e.message.contains("\n"))
    }

    @Test func unknownTopLevelKey() throws {
        let e = try #require(parseError("command = [\"bot\"]\n\ncomand = [\"x\"]\n"))
        #expect(e.kind == .unknownKey)
        #expect(e.message == #"profiles/bot.toml: unknown key "comand" (line 3)"#)
        #expect(e.hints.first == #"did you mean "command"?"#)
        #expect(e.line == 3)
    }

    @Test func unknownSandboxKey() throws {
        let e = try #require(parseError(#"""
        command = ["bot"]
        [sandbox]
        deny = ["ptrace"]
        seccom = "none"
        """#))
        #expect(e.kind == .unknownKey)
        #expect(e.message == #"profiles/bot.toml: [sandbox] unknown key "seccom" (line 4)"#)
        #expect(e.hints.first == #"did you mean "seccomp"?"#)
    }

    @Test func unknownKeyWithoutCloseMatchListsValidKeys() throws {
        let e = try #require(parseError("command = [\"bot\"]\n[output]\nbanana = 1\n"))
        #expect(e.hints.first == "valid keys here: redact")
    }

    @Test func unknownKeyInsideInlineTableAndLimits() throws {
        let e1 = try #require(parseError("command = [\"bot\"]\n[keys]\nA = { secret = \"a\", max_agee = \"1d\" }\n"))
        #expect(e1.message == #"profiles/bot.toml: [keys.A] unknown key "max_agee" (line 3)"#)
        #expect(e1.hints.first == #"did you mean "max_age"?"#)
        let e2 = try #require(parseError("command = [\"bot\"]\n[limits]\nnofiles = 10\n"))
        #expect(e2.hints.first == #"did you mean "nofile"?"#)
        let e3 = try #require(parseError("command = [\"bot\"]\n[restart]\nmax_dealy = \"1m\"\n"))
        #expect(e3.message == #"profiles/bot.toml: [restart] unknown key "max_dealy" (line 3)"#)
        #expect(e3.hints.first == #"did you mean "max_delay"?"#)
    }

    @Test func wrongType() throws {
        let e = try #require(parseError("command = [\"bot\"]\n[restart]\nburst = \"5\"\n"))
        #expect(e.kind == .wrongType)
        #expect(e.message == "profiles/bot.toml: restart.burst: expected an integer, found a string (line 3)")
        let e2 = try #require(parseError("command = [\"bot\"]\nsandbox = 5\n"))
        #expect(e2.message == "profiles/bot.toml: sandbox: expected a table, found an integer (line 2)")
    }

    @Test func commandMustBeANonEmptyArray() throws {
        let e = try #require(parseError(#"command = "python3 bot.py""#))
        #expect(e.kind == .wrongType)
        #expect(e.message == "profiles/bot.toml: command: expected an array of strings, found a string (line 1)")
        #expect(e.hints.first?.hasPrefix(#"write command = ["python3", "bot.py"]"#) == true)
        #expect(parseError("command = []")?.message == "profiles/bot.toml: command: must not be empty (line 1)")
        #expect(parseError("user = \"bot\"")?.message == #"profiles/bot.toml: missing key "command""#)
        #expect(parseError("command = [\"bot\", 1]")?.kind == .wrongType)
    }

    @Test func badDuration() throws {
        let e = try #require(parseError("command = [\"bot\"]\n[restart]\ndelay = \"10x\"\n"))
        #expect(e.kind == .invalidValue)
        #expect(e.message == #"profiles/bot.toml: restart.delay: bad duration "10x": expected a number followed by ms, s, m, h or d (line 3)"#)
        #expect(parseError("command = [\"bot\"]\n[restart]\nstop_timeout = -1\n")?.kind == .invalidValue)
    }

    @Test func badSize() throws {
        let e = try #require(parseError("command = [\"bot\"]\n[limits]\naddress_space = \"2X\"\n"))
        #expect(e.kind == .invalidValue)
        #expect(e.message.hasPrefix(#"profiles/bot.toml: limits.address_space: bad size "2X""#))
        #expect(e.line == 3)
        #expect(parseError("command = [\"bot\"]\n[limits]\nnofile = -1\n")?.message
            == "profiles/bot.toml: limits.nofile: must not be negative (line 3)")
        #expect(parseError("command = [\"bot\"]\n[limits]\nnofile = \"2G\"\n")?.kind == .invalidValue)
        #expect(parseError("command = [\"bot\"]\n[limits]\nnofile = { soft = 10, hard = 5 }\n")?.message
            == "profiles/bot.toml: limits.nofile: the soft limit is above the hard limit (line 3)")
    }

    @Test(arguments: [
        (#"A = { secret = "a", as = "fd", fd = 2 }"#, "fd 2 is out of range: use 3 to 1023"),
        (#"A = { secret = "a", as = "fd", fd = 1024 }"#, "fd 1024 is out of range: use 3 to 1023"),
        (#"A = { secret = "a", as = "fd" }"#, #"as = "fd" needs an fd number"#),
        (#"A = { secret = "a", fd = 5 }"#, #"fd is only allowed with as = "fd""#),
        ("A = { secret = \"a\", as = \"fd\", fd = 5 }\nB = { secret = \"b\", as = \"fd\", fd = 5 }",
         "fd 5 is already used by keys.A"),
    ])
    func badFd(entry: String, expected: String) throws {
        let e = try #require(parseError("command = [\"bot\"]\n[keys]\n" + entry + "\n"))
        #expect(e.kind == .invalidValue)
        #expect(e.message.contains(expected))
    }

    @Test func badEnvVarName() throws {
        let e = try #require(parseError("command = [\"bot\"]\n[keys]\n\"1BAD\" = \"a\"\n"))
        #expect(e.message == #"profiles/bot.toml: keys.1BAD: bad variable name "1BAD" (line 3)"#)
        let e2 = try #require(parseError("command = [\"bot\"]\n[env]\ninherit = [\"PATH\", \"RUN_WITH_KEYS_HOME\"]\n"))
        #expect(e2.message == "profiles/bot.toml: env.inherit: RUN_WITH_KEYS_HOME cannot be passed to the bot (line 3)")
        #expect(e2.hints.first?.contains("never reach the child") == true)
        #expect(parseError("command = [\"bot\"]\n[env]\nset = { \"A-B\" = \"1\" }\n")?.kind == .invalidValue)
        #expect(parseError("command = [\"bot\"]\n[env]\ninherit = [\"A\"]\n[keys]\nA = \"a\"\n")?.kind == .invalidValue)
    }

    @Test func badSecretName() throws {
        let e = try #require(parseError("command = [\"bot\"]\n[keys]\nA = \"has space\"\n"))
        #expect(e.message == #"profiles/bot.toml: keys.A: bad secret name "has space" (line 3)"#)
        let long = String(repeating: "x", count: 129)
        #expect(parseError("command = [\"bot\"]\n[keys]\nA = { secret = \"\(long)\" }\n")?.kind == .invalidValue)
        #expect(parseError("command = [\"bot\"]\n[keys]\nA = { secret = \"\" }\n")?.kind == .invalidValue)
    }

    @Test func delayLongerThanMaxDelay() throws {
        let e = try #require(parseError("command = [\"bot\"]\n[restart]\ndelay = \"2m\"\nmax_delay = \"1m\"\n"))
        #expect(e.message == "profiles/bot.toml: restart.delay: delay (2m) is longer than max_delay (1m) (line 3)")
        #expect(parseError("command = [\"bot\"]\n[restart]\nburst = 0\n")?.message
            == "profiles/bot.toml: restart.burst: must be at least 1 (line 3)")
    }

    @Test func otherBadValues() {
        let prefix = "command = [\"bot\"]\n"
        #expect(parseError(prefix + "[restart]\nsuccess_exit_codes = [256]\n")?.kind == .invalidValue)
        #expect(parseError(prefix + "[restart]\nstop_signal = \"SIGFOO\"\n")?.kind == .invalidValue)
        #expect(parseError(prefix + "[restart]\npolicy = \"on_failure\"\n")?.hints.first == #"did you mean "on-failure"?"#)
        #expect(parseError(prefix + "[sandbox]\ndeny = [\"Ptrace\"]\n")?.kind == .invalidValue)
        #expect(parseError(prefix + "[sandbox]\nseccomp = \"none\"\ndeny = [\"ptrace\"]\n")?.kind == .invalidValue)
        #expect(parseError(prefix + "user = \"bad user\"\n")?.kind == .invalidValue)
        #expect(parseError(prefix + "[limits]\ncpu = \"1500ms\"\n")?.kind == .invalidValue)
    }
}
