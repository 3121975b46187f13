import Testing
import Age
@testable import Vault

@Suite struct DotenvTests {
    func parse(_ s: String) throws(VaultError) -> [String: String] {
        var out: [String: String] = [:]
        try Dotenv.parse(secret(s)) { (k: String, v: consuming SecretBytes) throws(VaultError) in out[k] = text(v) }
        return out
    }

    @Test func forms() throws {
        let env = """
            # comment
            export API_KEY=abc123
            PLAIN = spaced value   # trailing comment
            HASH=a#b
            SINGLE='it\\'s $HOME \\n'
            DOUBLE="line1\\nline2 \\"q\\" # not a comment"
            MULTI="-----BEGIN KEY-----
            abc
            -----END KEY-----"
            SQ_MULTI='x
            y'
            DOLLAR=pa$$word
            EMPTY=

            """
        let v = try parse(env)
        #expect(v["API_KEY"] == "abc123")
        #expect(v["PLAIN"] == "spaced value")
        #expect(v["HASH"] == "a#b")
        #expect(v["SINGLE"] == "it's $HOME \\n")
        #expect(v["DOUBLE"] == "line1\nline2 \"q\" # not a comment")
        #expect(v["MULTI"] == "-----BEGIN KEY-----\nabc\n-----END KEY-----")
        #expect(v["SQ_MULTI"] == "x\ny")
        #expect(v["DOLLAR"] == "pa$$word")
        #expect(v["EMPTY"] == "")
    }

    @Test func errorsNameLinesNotValues() {
        do { _ = try parse("A=1\nB=\"unterminated SECRETVALUE\n"); Issue.record("expected an error") } catch {
            #expect(error.description.contains("line 2"))
            #expect(!error.description.contains("SECRETVALUE"))
        }
    }

    @Test func linesWithoutEqualsAreSkippedWithAWarningThatHidesThem() throws {
        var warnings: [String] = []
        var out: [String: String] = [:]
        try Dotenv.parse(secret("A=1\nsk_live_PASTEDSECRET\nB C\n1ST=x\nMIIB+PASTED/abc=\na.b-c=y\n"), warn: { warnings.append($0) }) {
            (k: String, v: consuming SecretBytes) throws(VaultError) in out[k] = text(v)
        }
        #expect(out == ["A": "1", "a.b-c": "y"])
        #expect(warnings == [2, 3, 4, 5].map { "dotenv line \($0): not a KEY=VALUE line, skipped" })
        #expect(!warnings.joined().contains("PASTEDSECRET"))
    }
}

@Suite struct DotenvLineTests {
    /// `parseLines` gives the line each entry's key is on, across comments and multi-line values.
    @Test func lines() throws {
        let env = "# c\nA=1\n\nB=\"x\ny\"\nexport C=rwk://n\n"
        var lines: [String: Int] = [:]
        try Dotenv.parseLines(secret(env)) { (k: String, _: consuming SecretBytes, line: Int) throws(VaultError) in lines[k] = line }
        #expect(lines == ["A": 2, "B": 4, "C": 6])
    }
}

@Suite struct ImportClassificationTests {
    func parse(_ s: String) throws(VaultError) -> [String: String] {
        var out: [String: String] = [:]
        try Dotenv.parse(secret(s)) { (k: String, v: consuming SecretBytes) throws(VaultError) in out[k] = text(v) }
        return out
    }

    func plain(_ key: String, _ value: String) -> String? {
        Array(value.utf8).withUnsafeBytes { PlainSetting.classify(key: key, value: $0) }
    }

    @Test func byteOrderMarkIsNotPartOfTheFirstKey() throws {
        #expect(try parse("\u{FEFF}FIRST=a1\nSECOND=b2\n") == ["FIRST": "a1", "SECOND": "b2"])
        #expect(try parse("\u{FEFF}export FIRST=a1") == ["FIRST": "a1"])
    }

    @Test func plainSettings() {
        #expect(plain("LOG_LEVEL", "debug") == "debug")
        #expect(plain("VERBOSE", "TRUE") == "TRUE")
        #expect(plain("PORT", "8080") == "8080")
        #expect(plain("WORKERS", "-12") == "-12")
        #expect(plain("API_URL", "https://api.example.com/v1") == "https://api.example.com/v1")
        #expect(plain("REDIS_HOST", "localhost:6379") == "localhost:6379")
        #expect(plain("TRADING_MODE", "paper") == "paper")
    }

    @Test func secretsStaySecret() {
        #expect(plain("API_KEY", "true") == nil)              // a credential word in the name
        #expect(plain("PIN_CODE", "1234") == nil)
        #expect(plain("DB_PASSWORD", "debug") == nil)
        #expect(plain("NONCE", "1234567") == nil)             // 7 digits
        #expect(plain("DATABASE_URL", "postgres://u:p@h/db") == nil)   // userinfo
        #expect(plain("HOOK_URL", "https://h/x?sig=abc") == nil)      // query string
        #expect(plain("SOMETHING", "abcdef") == nil)           // not a setting name
        #expect(plain("LOG_LEVEL", "two words") == nil)
        #expect(plain("PORT", "") == nil)
    }
}
