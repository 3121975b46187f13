import Testing
@testable import Profile

/// The one did-you-mean rule, as the command line uses it (subcommands, options) and the
/// profile-list helpers that `audit` and shell completion share.
@Suite struct SuggestTests {
    static let subcommands = ["run", "exec", "check", "init", "set", "import", "list", "rm", "rotate",
                              "recipients", "audit", "demo", "help"]

    @Test func swappedLettersAreOneEdit() {
        #expect(Suggest.distance(Array("lsit"), Array("list")) == 1)
        #expect(Suggest.distance(Array("lsit"), Array("init")) == 2)
        #expect(Suggest.distance(Array("abc"), Array("abc")) == 0)
        #expect(Suggest.distance(Array(""), Array("abc")) == 3)
        #expect(Suggest.distance(Array("abc"), Array("")) == 3)
        #expect(Suggest.distance(Array("kitten"), Array("sitting")) == 3)
    }

    @Test func misspeltSubcommands() {
        #expect(Suggest.closest(to: "lsit", in: Self.subcommands) == "list")
        #expect(Suggest.closest(to: "lst", in: Self.subcommands) == "list")
        #expect(Suggest.closest(to: "chekc", in: Self.subcommands) == "check")
        #expect(Suggest.closest(to: "rotat", in: Self.subcommands) == "rotate")
        #expect(Suggest.closest(to: "recip", in: Self.subcommands) == "recipients")
        #expect(Suggest.closest(to: "AUDIT", in: Self.subcommands) == "audit")
    }

    @Test func shortWordsNeedACloserMatch() {
        // A profile named "bot" that isn't found must not be taken for `set` (two edits).
        #expect(Suggest.closest(to: "bot", in: Self.subcommands) == nil)
        #expect(Suggest.closest(to: "trader", in: Self.subcommands) == nil)
        #expect(Suggest.closest(to: "rn", in: Self.subcommands) == "run")
    }

    @Test func options() {
        let options = ["--home", "--vault", "--json", "--dry-run", "--log-format", "--launch-log", "--help"]
        #expect(Suggest.closestOption(to: "--dry-rn", in: options) == "--dry-run")
        #expect(Suggest.closestOption(to: "--jsn", in: options) == "--json")
        #expect(Suggest.closestOption(to: "--log-formt=json", in: options) == "--log-format")
        #expect(Suggest.closestOption(to: "--lanch-log", in: options) == "--launch-log")
        // The dashes are no shared prefix, and short options are never offered.
        #expect(Suggest.closestOption(to: "--x", in: options + ["-x"]) == nil)
        #expect(Suggest.closestOption(to: "--", in: options) == nil)
        #expect(Suggest.closestOption(to: "--banana", in: options) == nil)
    }

    @Test func hintLine() {
        #expect(Suggest.hint("list") == #"did you mean "list"?"#)
        #expect(Suggest.hint(nil) == nil)
    }

    @Test func profilesOnTheSearchPathFirstDirectoryWins() throws {
        let tmp = try TempDirectory()
        defer { tmp.remove() }
        let a = try tmp.write("a/bot.toml", "command = [\"a\"]\n")
        try tmp.write("a/.hidden.toml", "")
        try tmp.write("a/notes.txt", "")
        try tmp.write("b/bot.toml", "command = [\"b\"]\n")
        let other = try tmp.write("b/other.toml", "command = [\"b\"]\n")
        let found = ProfileLocator.profiles(in: [tmp.path + "/a", tmp.path + "/b", tmp.path + "/missing"])
        #expect(found.map(\.name) == ["bot", "other"])
        #expect(found.map(\.path) == [a, other])
    }

    @Test func extraDirectoriesComeFirstWithoutDuplicates() {
        let dirs = ProfileLocator.searchDirectories(home: "/h", extra: ["/x", "/h/profiles", "/x"])
        #expect(dirs == ["/x", "/h/profiles", "/etc/run-with-keys/profiles"])
        #expect(ProfileLocator.searchDirectories(home: "/h", extra: []) == ProfileLocator.searchDirectories(home: "/h"))
    }
}
