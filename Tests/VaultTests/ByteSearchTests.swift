import Common
import Testing

/// `firstRange(ofBytes:)` finds what the standard library's byte search finds.
@Suite struct ByteSearchTests {
    @Test func findsMarkersAsBytesEvenBeforeACombiningMark() {
        let s = "a {file:k\u{301}} {{\u{64D}x}}"
        let r = s.utf8.firstRange(ofBytes: "{file:")
        #expect(r.map { s.utf8.distance(from: s.utf8.startIndex, to: $0.lowerBound) } == 2)
        #expect(s.utf8.firstRange(ofBytes: "{{") == s.utf8.firstRange(of: "{{".utf8))
        #expect(s.utf8.firstRange(ofBytes: "}}") == s.utf8.firstRange(of: "}}".utf8))
        #expect(s.utf8.firstRange(ofBytes: "{file:x") == nil)
        #expect("".utf8.firstRange(ofBytes: "{") == nil)
        #expect("abc".utf8.firstRange(ofBytes: "") == "abc".utf8.startIndex..<"abc".utf8.startIndex)
    }

    @Test func agreesWithTheStandardLibraryOnRandomText() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = Array("{}f:ile ".utf8)
        let needles: [(StaticString, [UInt8])] = [("{file:", Array("{file:".utf8)), ("{{", Array("{{".utf8)),
                                                  ("}}", Array("}}".utf8)), ("ff", Array("ff".utf8))]
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0...24, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let text = Substring(String(decoding: bytes, as: UTF8.self))
            for (needle, needleBytes) in needles {
                #expect(text.utf8.firstRange(ofBytes: needle) == text.utf8.firstRange(of: needleBytes), "\(text)")
            }
        }
    }
}
