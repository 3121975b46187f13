/// age's ASCII armor: strict PEM with the label "AGE ENCRYPTED FILE".
///
/// Whitespace is allowed before the BEGIN line and after the END line, lines
/// end in LF or CRLF, every base64 line but the last has exactly 64 columns,
/// the last has 1 to 64, padding is required and the encoding is canonical.
public enum Armor {
    /// The PEM BEGIN line, without its line ending (RFC 7468; age v1 spec, 'ASCII armor').
    public static let begin = Array("-----BEGIN AGE ENCRYPTED FILE-----".utf8)
    /// The PEM END line, without its line ending.
    public static let end = Array("-----END AGE ENCRYPTED FILE-----".utf8)
    /// The largest armored input `decode` accepts: 256 MiB.
    public static let maxArmoredBytes = 256 * 1024 * 1024

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d }

    /// True when `data` looks armored (it does not start with the binary header).
    public static func isArmored(_ data: [UInt8]) -> Bool {
        let firstNonSpace = data.firstIndex { !isSpace($0) } ?? data.count
        return data[firstNonSpace...].starts(with: begin)
    }

    /// The binary age file inside the armor (the rules above).
    /// - Throws: `AgeError.armor` for input over `maxArmoredBytes`, a missing BEGIN or END line, a line that is
    ///   empty, over 64 columns, or short but not the last, anything but whitespace after END, or base64 that is
    ///   not canonical and padded (RFC 4648).
    public static func decode(_ data: [UInt8]) throws(AgeError) -> [UInt8] {
        guard data.count <= maxArmoredBytes else { throw .armor("armored file is too large") }
        var pos = data.firstIndex { !isSpace($0) } ?? data.count
        func line() -> ArraySlice<UInt8>? {
            guard pos < data.count else { return nil }
            let nl = data[pos...].firstIndex(of: 0x0a)
            var l = data[pos..<(nl ?? data.count)]
            pos = (nl ?? data.count - 1) + 1
            if l.last == 0x0d { l = l.dropLast() }
            return l
        }
        guard let first = line(), first.elementsEqual(begin) else { throw .armor("missing BEGIN line") }
        var encoded: [UInt8] = []
        var sawShort = false
        while true {
            guard let l = line() else { throw .armor("missing END line") }
            if l.elementsEqual(end) { break }
            guard !sawShort else { throw .armor("a short line must be the last one") }
            guard !l.isEmpty, l.count <= 64 else { throw .armor("bad line length") }
            if l.count < 64 { sawShort = true }
            encoded += l
        }
        guard data[pos...].allSatisfy(isSpace) else { throw .armor("trailing data after END line") }
        guard let decoded = Base64.decode(encoded, padded: true) else { throw .armor("invalid base64") }
        return decoded
    }

    /// Armors `data`: the BEGIN line, padded base64 in lines of 64 columns (the last shorter), the END
    /// line, each ending in LF.
    public static func encode(_ data: [UInt8]) -> [UInt8] {
        var out = begin
        out.append(0x0a)
        let b64 = Base64.encode(data, padded: true)
        var i = 0
        while i < b64.count {
            let j = min(i + 64, b64.count)
            out += b64[i..<j]
            out.append(0x0a)
            i = j
        }
        out += end
        out.append(0x0a)
        return out
    }
}
