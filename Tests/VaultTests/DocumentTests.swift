import Testing
import Age
@testable import Vault

@Suite struct DocumentTests {
    @Test func parsesEscapesStraightIntoSecrets() throws {
        let json = #"{"format":"run-with-keys/v1","secrets":{"pem":{"value":"-----BEGIN-----\nab\"c\\d\/e\u00e9\ud83d\ude00\t","created":"2026-11-26T18:00:00Z","updated":"2026-11-27T18:00:00Z","scopes":["view","trade"],"note":"n"}}}"#
        let doc = try VaultDocument.parse(secret(json))
        let e = try #require(doc.secrets["pem"])
        #expect(text(e.value) == "-----BEGIN-----\nab\"c\\d/e\u{e9}\u{1F600}\t")
        #expect(e.scopes == ["view", "trade"] && e.note == "n")
        #expect(e.created == Timestamp(rfc3339: "2026-11-26T18:00:00Z"))
        #expect(e.updated!.seconds - e.created!.seconds == 86400)
    }

    @Test func serializeRoundTrips() throws {
        var doc = VaultDocument()
        doc.recipients = ["age1example"]
        let now = Timestamp(seconds: 1_800_000_000)
        try doc.set("a/b", value: secret("line1\nline2 \"q\" \\ \u{7}"), now: now, scopes: ["view"], note: "x\"y")
        try doc.set("c", value: secret("plain"), now: now)
        let again = try VaultDocument.parse(doc.serialize())
        #expect(again.names == ["a/b", "c"])
        #expect(text(again.secrets["a/b"]!.value) == "line1\nline2 \"q\" \\ \u{7}")
        #expect(again.secrets["a/b"]!.note == "x\"y" && again.recipients == ["age1example"])
        #expect(again.secrets["c"]!.created == now)
    }

    @Test func rotationKeepsCreated() throws {
        var doc = VaultDocument()
        try doc.set("k", value: secret("v1"), now: Timestamp(seconds: 100))
        try doc.set("k", value: secret("v2"), now: Timestamp(seconds: 200))
        #expect(doc.secrets["k"]!.created == Timestamp(seconds: 100))
        #expect(doc.secrets["k"]!.updated == Timestamp(seconds: 200))
        #expect(text(doc.secrets["k"]!.value) == "v2")
    }

    @Test(arguments: ["", "bad name", "a\"b", String(repeating: "x", count: 129), "é", "a\nb"])
    func invalidNames(_ name: String) {
        #expect(throws: VaultError.self) { try VaultDocument.validateName(name) }
    }

    @Test(arguments: ["a", "coinbase/key", "A_b.c-d/e", String(repeating: "x", count: 128)])
    func validNames(_ name: String) throws { try VaultDocument.validateName(name) }

    @Test func refusesEmptyAndNonUTF8Values() {
        var doc = VaultDocument()
        #expect(throws: VaultError.self) { try doc.set("k", value: secret(""), now: Timestamp(seconds: 0)) }
        var bad = SecretBytes(count: 2)
        bad.withUnsafeMutableBytes { $0[0] = 0xc3; $0[1] = 0x28 }
        #expect(throws: VaultError.self) { try doc.set("k", value: bad, now: Timestamp(seconds: 0)) }
    }

    @Test(arguments: [
        #"{"format":"run-with-keys/v2","secrets":{}}"#,
        #"{"format":"run-with-keys/v1","secrets":{"a":{}}}"#,
        #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"x","colour":"red"}}}"#,
        #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"x"},"a":{"value":"y"}}}"#,
        #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"\ud800"}}}"#,
        #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"x\q"}}}"#,
        #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"x","created":"yesterday"}}}"#,
        #"{"format":"run-with-keys/v1","secrets":{}} trailing"#,
        #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"unterminated}}}"#,
        "{\"format\":\"run-with-keys/v1\",\"secrets\":{\"a\":{\"value\":\"raw\ncontrol\"}}}",
        "",
    ])
    func malformedDocumentsAreRefused(_ json: String) {
        #expect(throws: VaultError.self) { _ = try VaultDocument.parse(secret(json)) }
    }

    @Test func errorsNeverEchoValues() {
        let json = #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"SUPERSECRET\q"}}}"#
        do { _ = try VaultDocument.parse(secret(json)); Issue.record("expected an error") } catch {
            #expect(!error.description.contains("SUPERSECRET"))
            #expect(!error.hints.joined().contains("SUPERSECRET"))
        }
    }

    @Test func timestamps() {
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00Z")?.seconds == 0)
        #expect(Timestamp(rfc3339: "2026-11-26T18:00:00.123Z")?.description == "2026-11-26T18:00:00Z")
        #expect(Timestamp(rfc3339: "2026-11-26T19:00:00+01:00")?.description == "2026-11-26T18:00:00Z")
        #expect(Timestamp(rfc3339: "2026-13-26T18:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "2026-11-26 18:00:00Z") == nil)
        #expect(Timestamp(seconds: 1_700_000_000).days(until: Timestamp(seconds: 1_700_000_000 + 90 * 86400 - 1)) == 89)
    }

    @Test func utf8Validation() {
        for (bytes, ok) in [([0x41], true), ([0xc3, 0xa9], true), ([0xc3], false), ([0xed, 0xa0, 0x80], false),
                            ([0xf0, 0x9f, 0x98, 0x80], true), ([0xc0, 0x80], false), ([0xff], false)] as [([UInt8], Bool)] {
            #expect(bytes.withUnsafeBytes { isValidUTF8($0) } == ok)
        }
    }
}
