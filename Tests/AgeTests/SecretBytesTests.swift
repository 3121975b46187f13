import Testing
@testable import Age

@Suite struct SecretBytesTests {
    @Test func roundTripAndCompare() {
        var s = SecretBytes(count: 4)
        s.withUnsafeMutableBytes { $0.copyBytes(from: [1, 2, 3, 4] as [UInt8]) }
        #expect(([1, 2, 3, 4] as [UInt8]).withUnsafeBytes { s.equals($0) })
        #expect(!([1, 2, 3, 5] as [UInt8]).withUnsafeBytes { s.equals($0) })
        let copy = s.slice(1..<3)
        #expect(([2, 3] as [UInt8]).withUnsafeBytes { copy.equals($0) })
    }

    @Test func nestedAccessRestoresProtection() {
        let s = SecretBytes.random(count: 32)
        let sum = s.withUnsafeBytes { outer in
            s.withUnsafeBytes { inner in inner.count } + outer.reduce(0) { $0 &+ Int($1) } * 0
        }
        #expect(sum == 32)
    }

    @Test func builderGrows() {
        var b = SecretBuilder(capacity: 16)
        for _ in 0..<100 { b.append("abc") }
        let s = b.finish()
        #expect(s.count == 300)
    }
}

@Suite struct SecretBuilderTests {
    @Test func appendsOfEveryKindAcrossGrowth() {
        var b = SecretBuilder(capacity: 16)
        var expected: [UInt8] = []
        for i in 0..<500 {
            let text = "NAME\(i)="
            b.append(text); expected += Array(text.utf8)
            let s = SecretBytes.random(count: i % 40)
            expected += s.withUnsafeBytes { Array($0) }
            b.append(s)
            b.append(UInt8(0)); expected.append(0)
        }
        let out = b.finish()
        #expect(out.count == expected.count)
        #expect(expected.withUnsafeBytes { out.equals($0) })
    }
}
