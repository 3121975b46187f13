import Testing
@testable import Profile

@Suite struct LocatorTests {
    @Test func namesResolveInTheHomeOnlyNeverInTheCurrentDirectory() throws {
        let tmp = try TempDirectory()
        defer { tmp.remove() }
        // A bot may write its workdir, often the current directory: a profile
        // planted there must never be what a name resolves to.
        _ = try tmp.write("cwd/profiles/bot.toml", "command = [\"planted\"]\n")
        let inHome = try tmp.write("home/profiles/bot.toml", "command = [\"home\"]\n")
        _ = try tmp.write("cwd/profiles/other.toml", "command = [\"planted\"]\n")
        let home = tmp.path + "/home", cwd = tmp.path + "/cwd"

        #expect(try ProfileLocator.resolve("bot", home: home, cwd: cwd) == inHome)
        let profile = try Profile.load(path: ProfileLocator.resolve("bot", home: home, cwd: cwd))
        #expect(profile.command == ["home"] && profile.name == "bot")
        #expect(throws: ProfileError.self) { try ProfileLocator.resolve("other", home: home, cwd: cwd) }
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
        #expect(error?.hints.first == "looked for nobot.toml in \(home)/profiles, /etc/run-with-keys/profiles")
        #expect(ProfileLocator.searchDirectories(home: home, cwd: cwd) == [home + "/profiles", "/etc/run-with-keys/profiles"])
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
