#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Profile

/// `extends`: tables merge key by key, arrays, values and [keys] entries replace; cycles are refused.
@Suite struct ExtendsTests {
    static let base = #"""
        command = ["/bin/false"]
        workdir = "state"
        [env]
        inherit = ["PATH", "LANG"]
        set = { LOG_LEVEL = "info", MODE = "live" }
        [keys]
        API_KEY = { secret = "live/key", as = "file" }
        [limits]
        nofile = 512
        [sandbox]
        no_exec = true
        deny = ["socketpair"]
        [restart]
        policy = "on-failure"
        """#

    @Test func tablesMergeArraysAndValuesReplace() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        try dir.write("base/state/.keep", "")
        try dir.write("base/base.toml", Self.base)
        let file = try dir.write("bots/paper.toml", #"""
            extends = "../base/base.toml"
            command = ["/bin/true", "--paper"]
            [env]
            inherit = ["PATH"]
            set = { MODE = "paper" }
            [keys]
            API_KEY = "paper/key"
            OTHER = "paper/other"
            [sandbox]
            deny = ["ptrace"]
            """#)
        let p = try Profile.load(path: file, home: dir.path)
        #expect(p.layers == [file, dir.path + "/bots/../base/base.toml"])
        #expect(p.command == ["/bin/true", "--paper"])
        #expect(p.workdir == dir.path + "/base/state")   // relative to the file that wrote it
        #expect(p.env.inherit == ["PATH"])
        #expect(p.env.set == [EnvPair(name: "LOG_LEVEL", value: "info"), EnvPair(name: "MODE", value: "paper")])
        #expect(p.keys == [KeySpec(variable: "API_KEY", secret: "paper/key"), KeySpec(variable: "OTHER", secret: "paper/other")])
        #expect(p.limits.contains(LimitSpec(resource: .nofile, soft: .value(512), hard: .value(512))))
        #expect(p.sandbox.noExec && p.sandbox.deny == ["ptrace"])
        #expect(p.restart.policy == .onFailure)
    }

    @Test func byNameErrorsNameTheFileAndCyclesAreRefused() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        try dir.write("profiles/base.toml", Self.base.replacingOccurrences(of: "on-failure", with: "sometimes"))
        let bot = try dir.write("profiles/bot.toml", "extends = \"base\"\ncommand = [\"/bin/true\"]\n")
        let bad = #expect(throws: ProfileError.self) { try Profile.load(path: bot, home: dir.path) }
        #expect(bad?.message.hasPrefix(dir.path + "/profiles/base.toml: restart.policy") == true)
        #expect(bad?.line == 14)

        let a = try dir.write("profiles/a.toml", "extends = \"b\"\ncommand = [\"/bin/true\"]\n")
        try dir.write("profiles/b.toml", "extends = \"a.toml\"\n")
        let cycle = #expect(throws: ProfileError.self) { try Profile.load(path: a, home: dir.path) }
        #expect(cycle?.message.contains("cycle") == true)
        #expect(cycle?.message.contains("profiles/a.toml") == true && cycle?.message.contains("profiles/b.toml") == true)
    }
}

private extension String {
    func replacingOccurrences(of a: String, with b: String) -> String {
        var out = "", rest = Substring(self)
        while let r = rest.firstRange(of: a) { out += rest[..<r.lowerBound] + b; rest = rest[r.upperBound...] }
        return out + rest
    }
}
