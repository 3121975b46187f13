import Testing
@testable import Profile

/// `[sandbox] capabilities`: what a root bot keeps of root's capabilities(7).
@Suite struct CapabilityKeysTests {
    func sandbox(_ body: String) -> String { "command = [\"/bin/true\"]\n[sandbox]\n" + body + "\n" }

    @Test func noneByDefault() throws {
        #expect(try parse(sandbox("")).sandbox.capabilities.isEmpty)
        #expect(Capability.mask([]) == 0)
    }

    @Test func namesWithOrWithoutThePrefixInAnyCaseOnceEach() throws {
        let caps = try parse(sandbox(#"capabilities = ["CAP_NET_BIND_SERVICE", "net_raw", "Cap_Kill", "NET_RAW"]"#)).sandbox.capabilities
        #expect(caps.map(\.name) == ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_KILL"])
        #expect(caps.map(\.number) == [10, 13, 5])
        #expect(Capability.mask(caps) == 1 << 10 | 1 << 13 | 1 << 5)
    }

    /// The numbers are the kernel's (linux/capability.h): the first, the last and a few between.
    @Test func numbersMatchTheKernelHeader() throws {
        let known = [("CAP_CHOWN", 0), ("CAP_SETPCAP", 8), ("CAP_SYS_ADMIN", 21), ("CAP_AUDIT_READ", 37),
                     ("CAP_CHECKPOINT_RESTORE", 40)]
        for (name, number) in known { #expect(Capability(name: name)?.number == number, "\(name)") }
        #expect(Capability.allNames.count == 41)
    }

    @Test(arguments: [
        (#"capabilities = ["net_bind_servce"]"#, #"profiles/bot.toml: sandbox.capabilities: unknown capability "net_bind_servce" (line 3)"#,
         #"did you mean "CAP_NET_BIND_SERVICE"?"#),
        (#"capabilities = ["CAP_EVERYTHING"]"#, #"profiles/bot.toml: sandbox.capabilities: unknown capability "CAP_EVERYTHING" (line 3)"#,
         #"capabilities(7) lists them, e.g. "CAP_NET_BIND_SERVICE""#),
        (#"capabilities = ["ALL"]"#, #"profiles/bot.toml: sandbox.capabilities: unknown capability "ALL" (line 3)"#,
         #"there is no "ALL": list each capability the bot needs, as capabilities(7) names them"#),
        (#"capabilities = "CAP_KILL""#, "profiles/bot.toml: sandbox.capabilities: expected an array of strings, found a string (line 3)", nil),
    ] as [(String, String, String?)])
    func rejects(body: String, message: String, hint: String?) {
        let e = parseError(sandbox(body))
        #expect(e?.message == message)
        #expect(e?.hints.first == hint)
    }
}
