import Testing
@testable import Launch
import Profile

@Suite struct ExecLimitsTests {
    let profile = Profile(name: "p", path: "/p.toml", command: ["/bin/true"])

    @Test func perStringLimitIncludesNameAndNUL() throws {
        // "K=" + value + NUL: 131072 bytes fit exactly, one more does not.
        try ExecLimits.check(arguments: ["/bin/true"], environment: [("K", 131_072 - 3, "s")], profile: profile)
        #expect(throws: PlanError.self) {
            try ExecLimits.check(arguments: ["/bin/true"], environment: [("K", 131_072 - 2, "s")], profile: profile)
        }
        #expect(throws: PlanError.self) {
            try ExecLimits.check(arguments: [String(repeating: "a", count: 131_072)], environment: [], profile: profile)
        }
    }

    @Test func totalLimitCountsPointers() throws {
        let env = (0..<10).map { ("V\($0)", 1000, Optional("s\($0)")) }
        // strings: 10 + 10 * (2 + 1 + 1000 + 1) = 10050, pointers: (1 + 10 + 2) * 8 = 104.
        try ExecLimits.check(arguments: ["/bin/true"], environment: env, profile: profile, totalLimit: 10_154)
        do {
            try ExecLimits.check(arguments: ["/bin/true"], environment: env, profile: profile, totalLimit: 10_153)
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains("10154 bytes") && error.hints[0].contains("as = \"file\""))
        }
    }
}
