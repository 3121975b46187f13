/// Strict base64 (standard alphabet). Canonical encodings only: unused trailing
/// bits must be zero, and whitespace or line breaks are never skipped.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let reverse: [Int8] = {
        var t = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = Int8(i) }
        return t
    }()

    /// Encodes without padding (age's header encoding) or with padding (armor).
    public static func encode<C: Collection>(_ data: C, padded: Bool = false) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity((data.count + 2) / 3 * 4)
        var it = data.makeIterator()
        while let a = it.next() {
            let b = it.next(), c = it.next()
            out.append(alphabet[Int(a >> 2)])
            out.append(alphabet[Int((a & 0x03) << 4 | (b ?? 0) >> 4)])
            if let b {
                out.append(alphabet[Int((b & 0x0f) << 2 | (c ?? 0) >> 6)])
            } else if padded { out.append(UInt8(ascii: "=")) }
            if let c {
                out.append(alphabet[Int(c & 0x3f)])
            } else if padded { out.append(UInt8(ascii: "=")) }
        }
        return out
    }

    /// Decodes unpadded (`padded == false`) or padded base64; nil if invalid or
    /// not canonical.
    public static func decode<C: Collection>(_ text: C, padded: Bool = false) -> [UInt8]? where C.Element == UInt8 {
        var chars = Array(text)
        if padded {
            guard chars.count % 4 == 0 else { return nil }
            var pad = 0
            while pad < 2, let last = chars.last, last == UInt8(ascii: "=") { chars.removeLast(); pad += 1 }
        }
        if chars.count % 4 == 1 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var acc: UInt32 = 0, bits = 0
        for ch in chars {
            let v = reverse[Int(ch)]
            if v < 0 { return nil }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        // Canonical: the leftover bits must be zero.
        if bits > 0 && acc & ((1 << UInt32(bits)) - 1) != 0 { return nil }
        return out
    }
}
