import Testing
import Common

/// `String(validUTF8:)` (Common) against the standard library's `String(validating:as:)`.
@Suite struct UTF8TextTests {
    @Test(arguments: [
        Array("plain = \"ascii\"\n".utf8),
        Array("naïve = \"日本語 🙂\"".utf8),
        [],
        [0x80],                    // a lone continuation byte
        [0xC0, 0xAF],              // an overlong "/"
        [0xED, 0xA0, 0x80],        // a UTF-16 surrogate, encoded
        [0xE6, 0x97],              // cut short
        [0xF4, 0x90, 0x80, 0x80],  // past U+10FFFF
        [0x61, 0xFF, 0x62],
    ] as [[UInt8]])
    func agreesWithTheStandardLibrary(bytes: [UInt8]) {
        #expect(String(validUTF8: bytes) == String(validating: bytes, as: UTF8.self))
    }

    @Test func invalidInputIsNilNotRepaired() {
        #expect(String(validUTF8: [0x61, 0xFF]) == nil)
        #expect(String(validUTF8: Array("ok".utf8)) == "ok")
    }
}
