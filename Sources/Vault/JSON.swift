import Common
import Age

/// A small strict JSON reader over guarded memory. Strings that hold secrets
/// are decoded straight into `SecretBytes`; only metadata becomes `String`.
/// Errors give byte offsets, never content.
struct JSONReader {
    let buf: UnsafeRawBufferPointer
    var pos = 0
    static let maxDepth = 8

    init(_ buf: UnsafeRawBufferPointer) { self.buf = buf }

    /// Where the last key `object` read ends (for a caller's own duplicate check).
    var keyEnd = 0

    func fail(_ what: String, at: Int? = nil) -> VaultError {
        VaultError(.format, "vault document: \(what) at byte \(at ?? pos)",
                   hints: ["the decrypted vault must be JSON: {\"format\":\"run-with-keys/v1\",\"secrets\":{…}}"])
    }

    mutating func skipSpace() {
        while pos < buf.count, buf[pos] == 0x20 || buf[pos] == 0x0a || buf[pos] == 0x0d || buf[pos] == 0x09 { pos += 1 }
    }

    mutating func peek() -> UInt8? {
        skipSpace()
        return pos < buf.count ? buf[pos] : nil
    }

    mutating func expect(_ c: UInt8) throws(VaultError) {
        guard peek() == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        pos += 1
    }

    /// Consumes `c` if it is next.
    mutating func accept(_ c: UInt8) -> Bool {
        if peek() == c { pos += 1; return true }
        return false
    }

    mutating func acceptNull() -> Bool {
        skipSpace()
        if buf.count - pos >= 4, buf[pos] == 0x6e, buf[pos + 1] == 0x75, buf[pos + 2] == 0x6c, buf[pos + 3] == 0x6c {
            pos += 4
            return true
        }
        return false
    }

