import Glibc
import Testing
import Vault

@Suite struct RunFileTests {
    @Test func writtenFileReadsBack() throws {
        let dir = tempDir()
        defer { removeTree(dir) }
        let file = RunFile(pid: getpid(), botPid: 42, profile: "bot", reload: "signal", keys: ["a/b", "c"])
        try file.write(to: dir + "/bot.json")
        #expect(RunFile.read(dir + "/bot.json") == file)
    }

    /// A write cut short (here by RLIMIT_FSIZE, as a full disk would) throws and
    /// leaves the registration that was there, with no temp file behind. It used to
    /// put the short file in place, and `rotate` would then miss that supervisor.
    /// An exit test: the file-size limit must not reach other tests.
    @Test func aShortWriteLeavesTheOldFileInPlace() async {
        await #expect(processExitsWith: .success) {
            let dir = tempDir()
            defer { removeTree(dir) }
            let path = dir + "/bot.json"
            let old = RunFile(pid: getpid(), botPid: 1, profile: "bot", reload: "none", keys: [])
            try old.write(to: path)
            signal(SIGXFSZ, SIG_IGN)
            var limit = rlimit()
            getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit)
            limit.rlim_cur = 24
            guard setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0 else { exit(2) }
            let new = RunFile(pid: getpid(), botPid: 2, profile: "bot", reload: "restart", keys: ["a-long-secret-name"])
            do { try new.write(to: path); exit(3) } catch let error as VaultError {
                guard error.kind == .io && error.message.contains("File too large") else { exit(4) }
            }
            guard RunFile.read(path) == old else { exit(5) }
            guard access(path + ".tmp", F_OK) != 0 else { exit(6) }
        }
    }
}
