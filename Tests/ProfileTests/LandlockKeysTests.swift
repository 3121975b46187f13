#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Profile

/// `[sandbox]` keys for Landlock: filesystem, read/write/exec, connect, bind, signals, require.
@Suite struct LandlockKeysTests {
    func sandbox(_ body: String) -> String { "command = [\"/bin/true\"]\n[sandbox]\n" + body + "\n" }

    @Test func defaultsHideKeysScopeSignalsAndLeaveTheNetworkAlone() throws {
        let s = try parse(sandbox("")).sandbox
        #expect(s.filesystem == .hideKeys && s.signals == .scoped && s.abstractSockets == .scoped)
        #expect(s.connect == nil && s.bind == nil && s.require.isEmpty)
    }

    @Test func parsesPortsListsAndRequire() throws {
        let s = try parse(sandbox("""
            filesystem = "allowlist"
            read = ["/usr", "/usr"]
            write = ["/tmp"]
            exec = ["/bin/sh"]
            connect = [443, 8443, 443]
            bind = []
            signals = "off"
            abstract_sockets = "off"
            require = ["filesystem", "network", "tree"]
            """)).sandbox
        #expect(s.read.map(\.path) == ["/usr"] && s.read[0].key == "sandbox.read" && s.read[0].line == 4)
        #expect(s.write.map(\.path) == ["/tmp"] && s.exec.map(\.path) == ["/bin/sh"])
        #expect(s.connect == [443, 8443] && s.bind == [] && s.signals == .off && s.abstractSockets == .off)
        #expect(s.require == [.filesystem, .network, .tree])
    }

    @Test func relativeAndHomePathsAreResolved() throws {
        let home = String(cString: try #require(getenv("HOME")))
        let p = try Profile.parse(toml: sandbox("filesystem = \"allowlist\"\nread = [\"bin\", \"~/\"]"),
                                  path: "/usr/bot.toml", name: "bot")
        #expect(p.sandbox.read.map(\.path) == ["/usr/bin", home + "/"])
    }

    @Test(arguments: [
        ("filesystem = \"hide\"", "profiles/bot.toml: sandbox.filesystem: unknown value \"hide\" (line 3)", "did you mean \"hide-keys\"?"),
        ("connect = [0]", "profiles/bot.toml: sandbox.connect: bad TCP port 0 (line 3)", "ports are integers from 1 to 65535"),
        ("bind = [65536]", "profiles/bot.toml: sandbox.bind: bad TCP port 65536 (line 3)", "ports are integers from 1 to 65535"),
        ("connect = [\"443\"]", "profiles/bot.toml: sandbox.connect: bad TCP port a string (line 3)", "ports are integers from 1 to 65535"),
        ("connect = 443", "profiles/bot.toml: sandbox.connect: expected an array of TCP port numbers, found an integer (line 3)", nil),
        ("require = [\"filesytem\"]", "profiles/bot.toml: sandbox.require: unknown protection \"filesytem\" (line 3)", "did you mean \"filesystem\"?"),
        ("read = [\"/usr\"]", "profiles/bot.toml: sandbox.read: has no effect with filesystem = \"hide-keys\" (line 3)", "set filesystem = \"allowlist\", or remove read"),
        ("filesystem = \"off\"\nexec = [\"/usr\"]", "profiles/bot.toml: sandbox.exec: has no effect with filesystem = \"off\" (line 4)", "set filesystem = \"allowlist\", or remove exec"),
        ("filesystem = \"allowlist\"\nwrite = [\"/nonexistent-rwk\"]", "profiles/bot.toml: sandbox.write: /nonexistent-rwk: No such file or directory (line 4)", "every path in write must exist when the bot starts; create it or remove it from the list"),
        ("filesystem = \"off\"\nrequire = [\"filesystem\"]", "profiles/bot.toml: sandbox.require: requires \"filesystem\", but filesystem = \"off\" (line 4)", nil),
        ("require = [\"network\"]", "profiles/bot.toml: sandbox.require: requires \"network\", but neither connect nor bind is set (line 3)", nil),
        ("signals = \"none\"", "profiles/bot.toml: sandbox.signals: unknown value \"none\" (line 3)", "use one of \"scoped\", \"off\""),
        ("abstract_sockets = \"off\"\nrequire = [\"abstract-sockets\"]", "profiles/bot.toml: sandbox.require: requires \"abstract-sockets\", but abstract_sockets = \"off\" (line 4)", nil),
        ("filesystm = \"off\"", "profiles/bot.toml: [sandbox] unknown key \"filesystm\" (line 3)", "did you mean \"filesystem\"?"),
        ("seccomp = \"none\"\ndeny = [\"socketpair\"]", "profiles/bot.toml: sandbox.deny: has no effect with seccomp = \"none\" (line 4)", nil),
        ("seccomp = \"/etc/bot.policy\"\nallow = [\"ptrace\"]", "profiles/bot.toml: sandbox.allow: has no effect with a seccomp policy file (line 4)",
         "a policy file is the whole allowlist: add or remove the syscalls there"),
    ] as [(String, String, String?)])
    func rejects(body: String, message: String, hint: String?) {
        let e = parseError(sandbox(body))
        #expect(e?.message == message)
        #expect(e?.hints.first == hint)
    }
}
