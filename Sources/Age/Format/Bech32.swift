/// Bech32 (BIP 173) without the 90-character limit, as age uses it for
/// `age1…` recipients and `AGE-SECRET-KEY-1…` identities.
///
/// It works on raw buffers so that identities can be decoded from guarded
/// memory into guarded memory: no intermediate array holds key material.
public enum Bech32 {
    static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    static let reverse: [Int8] = {
        var t = [Int8](repeating: -1, count: 256)
        for (i, c) in charset.enumerated() {
            t[Int(c)] = Int8(i)
            if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") { t[Int(c - 32)] = Int8(i) }
        }
        return t
    }()

    private static func polymodStep(_ chk: UInt32, _ v: UInt8) -> UInt32 {
        let gen: [UInt32] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
        let top = chk >> 25
        var c = (chk & 0x1ffffff) << 5 ^ UInt32(v)
        for i in 0..<5 where (top >> UInt32(i)) & 1 == 1 { c ^= gen[i] }
        return c
    }

    private static func hrpChecksum(_ hrp: [UInt8]) -> UInt32 {
        var chk: UInt32 = 1
        for c in hrp { chk = polymodStep(chk, c >> 5) }
        chk = polymodStep(chk, 0)
        for c in hrp { chk = polymodStep(chk, c & 31) }
        return chk
    }

    /// Length of the encoding of `dataCount` bytes under `hrp`.
    public static func encodedLength(hrp: String, dataCount: Int) -> Int {
        hrp.utf8.count + 1 + (dataCount * 8 + 4) / 5 + 6
    }

    /// Calls `body` with each 5-bit group of `data`, padded with zero bits.
    private static func forEachGroup(_ data: UnsafeRawBufferPointer, _ body: (UInt8) -> Void) {
        var acc: UInt32 = 0, bits = 0
        for b in data {
            acc = (acc << 8 | UInt32(b)) & 0xfff
            bits += 8
            while bits >= 5 { bits -= 5; body(UInt8((acc >> UInt32(bits)) & 31)) }
        }
        if bits > 0 { body(UInt8((acc << UInt32(5 - bits)) & 31)) }
        acc = 0
    }

    /// Encodes `data` into `out`, which must hold `encodedLength` bytes. Returns the count written.
    @discardableResult
    public static func encode(hrp: String, data: UnsafeRawBufferPointer, uppercase: Bool,
                              into out: UnsafeMutableRawBufferPointer) -> Int {
        let h = Array(hrp.lowercased().utf8)
        precondition(out.count >= encodedLength(hrp: hrp, dataCount: data.count))
        var chk = hrpChecksum(h)
        forEachGroup(data) { chk = polymodStep(chk, $0) }
        for _ in 0..<6 { chk = polymodStep(chk, 0) }
        chk ^= 1
        let caseBit: UInt8 = uppercase ? 0x20 : 0
        func letter(_ c: UInt8) -> UInt8 { c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") ? c & ~caseBit : c }
        var n = 0
        for c in h { out[n] = letter(c); n += 1 }
        out[n] = UInt8(ascii: "1"); n += 1
        forEachGroup(data) { v in out[n] = letter(charset[Int(v)]); n += 1 }
        for i in 0..<6 { out[n] = letter(charset[Int((chk >> UInt32(5 * (5 - i))) & 31)]); n += 1 }
        return n
    }

    /// Decodes `text` into `out` (which needs at least `text.count` bytes).
    /// Returns the lowercase HRP and the number of data bytes, or nil when the
    /// text is not valid Bech32.
    public static func decode(_ text: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> (hrp: String, count: Int)? {
        // age's HRPs are short; a longer one is not age (and may be key material: don't copy it).
        guard let sep = text.lastIndex(of: UInt8(ascii: "1")), sep >= 1, sep <= 32, text.count - sep - 1 >= 6 else { return nil }
        var hasLower = false, hasUpper = false
        for c in text {
            if c < 33 || c > 126 { return nil }
            if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") { hasLower = true }
            if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { hasUpper = true }
        }
        if hasLower && hasUpper { return nil }
        let hrp = text[0..<sep].map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }
        var chk = hrpChecksum(hrp)
        for i in (sep + 1)..<text.count {
            let v = reverse[Int(text[i])]
            if v < 0 { return nil }
            chk = polymodStep(chk, UInt8(v))
        }
        guard chk == 1, out.count >= text.count else { return nil }
        var acc: UInt32 = 0, bits = 0, n = 0
        for i in (sep + 1)..<(text.count - 6) {
            acc = (acc << 5 | UInt32(reverse[Int(text[i])])) & 0xfff
            bits += 5
            if bits >= 8 { bits -= 8; out[n] = UInt8((acc >> UInt32(bits)) & 0xff); n += 1 }
        }
        let leftover = acc & ((1 << UInt32(bits)) - 1)
        acc = 0
        guard bits < 5, leftover == 0 else { return nil }
        return (String(decoding: hrp, as: UTF8.self), n)
    }
}