    /// The raw bytes between the quotes of the next string, after checking
    /// that its escapes are well formed and it holds no raw control characters.
    mutating func stringRange() throws(VaultError) -> Range<Int> {
        guard peek() == 0x22 else { throw fail("expected a string") }
        pos += 1
        let start = pos
        while pos < buf.count {
            // Eight bytes at a time while none of them is a quote, a backslash or a
            // control character (each test is exact about whether such a byte is there).
            while pos + 8 <= buf.count {
                let x = buf.loadUnaligned(fromByteOffset: pos, as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
                let quote = x ^ (0x22 &* ones), backslash = x ^ (0x5c &* ones)
                let zero = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((x &- 0x20 &* ones) & ~x)
                if zero & high != 0 { break }
                pos += 8
            }
            guard pos < buf.count else { break }
            let c = buf[pos]
            if c == 0x22 { pos += 1; return start..<(pos - 1) }
            if c < 0x20 { throw fail("raw control character in a string") }
            if c == 0x5c {
                guard pos + 1 < buf.count else { break }
                switch buf[pos + 1] {
                case 0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74: pos += 2
                case 0x75:
                    guard let u = hex4(pos + 2) else { throw fail("bad \\u escape") }
                    pos += 6
                    if u >= 0xd800 && u < 0xdc00 {
                        guard pos + 1 < buf.count, buf[pos] == 0x5c, buf[pos + 1] == 0x75,
                              let lo = hex4(pos + 2), lo >= 0xdc00 && lo < 0xe000 else {
                            throw fail("unpaired surrogate in \\u escape")
                        }
                        pos += 6
                    } else if u >= 0xdc00 && u < 0xe000 {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                default: throw fail("bad escape")
                }
                continue
            }
            pos += 1
        }
        throw fail("unterminated string")
    }

    /// Whether a validated string range decodes to a NUL byte (a `\u0000` escape;
    /// raw control bytes are refused by `stringRange`).
    func containsNUL(_ range: Range<Int>) -> Bool {
        var i = range.lowerBound
        while i < range.upperBound {
            guard buf[i] == 0x5c else { i += 1; continue }
            if buf[i + 1] == 0x75 {
                if hex4(i + 2) == 0 { return true }
                i += 6
            } else {
                i += 2
            }
        }
        return false
    }

    func hex4(_ at: Int) -> UInt32? {
        guard at + 4 <= buf.count else { return nil }
        var v: UInt32 = 0
        for i in at..<(at + 4) {
            let c = buf[i]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    /// Decodes a validated string range; with `out` nil it only counts bytes.
    func decode(_ range: Range<Int>, into out: UnsafeMutableRawBufferPointer?) -> Int {
        var n = 0
        func put(_ b: UInt8) { out?[n] = b; n += 1 }
        var i = range.lowerBound
        while i < range.upperBound {
            let c = buf[i]
            guard c == 0x5c else { put(c); i += 1; continue }
            let e = buf[i + 1]
            i += 2
            switch e {
            case 0x62: put(0x08)
            case 0x66: put(0x0c)
            case 0x6e: put(0x0a)
            case 0x72: put(0x0d)
            case 0x74: put(0x09)
            case 0x75:
                var scalar = hex4(i)!
                i += 4
                if scalar >= 0xd800 && scalar < 0xdc00 {
                    let lo = hex4(i + 2)!
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xd800) << 10) + (lo - 0xdc00)
                }
                if scalar < 0x80 {
                    put(UInt8(scalar))
                } else if scalar < 0x800 {
                    put(UInt8(0xc0 | scalar >> 6)); put(UInt8(0x80 | scalar & 0x3f))
                } else if scalar < 0x10000 {
                    put(UInt8(0xe0 | scalar >> 12)); put(UInt8(0x80 | (scalar >> 6) & 0x3f)); put(UInt8(0x80 | scalar & 0x3f))
                } else {
                    put(UInt8(0xf0 | scalar >> 18)); put(UInt8(0x80 | (scalar >> 12) & 0x3f))
                    put(UInt8(0x80 | (scalar >> 6) & 0x3f)); put(UInt8(0x80 | scalar & 0x3f))
                }
                scalar = 0
            default: put(e)  // " \ /
            }
        }
        return n
    }

    /// A non-secret string (names, timestamps, scopes, notes).
    mutating func string() throws(VaultError) -> String {
        let r = try stringRange()
        // Most metadata strings have no escape: make the String from the bytes as they are.
        let raw = UnsafeRawBufferPointer(rebasing: buf[r])
        if !raw.contains(0x5c) { return String(decoding: raw, as: UTF8.self) }
        var bytes = [UInt8](repeating: 0, count: decode(r, into: nil))
        _ = bytes.withUnsafeMutableBytes { decode(r, into: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An RFC 3339 time string, read from its bytes when it has no escape; nil when it is not one.
    mutating func timestamp() throws(VaultError) -> Timestamp? {
        let r = try stringRange()
        let raw = UnsafeRawBufferPointer(rebasing: buf[r])
        if !raw.contains(0x5c) { return Timestamp(rfc3339: raw) }
        var bytes = [UInt8](repeating: 0, count: decode(r, into: nil))
        _ = bytes.withUnsafeMutableBytes { decode(r, into: $0) }
        return Timestamp(rfc3339: String(decoding: bytes, as: UTF8.self))
    }

    /// A secret string, decoded straight into guarded memory.
    mutating func secret() throws(VaultError) -> SecretBytes {
        let r = try stringRange()
        let out = SecretBytes(count: decode(r, into: nil))
        out.withUnsafeMutableBytesUnchecked { _ = decode(r, into: $0) }
        return out
    }

    /// An integer (no fraction or exponent).
    mutating func integer() throws(VaultError) -> Int64 {
        skipSpace()
        var negative = false
        if pos < buf.count && buf[pos] == 0x2d { negative = true; pos += 1 }
        let start = pos
        var v: Int64 = 0
        while pos < buf.count, buf[pos] >= 48, buf[pos] <= 57, pos - start < 18 {
            v = v * 10 + Int64(buf[pos] - 48)
            pos += 1
        }
        guard pos > start else { throw fail("expected an integer") }
        return negative ? -v : v
    }

    /// Skips any value (used for fields a reader does not know, in logs).
    mutating func skipValue(depth: Int = 0) throws(VaultError) {
        guard depth < Self.maxDepth else { throw fail("nested too deeply") }
        switch peek() {
        case 0x22: _ = try stringRange()
        case 0x7b: try object { (r: inout JSONReader, _) throws(VaultError) in try r.skipValue(depth: depth + 1) }
        case 0x5b:
            pos += 1
            if accept(0x5d) { return }
            repeat { try skipValue(depth: depth + 1) } while accept(0x2c)
            try expect(0x5d)
        case 0x6e: guard acceptNull() else { throw fail("bad literal") }
        case 0x74, 0x66:
            for word in ["true", "false"] where buf.count - pos >= word.utf8.count
                && buf[pos..<(pos + word.utf8.count)].elementsEqual(word.utf8) { pos += word.utf8.count; return }
            throw fail("bad literal")
        default: _ = try integer()
        }
    }

    mutating func stringArray() throws(VaultError) -> [String] {
        try expect(0x5b)
        var out: [String] = []
        if accept(0x5d) { return out }
        repeat { out.append(try string()) } while accept(0x2c)
        try expect(0x5d)
        return out
    }

    /// Iterates the members of an object, calling `body` with each key.
    /// `checkDuplicates: false` leaves duplicate keys to `body` (see `keyEnd`).
    mutating func object(checkDuplicates: Bool = true,
                         _ body: (inout JSONReader, String) throws(VaultError) -> Void) throws(VaultError) {
        try expect(0x7b)
        if accept(0x7d) { return }
        // Duplicate keys: a list while the object is small (an entry has up to 8
        // keys), a set once it is large (the secrets); hashing each key costs more.
        var few: [String] = []
        var many = Set<String>()
        repeat {
            let key = try string()
            keyEnd = pos
            if !checkDuplicates {
            } else if few.count < 16 {
                guard !few.contains(key) else { throw fail("duplicate key") }
                few.append(key)
                if few.count == 16 { many = Set(few) }
            } else {
                guard many.insert(key).inserted else { throw fail("duplicate key") }
            }
            try expect(0x3a)
            try body(&self, key)
        } while accept(0x2c)
        try expect(0x7d)
    }
}

/// JSON strings of the vault document, quoted, into a guarded builder (the
/// escaping itself is `StringEscape`'s).
enum JSONWriter {
    static func appendEscaped(_ bytes: UnsafeRawBufferPointer, to out: inout SecretBuilder) {
        out.append(UInt8(ascii: "\""))
        StringEscape.escape(bytes, .json) { out.append($0) }
        out.append(UInt8(ascii: "\""))
    }

    static func appendEscaped(_ text: String, to out: inout SecretBuilder) {
        var t = text
        t.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0), to: &out) }
    }
}

/// True when `bytes` is well-formed UTF-8 (checked without making a String).
public func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    while i < bytes.count {
        let c = bytes[i]
        let need: Int
        var minScalar: UInt32
        var scalar: UInt32
        switch c {
        case 0x00...0x7f: i += 1; continue
        case 0xc2...0xdf: need = 1; scalar = UInt32(c & 0x1f); minScalar = 0x80
        case 0xe0...0xef: need = 2; scalar = UInt32(c & 0x0f); minScalar = 0x800
        case 0xf0...0xf4: need = 3; scalar = UInt32(c & 0x07); minScalar = 0x10000
        default: return false
        }
        guard i + need < bytes.count else { return false }
        for k in 1...need {
            let d = bytes[i + k]
            guard d & 0xc0 == 0x80 else { return false }
            scalar = scalar << 6 | UInt32(d & 0x3f)
        }
        guard scalar >= minScalar, scalar <= 0x10ffff, !(0xd800...0xdfff).contains(scalar) else { return false }
        scalar = 0; minScalar = 0
        i += need + 1
    }
    return true
}
