import Testing
import Age
import Vault
import Profile
@testable import Launch

/// The escapers for config templates, each on its own, with every awkward character.
@Suite struct TemplateEscapeTests {
    /// `/ & < > " \`, a tab, a CR, an ESC, a newline, non-ASCII (ü, NEL, LS).
    static let nasty = "/ & < > \" \\ \t \r \u{1B} \n ü \u{85} \u{2028} \u{7F}"

    func escaped(_ f: (UnsafeRawBufferPointer, inout SecretBuilder) -> Void, _ text: String = nasty) -> String {
        var b = SecretBuilder(capacity: 64)
        Array(text.utf8).withUnsafeBytes { f($0, &b) }
        let s = b.finish()
        return s.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    @Test func json() {
        #expect(escaped(TemplateEscape.json) == "/ & < > \\\" \\\\ \\t \\r \\u001b \\n ü \u{85} \u{2028} \u{7F}")
    }

    @Test func tomlNeverEscapesSlashAndEscapesDel() {
        #expect(escaped(TemplateEscape.toml) == "/ & < > \\\" \\\\ \\t \\r \\u001b \\n ü \u{85} \u{2028} \\u007f")
    }

    @Test func yamlEscapesControlsAndUnicodeLineBreaks() {
        #expect(escaped(TemplateEscape.yaml) == "/ & < > \\\" \\\\ \\t \\r \\e \\n ü \\N \\L \\x7F")
        #expect(escaped(TemplateEscape.yaml, "\u{0}\u{1}\u{9F}\u{2029}é") == "\\0\\x01\\x9F\\Pé")
    }

    @Test func rawIsTheValueAsIs() {
        #expect(escaped({ TemplateEscape.append($0, format: .raw, to: &$1) }) == Self.nasty)
    }

    @Test func formatFromTheNameWithoutTmpl() {
        #expect(TemplateSpec.format(forName: "/a/config.json.tmpl") == .json)
        #expect(TemplateSpec.format(forName: "c.yml.tmpl") == .yaml)
        #expect(TemplateSpec.format(forName: "c.yaml") == .yaml)
        #expect(TemplateSpec.format(forName: "c.toml.tmpl") == .toml)
        #expect(TemplateSpec.format(forName: "c.conf.tmpl") == .raw)
        #expect(TemplateSpec.format(forName: "json.tmpl") == .raw)
    }

    @Test func parseFindsReferencesWithLines() throws {
        let parts = try TemplateSpec.parse("{\n\"a\": \"{{ rwk://x/y }}\",\n\"b\": \"{{rwk://z}}\" }", file: "t")
        #expect(parts == [.text("{\n\"a\": \""), .secret("x/y", line: 2), .text("\",\n\"b\": \""), .secret("z", line: 3), .text("\" }")])
        #expect(throws: ProfileError.self) { try TemplateSpec.parse("a\n{{ x }}", file: "t") }
        #expect(throws: ProfileError.self) { try TemplateSpec.parse("{{ rwk://bad name }}", file: "t") }
    }

    @Test func renderEscapesOnlyTheValues() throws {
        var doc = VaultDocument()
        var v = SecretBytes(count: 3)
        v.withUnsafeMutableBytes { $0.copyBytes(from: Array("a\"b".utf8)) }
        try doc.set("k", value: v, now: Timestamp(seconds: 1_800_000_000))
        let t = TemplateSpec(variable: "C", source: "c.json.tmpl", format: .json,
                             parts: try TemplateSpec.parse("{\"k\": \"{{ rwk://k }}\", \"q\": \"\\\"\"}", file: "c"))
        let out = TemplateEscape.render(t, document: doc)
        #expect(out.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } == "{\"k\": \"a\\\"b\", \"q\": \"\\\"\"}")
    }
}
