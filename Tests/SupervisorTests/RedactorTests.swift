import Age
import Testing
@testable import Supervisor

// Tests may hold test secrets in Arrays; production code may not.

private func makeRedactor(_ secrets: [(name: String, value: [UInt8])]) -> Redactor {
    var patterns = RedactionPatterns()
    for s in secrets {
        patterns.add(name: s.name, value: secretBytes(s.value))
    }
    return Redactor(patterns: patterns)
}

private func secretBytes(_ b: [UInt8]) -> SecretBytes {
    var s = SecretBytes(count: b.count)
    s.withUnsafeMutableBytes { $0.copyBytes(from: b) }
    return s
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
private func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

/// Feeds `chunks` in order, then flushes; returns everything emitted.
private func run(_ r: Redactor, _ chunks: [[UInt8]]) -> [UInt8] {
    var out: [UInt8] = []
    for chunk in chunks {
        chunk.withUnsafeBytes { r.feed($0) { out.append(contentsOf: $0) } }
    }
    r.flush { out.append(contentsOf: $0) }
    #expect(!r.hasPending)
    return out
}

private func redact(_ secrets: [(name: String, value: [UInt8])], _ chunks: [[UInt8]]) -> String {
    text(run(makeRedactor(secrets), chunks))
}

private func oneBytePerFeed(_ s: String) -> [[UInt8]] { bytes(s).map { [$0] } }

/// JSON string escape, written independently of the production one, over
/// Swift's own UTF-8 decoding. `nil` where the serializer has no output
/// (Python and PHP on invalid UTF-8).
private struct Serializer {
    var slash = false, upper = false, ascii = false, del = false, html = false, replaceInvalid = false
    var failsOnInvalid: Bool { ascii }

    func escape(_ value: [UInt8]) -> [UInt8]? {
        let digits = Array((upper ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        func unit(_ u: UInt32) -> [UInt8] { bytes("\\u") + [12, 8, 4, 0].map { digits[Int(u >> UInt32($0) & 15)] } }
        var out: [UInt8] = []
        var i = 0
        while i < value.count {
            let b = value[i]
            if b < 0x80 {
                switch b {
                case 0x22: out += bytes("\\\"")
                case 0x5C: out += bytes("\\\\")
                case 0x2F where slash: out += bytes("\\/")
                case 0x0A: out += bytes("\\n")
                case 0x0D: out += bytes("\\r")
                case 0x09: out += bytes("\\t")
                case 0x08: out += bytes("\\b")
                case 0x0C: out += bytes("\\f")
                case 0..<0x20: out += unit(UInt32(b))
                case 0x7F where del: out += unit(0x7F)
                case 0x3C where html, 0x3E where html, 0x26 where html: out += unit(UInt32(b))
                default: out.append(b)
                }
                i += 1
                continue
            }
            let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
            let piece = Array(value[i..<min(value.count, i + length)])
            if let s = String(validating: piece, as: UTF8.self), s.unicodeScalars.count == 1, piece.count == length {
                let scalar = s.unicodeScalars.first!
                if ascii {
                    for u in s.utf16 { out += unit(UInt32(u)) }
                } else if html && (scalar.value == 0x2028 || scalar.value == 0x2029) {
                    out += unit(scalar.value)
                } else {
                    out += piece
                }
                i += length
            } else {
                if failsOnInvalid { return nil }
                if replaceInvalid { out += bytes("\\ufffd") } else { out.append(b) }
                i += 1
            }
        }
        return out
    }
}

/// Every form a value is matched in, duplicates removed, computed by the tests' own code.
private func referenceForms(_ value: [UInt8]) -> [[UInt8]] {
    guard value.count >= 6 else { return [] }
    let serializers = [Serializer(), Serializer(upper: true), Serializer(ascii: true, del: true),
                       Serializer(html: true, replaceInvalid: true), Serializer(slash: true),
                       Serializer(slash: true, ascii: true)]
    var forms = [value] + serializers.compactMap { $0.escape(value) }
    forms.append(value.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] })
    var distinct: [[UInt8]] = []
    for f in forms where !distinct.contains(f) { distinct.append(f) }
    return distinct
}

/// The forms the production code stores for `value`, in order.
private func storedForms(_ value: [UInt8]) -> [[UInt8]] {
    var p = RedactionPatterns()
    p.add(name: "x", value: secretBytes(value))
    let entries = p.entries
    let all = p.finish()
    return all.withUnsafeBytes { b in entries.map { Array(b[$0.offset..<($0.offset + $0.count)]) } }
}

/// Leftmost-longest replacement over the whole stream, the slow obvious way.
private func reference(_ input: [UInt8], _ secrets: [(name: String, value: [UInt8])]) -> [UInt8] {
    var forms: [(value: [UInt8], replacement: [UInt8])] = []
    for s in secrets where !s.value.isEmpty {
        for v in referenceForms(s.value) where !forms.contains(where: { $0.value == v }) {
            forms.append((v, bytes("[redacted:\(s.name)]")))
        }
    }
    let byFirst = Dictionary(grouping: forms) { $0.value[0] }
    var out: [UInt8] = []
    var i = 0
    while i < input.count {
        let best = byFirst[input[i]]?.filter { input[i...].starts(with: $0.value) }.max { $0.value.count < $1.value.count }
        if let best {
            out += best.replacement
            i += best.value.count
        } else {
            out.append(input[i])
            i += 1
        }
    }
    return out
}

private func randomBytes(_ count: Int, _ rng: inout SplitMix64) -> [UInt8] {
    (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}

/// Cuts `data` into chunks of 1…maxChunk bytes.
private func chunked(_ data: [UInt8], maxChunk: Int, _ rng: inout SplitMix64) -> [[UInt8]] {
    var chunks: [[UInt8]] = []
    var at = 0
    while at < data.count {
        let n = min(data.count - at, Int.random(in: 1...maxChunk, using: &rng))
        chunks.append(Array(data[at..<at + n]))
        at += n
    }
    return chunks
}

private let api = (name: "coinbase/key", value: bytes("S3cr3t-Value_42"))

@Suite struct RedactorTests {
    @Test func wholeSecret() {
        #expect(redact([api], [bytes("key=S3cr3t-Value_42\n")]) == "key=[redacted:coinbase/key]\n")
        #expect(redact([api], [bytes("S3cr3t-Value_42")]) == "[redacted:coinbase/key]")
    }

    @Test func oneBytePerFeedIsCaught() {
        #expect(redact([api], oneBytePerFeed("a S3cr3t-Value_42 b S3cr3t-Value_4 c"))
                == "a [redacted:coinbase/key] b S3cr3t-Value_4 c")
    }

    @Test(arguments: 0...21)
    func splitAtEveryPosition(_ cut: Int) {
        let line = bytes("<<S3cr3t-Value_42>>\n")   // 21 bytes
        let at = min(cut, line.count)
        let r = makeRedactor([api])
        var out: [UInt8] = []
        line[..<at].withUnsafeBytes { r.feed($0) { out += $0 } }
        // Nothing that could begin the secret leaves before the rest arrives.
        #expect(!text(out).contains("S3"))
        line[at...].withUnsafeBytes { r.feed($0) { out += $0 } }
        #expect(text(out) == "<<[redacted:coinbase/key]>>\n")
        #expect(!r.hasPending)
    }

    @Test func jsonEscapedPEMKey() {
        let pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\"q\\z/9\tx\u{1b}\n-----END EC PRIVATE KEY-----\n"
        let secrets = [(name: "coinbase/cdp-key", value: bytes(pem))]
        // What json.dumps / JSON.stringify print for it, and the `\/` variant.
        let dumped = #"{"key": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\"q\\z/9\tx\u001b\n-----END EC PRIVATE KEY-----\n"}"#
        let slashed = #"{"key":"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\"q\\z\/9\tx\u001b\n-----END EC PRIVATE KEY-----\n"}"#
        #expect(redact(secrets, [bytes(dumped)]) == #"{"key": "[redacted:coinbase/cdp-key]"}"#)
        #expect(redact(secrets, oneBytePerFeed(slashed)) == #"{"key":"[redacted:coinbase/cdp-key]"}"#)
        #expect(redact(secrets, [bytes("raw: " + pem)]) == "raw: [redacted:coinbase/cdp-key]")
    }

    @Test func escapedFormsAreAddedOnlyWhenTheyDiffer() {
        func forms(_ value: String) -> Int {
            var p = RedactionPatterns()
            p.add(name: "x", value: secretBytes(bytes(value)))
            return p.count
        }
        #expect(forms("plainvalue") == 1)
        #expect(forms("with\"quote") == 2)            // raw, and one escape every serializer shares
        #expect(forms("path/to/x") == 2)              // raw, `\/`
        #expect(forms("dir/a\nc") == 4)               // raw, `\n`, `\/` with `\n`, CR LF
        #expect(forms("caf\u{e9}-au-lait") == 2)       // raw, `\u00e9` (Python and PHP agree)
        #expect(forms("ctl\u{1b}esc") == 3)            // raw, `\u001b`, `\u001B`
        #expect(forms("") == 0)
    }

    @Test func longestMatchAtTheEarliestStart() {
        let secrets = [(name: "short", value: bytes("abcdef")), (name: "long", value: bytes("abcdefghij"))]
        let input = "xxabcdefghijyy abcdefzz abcdefghi abcdefabcdefghij"
        let expected = "xx[redacted:long]yy [redacted:short]zz [redacted:short]ghi [redacted:short][redacted:long]"
        #expect(redact(secrets, [bytes(input)]) == expected)
        #expect(redact(secrets, oneBytePerFeed(input)) == expected)
        // Order of adding does not matter.
        #expect(redact(secrets.reversed(), oneBytePerFeed(input)) == expected)
    }

    @Test func overlappingSecretsEarliestWins() {
        let secrets = [(name: "A", value: bytes("abcdef")), (name: "B", value: bytes("cdefgh"))]
        #expect(redact(secrets, [bytes("abcdefgh cdefgh")]) == "[redacted:A]gh [redacted:B]")
        #expect(redact(secrets, oneBytePerFeed("abcdefgh cdefgh")) == "[redacted:A]gh [redacted:B]")
    }

    @Test func adjacentOccurrences() {
        let other = (name: "other", value: bytes("0therSecret"))
        let input = "S3cr3t-Value_42S3cr3t-Value_420therSecretS3cr3t-Value_42"
        let expected = "[redacted:coinbase/key][redacted:coinbase/key][redacted:other][redacted:coinbase/key]"
        #expect(redact([api, other], [bytes(input)]) == expected)
        #expect(redact([api, other], oneBytePerFeed(input)) == expected)
    }

    @Test func sameValueUnderTwoNamesUsesTheFirst() {
        let secrets = [(name: "first", value: bytes("duplicate")), (name: "second", value: bytes("duplicate"))]
        #expect(redact(secrets, [bytes("a duplicate")]) == "a [redacted:first]")
    }

    @Test func valuesShorterThanTheMinimumAreNotRedacted() {
        #expect(RedactionPatterns.minimumLength == 6)
        let secrets = [(name: "empty", value: [UInt8]()), (name: "pin", value: bytes("7")),
                       (name: "five", value: bytes("a&b/c")), (name: "six", value: bytes("123456")), api]
        #expect(redact(secrets, [bytes(#"code 1778, a&b/c a\u0026b\/c 1234567 S3cr3t-Value_42"#)])
                == #"code 1778, a&b/c a\u0026b\/c [redacted:six]7 [redacted:coinbase/key]"#)
        var p = RedactionPatterns()
        p.add(name: "five", value: secretBytes(bytes("a\nb/c")))   // 5 bytes: none of its forms either
        #expect(p.count == 0)
        #expect(RedactionPatterns.isTooShort(5) && !RedactionPatterns.isTooShort(6))
        #expect(RedactionPatterns.shortValueWarning(name: "app/pin", count: 3)
                == "secret app/pin is 3 bytes, too short to redact without masking ordinary output; it is passed through unredacted")
        #expect(redact([(name: "empty", value: [])], [bytes("untouched")]) == "untouched")
    }

    @Test func noPatternsPassesThrough() {
        let r = Redactor(patterns: RedactionPatterns())
        var rng = SplitMix64(seed: 7)
        let data = randomBytes(10_000, &rng)
        #expect(run(r, chunked(data, maxChunk: 500, &rng)) == data)
    }

    @Test func flushEmitsAHeldPrefixVerbatim() {
        let r = makeRedactor([api])
        var out: [UInt8] = []
        bytes("log: S3cr3t-Val").withUnsafeBytes { r.feed($0) { out += $0 } }
        #expect(text(out) == "log: ")
        #expect(r.hasPending)
        r.flush { out += $0 }
        #expect(text(out) == "log: S3cr3t-Val")
        #expect(!r.hasPending)
        // After a flush the prefix is gone; the rest is ordinary text.
        bytes("ue_42").withUnsafeBytes { r.feed($0) { out += $0 } }
        #expect(text(out) == "log: S3cr3t-Value_42")
    }

    @Test func flushRedactsACompleteShortSecretHeldForALongerOne() {
        let r = makeRedactor([(name: "short", value: bytes("abcdef")), (name: "long", value: bytes("abcdefghij"))])
        var out: [UInt8] = []
        bytes("> abcdefgh").withUnsafeBytes { r.feed($0) { out += $0 } }
        #expect(text(out) == "> ")
        r.flush { out += $0 }
        #expect(text(out) == "> [redacted:short]gh")
    }

    @Test(arguments: [1, 7, 4096, 65536])
    func randomDataWithoutSecretsIsUnchanged(_ maxChunk: Int) {
        var rng = SplitMix64(seed: UInt64(maxChunk))
        let secrets = (0..<16).map { (name: "s\($0)", value: randomBytes(Int.random(in: 12...40, using: &rng), &rng)) }
        let data = randomBytes(maxChunk == 1 ? 20_000 : 1 << 20, &rng)
        #expect(run(makeRedactor(secrets), chunked(data, maxChunk: maxChunk, &rng)) == data)
    }

    @Test func textWithoutSecretsIsUnchanged() {
        let line = bytes("2026-01-01T00:00:00Z INFO order filled {\"side\":\"buy\",\"px\":\"101.5\"}\n")
        let data = Array((0..<5_000).map { _ in line }.joined())
        var rng = SplitMix64(seed: 3)
        #expect(run(makeRedactor([api, (name: "p", value: bytes("passphrase\"x"))]),
                    chunked(data, maxChunk: 3000, &rng)) == data)
    }

    @Test(arguments: [1 as UInt64, 2, 3, 4])
    func plantedSecretsMatchTheReference(_ seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        // Short printable secrets with JSON-special bytes, plus binary ones; one a prefix of another.
        // Also bytes other serializers escape, and pieces of UTF-8 (some values end up invalid).
        let alphabet = bytes("abcXYZ019/\"\\\n\t-_<&\u{7f}\u{1b}\u{e9}\u{2028}")
        var secrets = (0..<14).map { i in
            (name: "k\(i)", value: (0..<Int.random(in: 6...48, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
        }
        secrets.append((name: "bin", value: randomBytes(33, &rng)))
        secrets.append((name: "prefix", value: Array(secrets[0].value.prefix(6))))
        var data = randomBytes(1 << 20, &rng)
        for _ in 0..<16 {
            let s = secrets.randomElement(using: &rng)!.value
            let form = referenceForms(s).randomElement(using: &rng)!
            let at = Int.random(in: 0..<(data.count - form.count), using: &rng)
            data.replaceSubrange(at..<at + form.count, with: form)
        }
        // Dense region: secrets back to back and overlapping.
        for _ in 0..<200 { data += secrets.randomElement(using: &rng)!.value.prefix(Int.random(in: 1...48, using: &rng)) }
        let expected = reference(data, secrets)
        #expect(expected != data)
        for maxChunk in [1, 13, 8192] {
            let input = maxChunk == 1 ? Array(data.suffix(8_000)) : data
            let want = maxChunk == 1 ? reference(input, secrets) : expected
            #expect(run(makeRedactor(secrets), chunked(input, maxChunk: maxChunk, &rng)) == want,
                    "seed \(seed), chunks up to \(maxChunk)")
        }
    }

    /// `k/&<>"\`, tab, CR, ESC, LF, `é`, `😀`: how each serializer prints it, written out by hand.
    static let special = "k/&<>\"\\\t\r\u{1b}\n\u{e9}\u{1F600}-end"
    static let renderings: [(who: String, text: String)] = [
        ("raw", special),
        ("JSON.stringify", #"k/&<>\"\\\t\r\u001b\né😀-end"#),
        ("Jackson", #"k/&<>\"\\\t\r\u001B\né😀-end"#),
        ("json.dumps", #"k/&<>\"\\\t\r\u001b\n\u00e9\ud83d\ude00-end"#),
        ("Go", #"k/\u0026\u003c\u003e\"\\\t\r\u001b\né😀-end"#),
        ("JSONEncoder", #"k\/&<>\"\\\t\r\u001b\né😀-end"#),
        ("json_encode", #"k\/&<>\"\\\t\r\u001b\n\u00e9\ud83d\ude00-end"#),
        ("pty ONLCR", "k/&<>\"\\\t\r\u{1b}\r\n\u{e9}\u{1F600}-end"),
    ]

    @Test func everyFormOfASpecialValueIsStored() {
        #expect(storedForms(bytes(Self.special)) == Self.renderings.map { bytes($0.text) })
        #expect(storedForms(bytes(Self.special)) == referenceForms(bytes(Self.special)))
    }

    @Test(arguments: renderings.indices)
    func everyFormIsMaskedWholeAndByteByByte(_ i: Int) {
        let secrets = [(name: "app/key", value: bytes(Self.special))]
        let line = "{\"k\": \"" + Self.renderings[i].text + "\"} tail\n"
        let want = "{\"k\": \"[redacted:app/key]\"} tail\n"
        #expect(redact(secrets, [bytes(line)]) == want, "\(Self.renderings[i].who)")
        #expect(redact(secrets, oneBytePerFeed(line)) == want, "\(Self.renderings[i].who)")
    }

    @Test(arguments: renderings.indices)
    func everyFormSplitAtEveryPosition(_ i: Int) {
        let form = bytes(Self.renderings[i].text)
        let line = bytes("<<") + form + bytes(">>\n")
        for cut in 0...line.count {
            let r = makeRedactor([(name: "app/key", value: bytes(Self.special))])
            var out: [UInt8] = []
            line[..<cut].withUnsafeBytes { r.feed($0) { out += $0 } }
            // Nothing past "<<" leaves before the form is complete.
            if cut < 2 + form.count { #expect(out.count <= 2, "\(Self.renderings[i].who) cut at \(cut)") }
            line[cut...].withUnsafeBytes { r.feed($0) { out += $0 } }
            r.flush { out += $0 }
            #expect(text(out) == "<<[redacted:app/key]>>\n", "\(Self.renderings[i].who) cut at \(cut)")
        }
    }

    @Test(arguments: renderings.indices)
    func aPrefixOfAFormIsNotMasked(_ i: Int) {
        let secrets = [(name: "app/key", value: bytes(Self.special))]
        let form = bytes(Self.renderings[i].text)
        for keep in [6, form.count / 2, form.count - 1] {
            let line = bytes("x ") + Array(form.prefix(keep)) + bytes("#not the rest\n")
            #expect(run(makeRedactor(secrets), [line]) == line, "\(Self.renderings[i].who) prefix \(keep)")
            #expect(run(makeRedactor(secrets), line.map { [$0] }) == line, "\(Self.renderings[i].who) prefix \(keep)")
        }
    }

    @Test func otherCharactersTheSerializersEscape() {
        // DEL: only Python escapes it. U+2028/U+2029: Go, and those that escape all non-ASCII.
        let value = bytes("del\u{7f} ls\u{2028}ps\u{2029}vt\u{0b}")
        let raw = "del\u{7f} ls\u{2028}ps\u{2029}vt"
        let expected = [raw + "\u{0b}",
                        raw + #"\u000b"#,                                   // JSON.stringify
                        raw + #"\u000B"#,                                   // Jackson
                        #"del\u007f ls\u2028ps\u2029vt\u000b"#,            // json.dumps
                        "del\u{7f} " + #"ls\u2028ps\u2029vt\u000b"#]      // Go, and PHP's is the same
        #expect(storedForms(value).map(text) == expected)
        #expect(storedForms(value) == referenceForms(value))
    }

    @Test func invalidUTF8() {
        // No Python or PHP form; Go writes each invalid byte as \ufffd.
        let value: [UInt8] = bytes("bin<") + [0xFF, 0xC3] + bytes("x\u{e9}")
        let forms = storedForms(value)
        #expect(forms.contains(bytes(#"bin\u003c\ufffd\ufffdx"#) + bytes("\u{e9}")))
        #expect(!forms.contains { text($0).contains(#"\u00e9"#) })
        #expect(forms == referenceForms(value))
    }

    @Test(arguments: [5 as UInt64, 6, 7])
    func formsMatchTheReference(_ seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let pieces = ["a", "/", "&", "<", ">", "\"", "\\", "\t", "\r", "\n", "\u{1b}", "\u{7f}", "\u{e9}",
                      "\u{1F600}", "\u{2028}", "\u{FFFD}", "\u{0b}"].map(bytes)
            + [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x80], [0xF4, 0x90, 0x80, 0x80]]
        for _ in 0..<300 {
            let value = (0..<Int.random(in: 6...30, using: &rng)).flatMap { _ in pieces.randomElement(using: &rng)! }
            #expect(storedForms(value) == referenceForms(value), "\(value)")
        }
        let all = (0...255).map { UInt8($0) }
        #expect(storedForms(all) == referenceForms(all))
    }
}
