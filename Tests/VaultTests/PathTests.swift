import Glibc
import Testing
import Vault

/// Paths are split at "/" bytes: a name may start with a combining mark, which
/// Swift joins with the slash before it into one Character.
@Suite struct PathTests {
    @Test func directoryAndBasenameSplitAtSlashBytes() {
        #expect(Sys.directory(of: "/a/\u{301}b") == "/a")
        #expect(Sys.basename("/a/\u{301}b") == "\u{301}b")
        #expect(Sys.directory(of: "/\u{301}x") == "/")
        #expect(Sys.directory(of: "name") == ".")
        #expect(Sys.basename("name") == "name")
        #expect(Sys.directory(of: "/a/caf\u{e9}/id") == "/a/caf\u{e9}")
    }

    @Test func makeDirectoriesCreatesANameThatStartsWithACombiningMark() throws {
        var template = Array("/tmp/rwk-paths.XXXXXX".utf8CString)
        let root = String(cString: try #require(mkdtemp(&template)))
        defer { _ = system("rm -rf '\(root)'") }
        // "new" doesn't exist: split at Characters, "new/\u{301}rwk" was one part, and mkdir failed.
        let path = root + "/new/\u{301}rwk/home"
        try Sys.makeDirectories(path)
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR)
        #expect(stat(root + "/new/\u{301}rwk", &st) == 0)
    }
}
