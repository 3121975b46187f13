import Testing
import Common
import Age
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

/// `VaultError.decrypting` switches on `AgeError`'s typed cases, not on message text.
@Suite struct DecryptErrorTests {
    @Test func typedAgeFailuresMapToTheirOwnMessages() {
        let high = VaultError.decrypting("v.age", .workFactorTooHigh(workFactor: 23, limit: 22), keySource: "the passphrase")
        #expect(high.kind == .corrupt && high.message == "v.age: scrypt work factor 23 is too high (the limit is 22)")
        #expect(high.hints.first?.contains("2^22") == true && high.exitCode == 125)
        // Out of memory within the cap is the machine's limit, not a damaged vault nor a too-high factor.
        let oom = VaultError.decrypting("v.age", .scryptFailed, keySource: "the passphrase")
        #expect(oom.kind == .io && oom.message == "v.age: scrypt failed (out of memory?)")
        #expect(oom.hints.first?.contains("memory limit") == true && oom.hints.first?.contains("allows") == false)
        let notAge = VaultError.decrypting("v.age", .unsupportedVersion, keySource: "--identity i")
        #expect(notAge.kind == .notAgeFile && notAge.hints.first?.contains("age-encryption.org/v1") == true)
        // A header failure described in words only is "damaged", whatever its words say.
        let other = VaultError.decrypting("v.age", .header("unsupported version of something"), keySource: "x")
        #expect(other.kind == .corrupt && other.message.contains("damaged"))
    }
}
