import Testing
@testable import Profile

@Suite struct LocatorTests {
    @Test func cwdProfilesWinOverHomeThenHomeIsUsed() throws {
        let tmp = try TempDirectory()
        defer { tmp.remove() }
        let local = try tmp.write("cwd/profiles/bot.toml", "command = [\"local\"]\n")
        let inHome = try tmp.write("home/profiles/bot.toml", "command = [\"home\"]\n")
        let onlyHome = try tmp.write("home/profiles/other.toml", "command = [\"other\"]\n")
        let home = tmp.path + "/home", cwd = tmp.path + "/cwd"

        #expect(try ProfileLocator.resolve("bot", home: home, cwd: cwd) == local)
        #expect(try ProfileLocator.resolve("other", home: home, cwd: cwd) == onlyHome)
        let profile = try Profile.load(path: ProfileLocator.resolve("bot", home: home, cwd: cwd))
        #expect(profile.command == ["local"] && profile.name == "bot")

        #expect(unlink(local) == 0)
        #expect(try ProfileLocator.resolve("bot", home: home, cwd: cwd) == inHome)
    }

    @Test func pathArgumentsAreTakenAsIs() throws {
        #expect(try ProfileLocator.resolve("some/dir/bot", home: "/nonexistent") == "some/dir/bot")
        #expect(try ProfileLocator.resolve("bot.toml", home: "/nonexistent") == "bot.toml")
        #expect(try ProfileLocator.resolve("/abs/x.toml", home: "/nonexistent") == "/abs/x.toml")
    }

    @Test func missingProfileListsSearchedDirectories() throws {
        let tmp = try TempDirectory()
        defer { tmp.remove() }
        let home = tmp.path + "/home", cwd = tmp.path + "/cwd"
        let error = #expect(throws: ProfileError.self) {
            try ProfileLocator.resolve("nobot", home: home, cwd: cwd)
        }
        #expect(error?.kind == .notFound)
        #expect(error?.message == #"profile "nobot" not found"#)
        #expect(error?.hint == "looked for nobot.toml in \(cwd)/profiles, \(home)/profiles, /etc/run-with-keys/profiles")
        #expect(ProfileLocator.searchDirectories(home: home, cwd: cwd)
            == [cwd + "/profiles", home + "/profiles", "/etc/run-with-keys/profiles"])
        #expect(ProfileLocator.searchDirectories(home: cwd, cwd: cwd).count == 2)
    }

    @Test func loadReadsFilesAndReportsMissingOnes() throws {
        let tmp = try TempDirectory()
        defer { tmp.remove() }
        let file = try tmp.write("p/trader.toml", "command = [\"bot\"]\n[sandbox]\nseccomp = \"bot.policy\"\n")
        let profile = try Profile.load(path: file)
        #expect(profile.name == "trader" && profile.path == file)
        #expect(profile.sandbox.seccomp == .policyFile(tmp.path + "/p/bot.policy"))
        #expect(try Profile.load(path: file, name: "custom").name == "custom")

        let missing = #expect(throws: ProfileError.self) { try Profile.load(path: tmp.path + "/nope.toml") }
        #expect(missing?.kind == .notFound)
        #expect(missing?.message == "\(tmp.path)/nope.toml: cannot open: No such file or directory")
        let directory = #expect(throws: ProfileError.self) { try Profile.load(path: tmp.path + "/p") }
        #expect(directory?.kind == .unreadable)
    }
}

#if canImport(Glibc)
import Glibc
#endif
