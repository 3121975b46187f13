#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Profile

/// Relative paths in a profile resolve against the profile's own directory.
@Suite struct RelativePathTests {
    @Test func commandAndWorkdirResolveAgainstTheProfileDirectory() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let file = try dir.write("fleet/profiles/bot.toml", #"""
            command = ["bin/bot", "script.py"]
            workdir = ".."
            """#)
        let p = try Profile.load(path: file)
        #expect(p.command == [dir.path + "/fleet/profiles/bin/bot", "script.py"])   // arguments are the bot's business
        #expect(p.workdir == dir.path + "/fleet")
    }

    @Test func bareNamesAbsolutePathsAndUnsetWorkdirStay() throws {
        let p = try Profile.parse(toml: #"command = ["python3"]"#, path: "/srv/p/bot.toml", name: "bot")
        #expect(p.command == ["python3"] && p.workdir == nil)
        let q = try Profile.parse(toml: "command = [\"/usr/bin/env\"]\nworkdir = \"/srv/bot\"", path: "/srv/p/bot.toml", name: "bot")
        #expect(q.command == ["/usr/bin/env"] && q.workdir == "/srv/bot")
        let r = try Profile.parse(toml: "command = [\"./run.sh\"]\nworkdir = \"state\"", path: "/srv/p/bot.toml", name: "bot")
        #expect(r.command == ["/srv/p/run.sh"] && r.workdir == "/srv/p/state")
    }

    @Test func aRelativeProfilePathIsMadeAbsolute() throws {
        let p = try Profile.parse(toml: #"command = ["./run.sh"]"#, path: "profiles/bot.toml", name: "bot")
        let cwd = ProfileLocator.currentDirectory()!
        #expect(p.command[0] == cwd + "/profiles/run.sh")
        #expect(p.path == "profiles/bot.toml")
    }
}
