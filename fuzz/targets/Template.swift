// The template parser (`TemplateSpec.parse`) and renderer (`TemplateEscape`).
// Input: a format byte, the template text, then NUL-separated secret values.
// - text parts never hold "{{"; writing the parts back as text and parsing
//   again gives the same parts (lines included); error lines are in range;
// - render is the text parts with each value escaped, and with values that
//   hold no "{" the output holds no "{{": no reference is left unrendered;
// - each escaper's output decodes back to the value: JSON with Foundation's
//   JSONSerialization (which drops U+FEFF), TOML with TOMLKit, YAML with the YAML 1.2 escapes;
//   and it holds no raw control character (nor quote) the format forbids.
import Common
import Age
import Foundation
import Profile
import TOMLKit
import Vault

func fuzzTarget(_ bytes: [UInt8]) {
    guard let selector = bytes.first else { return }
    let format = TemplateSpec.Format.allCases[Int(selector) % 4]
    let body = bytes.dropFirst()
    let textEnd = body.firstIndex(of: 0) ?? body.endIndex
    guard let text = String(validating: body[..<textEnd], as: UTF8.self) else { return }
    let values = body[textEnd...].dropFirst().split(separator: 0, omittingEmptySubsequences: false).map { Array($0) }
    let lineCount = text.utf8.reduce(1) { $0 + ($1 == 0x0a ? 1 : 0) }

    let parts: [TemplateSpec.Part]
    do { parts = try TemplateSpec.parse(text, file: "t") } catch {
        check(error.line.map { $0 >= 1 && $0 <= lineCount } ?? false, "error line out of range: \(error.message)")
        return
    }
    var written = ""
    for part in parts {
        switch part {
        case .text(let t):
            check(t.utf8.firstRange(of: "{{".utf8) == nil && !t.isEmpty, "text part holds {{ or is empty")
            written += t
        case .secret(let name, let line):
            check(SecretName.isValid(name) && line >= 1 && line <= lineCount, "bad reference")
            written += "{{ rwk://\(name) }}"
        }
    }
    check((try? TemplateSpec.parse(written, file: "t")) == parts, "parse(write(parts)) != parts")

    let spec = TemplateSpec(variable: "V", source: "t", format: format, parts: parts)
    var document = VaultDocument()
    var valueOf: [String: [UInt8]] = [:]
    for (i, name) in spec.references.enumerated() {
        let v = i < values.count ? values[i] : []
        valueOf[name] = v
        document.secrets[name] = v.withUnsafeBytes { SecretEntry(value: SecretBytes(copying: $0), created: nil, updated: nil) }
    }
    let rendered = TemplateEscape.render(spec, document: document).withUnsafeBytes { Array($0) }
    var expected: [UInt8] = []
    for part in parts {
        switch part {
        case .text(let t): expected += Array(t.utf8)
        case .secret(let name, _): expected += escape(valueOf[name]!, format)
        }
    }
    check(rendered == expected, "render is not text + escaped values")
    if !valueOf.values.contains(where: { $0.contains(0x7b) }) {
        check(!rendered.indices.dropLast().contains { rendered[$0] == 0x7b && rendered[$0 + 1] == 0x7b }, "{{ left in the output")
    }
    for value in valueOf.values { checkEscape(value) }
}

func escape(_ value: [UInt8], _ format: TemplateSpec.Format) -> [UInt8] {
    var out = SecretBuilder(capacity: 64)
    value.withUnsafeBytes { TemplateEscape.append($0, format: format, to: &out) }
    return out.finish().withUnsafeBytes { Array($0) }
}

/// Every escaper's output for `value` decodes back to it and holds no forbidden raw byte.
func checkEscape(_ value: [UInt8]) {
    let utf8 = String(validating: value, as: UTF8.self) != nil
    for format in [TemplateSpec.Format.json, .toml] {
        let e = escape(value, format)
        check(!e.contains { $0 < 0x20 || (format == .toml && $0 == 0x7f) }, "raw control character in \(format)")
        var backslashes = 0
        for c in e {
            check(c != 0x22 || backslashes % 2 == 1, "unescaped quote in \(format)")
            backslashes = c == 0x5c ? backslashes + 1 : 0
        }
        guard utf8 else { continue }
        let decoded: String? = format == .json
            ? (try? JSONSerialization.jsonObject(with: Data([0x22] + e + [0x22]), options: .fragmentsAllowed)) as? String
            : (try? TOMLTable(string: "v = \"" + String(decoding: e, as: UTF8.self) + "\""))?["v"]?.string
        var expected = value
        var got = decoded.map { Array($0.utf8) }
        if format == .json {
            // Foundation's JSONSerialization drops a U+FEFF that starts a run of unescaped
            // characters (at the start, or after an escape): compare without any U+FEFF.
            func noBOM(_ b: [UInt8]) -> [UInt8] {
                var out: [UInt8] = [], k = 0
                while k < b.count {
                    if b[k...].starts(with: [0xEF, 0xBB, 0xBF]) { k += 3 } else { out.append(b[k]); k += 1 }
                }
                return out
            }
            expected = noBOM(value)
            got = got.map(noBOM)
        }
        check(got == expected,
              "\(format) escape does not decode to the value: \(value) -> \(e) -> \(decoded.map { Array($0.utf8) } ?? [])")
    }
    let y = escape(value, .yaml)
    check(!y.enumerated().contains { i, c in
        c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < y.count && (0x80...0x9f).contains(y[i + 1]))
            || (c == 0xe2 && i + 2 < y.count && y[i + 1] == 0x80 && (y[i + 2] == 0xa8 || y[i + 2] == 0xa9))
    }, "raw control character or line separator in yaml")
    check(yamlUnescape(y) == value, "yaml escape does not decode to the value")
}

/// The YAML 1.2 double-quoted escapes (§5.7) that `TemplateEscape.yaml` may write.
func yamlUnescape(_ e: [UInt8]) -> [UInt8]? {
    var out: [UInt8] = [], i = 0
    func hex(_ c: UInt8) -> UInt8? {
        switch c { case 0x30...0x39: c - 0x30; case 0x41...0x46: c - 0x37; case 0x61...0x66: c - 0x57; default: nil }
    }
    while i < e.count {
        guard e[i] == 0x5c else {
            if e[i] == 0x22 { return nil }
            out.append(e[i]); i += 1; continue
        }
        guard i + 1 < e.count else { return nil }
        let simple: [UInt8: [UInt8]] = [0x30: [0], 0x61: [7], 0x62: [8], 0x74: [9], 0x6e: [10], 0x76: [11], 0x66: [12],
                                        0x72: [13], 0x65: [0x1b], 0x22: [0x22], 0x5c: [0x5c], 0x4e: [0xc2, 0x85],
                                        0x4c: [0xe2, 0x80, 0xa8], 0x50: [0xe2, 0x80, 0xa9]]
        if let s = simple[e[i + 1]] { out += s; i += 2; continue }
        guard e[i + 1] == 0x78, i + 3 < e.count, let h = hex(e[i + 2]), let l = hex(e[i + 3]) else { return nil }
        let cp = h << 4 | l
        out += cp < 0x80 ? [cp] : [0xc2, cp]   // \xNN is the code point U+00NN, two bytes in UTF-8 above 0x7F
        i += 4
    }
    return out
}
