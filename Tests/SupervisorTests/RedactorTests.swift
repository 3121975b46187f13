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

/// JSON string escape, written independently of the production one.
private func jsonEscaped(_ value: [UInt8], slash: Bool) -> [UInt8] {
    var out: [UInt8] = []
    for b in value {
        switch b {
        case 0x22: out += bytes("\\\"")
        case 0x5C: out += bytes("\\\\")
        case 0x2F where slash: out += bytes("\\/")
        case 0x0A: out += bytes("\\n")
        case 0x0D: out += bytes("\\r")
        case 0x09: out += bytes("\\t")
        case 0x08: out += bytes("\\b")
        case 0x0C: out += bytes("\\f")
        case 0..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            out += bytes("\\u00") + [hex[Int(b >> 4)], hex[Int(b & 15)]]
        default: out.append(b)
        }
    }
    return out
}

/// Leftmost-longest replacement over the whole stream, the slow obvious way.
private func reference(_ input: [UInt8], _ secrets: [(name: String, value: [UInt8])]) -> [UInt8] {
    var forms: [(value: [UInt8], replacement: [UInt8])] = []
    for s in secrets where !s.value.isEmpty {
        for v in [s.value, jsonEscaped(s.value, slash: false), jsonEscaped(s.value, slash: true)]
        where !forms.contains(where: { $0.value == v }) {
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
        #expect(forms("with\"quote") == 2)
        #expect(forms("a/b") == 2)
        #expect(forms("a/b\nc") == 3)
        #expect(forms("") == 0)
    }

    @Test func longestMatchAtTheEarliestStart() {
        let secrets = [(name: "short", value: bytes("abcd")), (name: "long", value: bytes("abcdefgh"))]
        let input = "xxabcdefghyy abcdzz abcdefg abcdabcdefgh"
        let expected = "xx[redacted:long]yy [redacted:short]zz [redacted:short]efg [redacted:short][redacted:long]"
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

    @Test func shortAndEmptySecrets() {
        let secrets = [(name: "empty", value: [UInt8]()), (name: "pin", value: bytes("7")), api]
        #expect(redact(secrets, [bytes("code 1778, S3cr3t-Value_42")])
                == "code 1[redacted:pin][redacted:pin]8, [redacted:coinbase/key]")
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
        let r = makeRedactor([(name: "short", value: bytes("abcd")), (name: "long", value: bytes("abcdefgh"))])
        var out: [UInt8] = []
        bytes("> abcdef").withUnsafeBytes { r.feed($0) { out += $0 } }
        #expect(text(out) == "> ")
        r.flush { out += $0 }
        #expect(text(out) == "> [redacted:short]ef")
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
        let alphabet = bytes("abcXYZ019/\"\\\n\t-_")
        var secrets = (0..<14).map { i in
            (name: "k\(i)", value: (0..<Int.random(in: 4...48, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
        }
        secrets.append((name: "bin", value: randomBytes(33, &rng)))
        secrets.append((name: "prefix", value: Array(secrets[0].value.prefix(3))))
        var data = randomBytes(1 << 20, &rng)
        for _ in 0..<16 {
            let s = secrets.randomElement(using: &rng)!.value
            let form = [s, jsonEscaped(s, slash: false), jsonEscaped(s, slash: true)].randomElement(using: &rng)!
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

    @Test func jsonEscapeMatchesTheTestsEscape() {
        let all = (0...255).map { UInt8($0) }
        for slash in [false, true] {
            var out = [UInt8](repeating: 0, count: all.count * 6)
            let n = all.withUnsafeBytes { src in out.withUnsafeMutableBytes { jsonEscape(src, into: $0, escapeSlash: slash) } }
            #expect(Array(out[..<n]) == jsonEscaped(all, slash: slash))
        }
    }
}
