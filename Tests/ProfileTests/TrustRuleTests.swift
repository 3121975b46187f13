import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Profile

/// The owner/mode rule for profiles and seccomp policy files (`Profile.trustProblem`):
/// sticky directories (ATK1-E) and symlinked profiles (ATK1-A), on real files.
@Suite struct TrustRuleTests {
    func judge(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return "stat failed" }
        return Profile.trustProblem(path, st, what: "profile")?.message
    }

    @Test func aStickyDirectoryOfOursExcusesItsWriteBits() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let file = try dir.write("bot.toml", "command = [\"/bin/true\"]\n")
        chmod(dir.path, 0o1777)
        #expect(judge(file) == nil)
        chmod(dir.path, 0o0777)
        #expect(judge(file)?.contains("its directory \(dir.path) is owned by uid \(geteuid()) with mode 0777: writable by others") == true)
    }

    @Test func aStickyDirectoryOfAnotherUserIsRefused() throws {
        guard geteuid() == 0 else { return }   // chown to another uid needs root
        let dir = try TempDirectory()
        defer { dir.remove() }
        let file = try dir.write("bot.toml", "command = [\"/bin/true\"]\n")
        chown(dir.path, 65534, 65534)
        chmod(dir.path, 0o1755)
        let message = judge(file)
        #expect(message?.contains("not owned by you (uid 0) or root") == true, "\(message ?? "accepted")")
    }

    @Test func aSymlinkedProfileIsJudgedInTheTargetsDirectoryToo() throws {
        let links = try TempDirectory(), real = try TempDirectory()
        defer { unlink(links.path + "/bot.toml"); links.remove(); real.remove() }
        let target = try real.write("bot.toml", "command = [\"/bin/true\"]\n")
        chmod(target, 0o600)
        #expect(symlink(target, links.path + "/bot.toml") == 0)
        #expect(judge(links.path + "/bot.toml") == nil)
        chmod(real.path, 0o777)
        let message = judge(links.path + "/bot.toml")
        #expect(message?.contains("its link's target directory \(real.path)") == true, "\(message ?? "accepted")")
    }
}
