import Testing
@testable import Profile

@Suite struct NulEscapeTests {
    @Test func findsNULEscapesInBasicStrings() {
        #expect(NulEscape.line(in: #"command = ["/bin/bot", "--dry-run\u0000 --live"]"#) == 1)
        #expect(NulEscape.line(in: "a = 1\n[env]\nset = { X = \"a\\U00000000\" }\n") == 3)
        #expect(NulEscape.line(in: "x = \"\"\"\nline\n\\u0000\"\"\"\n") == 3)
    }

    /// A string left open at the end of its line ends there; its newline is counted
    /// once (fuzz/corpus/profile/crash-unclosed-string-nul-line: counted twice, the line was past the end).
    @Test func unclosedStringsCountTheirNewlineOnce() {
        #expect(NulEscape.line(in: "a = \"open\nb = \"\\u0000\"\n") == 2)
        #expect(NulEscape.line(in: "a = 'open\nb = \"\\u0000\"\n") == 2)
        #expect(NulEscape.line(in: "a = \"x\nb = 'y\nc = \"\\u0000\"") == 3)
    }

    @Test func ignoresLiteralStringsCommentsAndOtherEscapes() {
        #expect(NulEscape.line(in: #"x = '\u0000'"#) == nil)
        #expect(NulEscape.line(in: "x = '''\n\\u0000'''") == nil)
        #expect(NulEscape.line(in: "# \\u0000 in a comment\nx = 1") == nil)
        #expect(NulEscape.line(in: #"x = "\\u0000""#) == nil)    // an escaped backslash
        #expect(NulEscape.line(in: #"x = "\u0001\u00e9""#) == nil)
    }

    @Test func profileWithNULIsRefused() throws {
        do {
            _ = try Profile.parse(toml: #"command = ["/bin/true", "a\u0000b"]"#, path: "/p/x.toml", name: "x", home: "/nonexistent")
            Issue.record("accepted")
        } catch {
            #expect(error.kind == .invalidValue && error.line == 1)
        }
    }
}
