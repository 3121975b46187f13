import Glibc
import Testing
import Age
@testable import Vault

/// `VaultListing.scan` (what `list` reads) against the full reader: the same
/// entries on documents it takes, nil (and the full reader's error) on the rest.
@Suite struct ListingTests {
    /// Each entry as one line, from the listing's bytes.
    func lines(_ l: VaultListing) -> [String] {
        (0..<l.count).map { i in
            let e = l[i]
            func s(_ r: Range<Int>) -> String { String(decoding: l.text[r], as: UTF8.self) }
            let scopes = e.scopes.map { s(l.scope($0)) }
            return "\(s(e.name))|\(String(describing: e.created))|\(String(describing: e.updated))|"
                + "\(String(describing: e.expires))|\(scopes)|\(e.note.map(s) ?? "<nil>")"
        }
    }

    func scan(_ json: String) -> VaultListing? {
        secret(json).withUnsafeBytes { VaultListing.scan($0) }
    }

    /// A JSON string literal with some characters escaped (`\u00xx`, short forms).
    func quoted(_ s: String, _ rng: inout some RandomNumberGenerator) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where c.value < 0x20: out += "\\u00" + (c.value < 16 ? "0" : "") + String(c.value, radix: 16)
            case _ where c.value > 0x7f && c.value < 0x10000 && Bool.random(using: &rng):
                let h = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    @Test func scanAgreesWithTheFullReader() throws {
        var rng = SplitMix(seed: 14)
        let scopePool = ["prod", "dev", "withdraw", "équipe", "e\u{301}t\u{e9}", "日本", "a,b", "🔑", "tab\there", "cr\rlf", "q\"\\"]
        let notes = ["rotated by hand", "ünïcødé \"quoted\" \\ tab\there", "line\nbreak", "\u{1}ctl", ""]
        let times = ["\"2026-11-01T00:00:00Z\"", "\"1999-12-31T23:59:59.25+02:00\"", "\"0000-01-01T00:00:00+01:00\"",
                     "\"9999-12-31T23:59:59Z\"", "null", "\"2026-02-30T12:00:00z\""]
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-")
        for round in 0..<40 {
            var names = Set<String>()
            var members: [String] = []
            for _ in 0..<Int.random(in: 0...60, using: &rng) {
                let name = String((0...Int.random(in: 0...20, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
                guard names.insert(name).inserted else { continue }
                var fields = ["\"value\": \"v\\u00e9\\\"\(Int.random(in: 0...999, using: &rng))\""]
                for key in ["created", "updated", "expires", "previous_until"] where Bool.random(using: &rng) {
                    fields.append("\"\(key)\":\(times.randomElement(using: &rng)!)")
                }
                if Bool.random(using: &rng) {
                    let scopes = (0..<Int.random(in: 0...3, using: &rng)).map { _ in quoted(scopePool.randomElement(using: &rng)!, &rng) }
                    fields.append("\"scopes\" : [ " + scopes.joined(separator: " , ") + " ]")
                }
                if Bool.random(using: &rng) { fields.append("\"note\":" + (Bool.random(using: &rng) ? "null" : quoted(notes.randomElement(using: &rng)!, &rng))) }
                if Bool.random(using: &rng) { fields.append("\"previous\":" + (Bool.random(using: &rng) ? "null" : "\"old\\n\"")) }
                fields.shuffle(using: &rng)
                members.append("\"\(name)\":{" + fields.joined(separator: ",") + "}")
            }
            let json = "{\"format\":\"run-with-keys/v1\",\n \"recipients\":[\"age1x\"],\"secrets\":{\n"
                + members.joined(separator: round % 2 == 0 ? ",\n" : ",") + "}}\n"
            let fast = try #require(scan(json), "round \(round)")
            let full = VaultListing(try VaultDocument.parse(secret(json)))
            #expect(lines(fast) == lines(full), "round \(round)")
            #expect(lines(try VaultListing(plaintext: secret(json))) == lines(full))
            #expect(names.allSatisfy { fast.contains(name: $0) } && (0..<fast.count).map(fast.name) == names.sorted())
            for absent in ["", "~", "0", "zzzzzzzzzzzzzzzzzzzzzz", "a/"] where !names.contains(absent) {
                #expect(!fast.contains(name: absent))
            }
        }
    }

    /// What the scan leaves to the full reader: the same error, or the same listing.
    @Test(arguments: [
        #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"x"},"a":{"value":"y"}}}"#,   // duplicate name
        #"{"format":"run-with-keys/v1","secrets":{"a b":{"value":"x"}}}"#,                    // invalid name
        #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"x","colour":"red"}}}"#,       // unknown key
        #"{"format":"run-with-keys/v1","secrets":{"a":{"created":null}}}"#,                   // no value
        #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"x","created":"yesterday"}}}"#,
        #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"x","value":"y"}}}"#,          // duplicate key
        #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"x\u12"}}}"#,                  // bad escape in a value
        #"{"format":"run-with-keys/v2","secrets":{}}"#,
        #"{"secrets":{}}"#,
        #"{"format":"run-with-keys/v1","format":"run-with-keys/v1","secrets":{}}"#,
        #"{"format":"run-with-keys/v1","secrets":{}} x"#,
        #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"x"}}"#,                        // unterminated
        #"{"format":"run-with-keys\/v1","secrets":{"a\/b":{"v\u0061lue":"x","scopes":["s"]}}}"#,  // escaped keys: valid
        "{\"format\":\"run-with-keys/v1\",\"secrets\":{\"a\":{\"value\":\"x\",\"scopes\":[\"\u{FF}bad\"]}}}",
    ])
    func unusualDocumentsGoToTheFullReader(_ json: String) throws {
        var bytes = Array(json.utf8)
        if let i = bytes.firstIndex(of: 0xc3), bytes[i + 1] == 0xbf { bytes.replaceSubrange(i...(i + 1), with: [0xff]) }  // raw invalid UTF-8
        var s = SecretBytes(count: bytes.count)
        s.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
        #expect(s.withUnsafeBytes { VaultListing.scan($0) } == nil)
        do {
            let full = VaultListing(try VaultDocument.parse(s))
            #expect(lines(try VaultListing(plaintext: s)) == lines(full))
        } catch let expected {
            do {
                _ = try VaultListing(plaintext: s)
                Issue.record("the listing took a document the full reader refuses: \(expected)")
            } catch {
                #expect(error.description == expected.description)
            }
        }
    }

    @Test func appendWritesWhatDescriptionSays() {
        var rng = SplitMix(seed: 7)
        let edges: [Int64] = [-62_167_219_200, -62_167_219_201, 253_402_300_799, 253_402_300_800, 0, -1, 86399, 86400]
        for seconds in edges + (0..<20_000).map({ _ in Int64.random(in: -62_200_000_000...253_500_000_000, using: &rng) }) {
            let t = Timestamp(seconds: seconds)
            var out: [UInt8] = []
            t.append(to: &out, dateOnly: false)
            t.append(to: &out, dateOnly: true)
            var tm = Glibc.tm(), tt = time_t(seconds)
            gmtime_r(&tt, &tm)
            func pad(_ v: Int32, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
            let general = "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
                + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2))Z"
            #expect(t.description == general, "\(seconds)")
            #expect(String(decoding: out, as: UTF8.self) == general + String(general.utf8.prefix(10))!, "\(seconds)")
        }
    }
}

/// A seeded generator, so a failure names a reproducible round.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
