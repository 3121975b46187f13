import Testing
import Common
@testable import Vault

/// The vault's JSON bytes did not change when its escaper moved to `StringEscape`:
/// short forms where JSON has them, `\u00xx` in lowercase hex otherwise, DEL, `/`
/// and non-ASCII as they are (the bytes the old JSONWriter wrote).
@Suite struct EscapeTests {
    static let nasty = "\"\\\n\r\t\u{8}\u{c}\u{1}\u{1b}\u{7f}/é"

    @Test func vaultValueBytesAreUnchanged() throws {
        var doc = VaultDocument()
        try doc.set("k", value: secret(Self.nasty), now: Timestamp(seconds: 1_800_000_000))
        let json = text(doc.serialize())
        #expect(json.contains(#""k":{"value":"\"\\\n\r\t\b\f\u0001\u001b"# + "\u{7f}/é\","))
        #expect(text(try VaultDocument.parse(doc.serialize()).secrets["k"]!.value) == Self.nasty)
    }

    @Test func flavours() {
        #expect(StringEscape.quoted(Self.nasty, .json) == #""\"\\\n\r\t\b\f\u0001\u001b"# + "\u{7f}/é\"")
        #expect(StringEscape.quoted(Self.nasty, .toml) == #""\"\\\n\r\t\b\f\u0001\u001b\u007f/é""#)
        #expect(StringEscape.quoted("", .json) == "\"\"")
        #expect(LaunchLog.json("a\nb") == #""a\nb""#)
    }
}
