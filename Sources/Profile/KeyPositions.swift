import Common

/// Where each key of a TOML document is written.
///
/// TOMLKit 0.6.0 exposes neither source positions nor key order (toml++ keeps a table's keys
/// sorted), so this scans the text itself. It runs only on text TOMLKit has already accepted, so it
/// only has to find keys, not to check syntax; it stops making progress gracefully on anything odd.
struct KeyPositions {
    struct Position: Comparable {
        var line: Int
        var column: Int
        static func < (a: Position, b: Position) -> Bool { (a.line, a.column) < (b.line, b.column) }
    }

    /// Keyed by `key(path)`: a String key, because a dictionary keyed by `[String]`
    /// costs a protocol conformance lookup (a scan of every conformance record in
    /// the binary, ~0.1 ms) the first time a process makes one.
    private var positions: [String: Position]

    /// The parts joined with NUL, which no profile key contains (NulEscape refuses it).
    static func key(_ path: [String]) -> String { path.joined(by: "\u{0}") }

    init(text: String) {
        var scanner = KeyScanner(bytes: Array(text.utf8))
        scanner.document()
        positions = scanner.found
    }

    /// The 1-based line where `path` (e.g. ["restart", "burst"]) is first written.
    func line(of path: [String]) -> Int? { positions[KeyPositions.key(path)]?.line }

    /// `keys` of the table at `table`, in the order they appear in the file; unknown positions last.
    func fileOrder(_ keys: [String], in table: [String]) -> [String] {
        let far = Position(line: Int.max, column: 0)
        return keys.enumerated()
            .map { (offset, key) in (positions[KeyPositions.key(table + [key])] ?? far, offset, key) }
            .sorted { ($0.0, $0.1) < ($1.0, $1.1) }
            .map { $0.2 }
    }
}

private struct KeyScanner {
    let bytes: [UInt8]
    var i = 0
    var line = 1
    var lineStart = 0
    var found: [String: KeyPositions.Position] = [:]

    init(bytes: [UInt8]) { self.bytes = bytes }

    var position: KeyPositions.Position { .init(line: line, column: i - lineStart + 1) }
    func peek(_ k: Int = 0) -> UInt8? { i + k < bytes.count ? bytes[i + k] : nil }

    mutating func advance() {
        if bytes[i] == UInt8(ascii: "\n") { line += 1; lineStart = i + 1 }
        i += 1
    }

    mutating func skipSpaces() {
        while let c = peek(), c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { advance() }
    }

    /// Spaces, newlines and comments.
    mutating func skipTrivia() {
        while let c = peek() {
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): advance()
            case UInt8(ascii: "#"): while let c = peek(), c != UInt8(ascii: "\n") { advance() }
            default: return
            }
        }
    }

    mutating func record(_ prefix: [String], _ parts: [String], at p: KeyPositions.Position) {
        var path = KeyPositions.key(prefix)
        for n in parts.indices {
            if n != 0 || !prefix.isEmpty { path.append("\u{0}") }
            path.append(parts[n])
            if found[path] == nil { found[path] = p }
        }
    }

    mutating func document() {
        var table: [String] = []
        while true {
            skipTrivia()
            let start = i
            guard let c = peek() else { return }
            if c == UInt8(ascii: "[") {
                advance()
                if peek() == UInt8(ascii: "[") { advance() }
                skipSpaces()
                let p = position
                table = keyParts()
                record([], table, at: p)
                while let c = peek(), c == UInt8(ascii: "]") || c == UInt8(ascii: " ") { advance() }
            } else {
                keyValue(prefix: table)
            }
            if i == start { advance() }
        }
    }

    /// `key = value`; keys are recorded under `prefix` unless it is nil (tables inside arrays).
    mutating func keyValue(prefix: [String]?) {
        let p = position
        let parts = keyParts()
        if let prefix { record(prefix, parts, at: p) }
        skipSpaces()
        if peek() == UInt8(ascii: "=") { advance() }
        skipSpaces()
        value(path: prefix.map { $0 + parts })
    }

    mutating func keyParts() -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            guard let c = peek() else { break }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                parts.append(string())
            } else {
                let start = i
                while let c = peek(), isBareKeyByte(c) { advance() }
                if i == start { break }
                parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
            }
            skipSpaces()
            guard peek() == UInt8(ascii: ".") else { break }
            advance()
        }
        return parts
    }

    func isBareKeyByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
    }

    mutating func value(path: [String]?) {
        guard let c = peek() else { return }
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            _ = string()
        case UInt8(ascii: "{"):
            advance()
            items(closing: UInt8(ascii: "}")) { (s: inout KeyScanner) in s.keyValue(prefix: path) }
        case UInt8(ascii: "["):
            advance()
            items(closing: UInt8(ascii: "]")) { (s: inout KeyScanner) in s.value(path: nil) }
        default:
            let stops: [UInt8] = Array(",]}#\r\n".utf8)
            while let c = peek(), !stops.contains(c) { advance() }
        }
    }

    /// Comma-separated items up to `closing`, as in inline tables and arrays.
    mutating func items(closing: UInt8, _ item: (inout KeyScanner) -> Void) {
        while true {
            skipTrivia()
            let start = i
            guard let c = peek() else { return }
            if c == closing { advance(); return }
            if c == UInt8(ascii: ",") { advance(); continue }
            item(&self)
            if i == start { advance() }
        }
    }

    /// Any of the four TOML string forms; returns the decoded text (escapes handled for keys).
    mutating func string() -> String {
        let quote = bytes[i]
        let literal = quote == UInt8(ascii: "'")
        let multi = peek(1) == quote && peek(2) == quote
        advance()
        if multi { advance(); advance() }
        var out: [UInt8] = []
        while let c = peek() {
            if c == quote && (!multi || (peek(1) == quote && peek(2) == quote)) {
                advance()
                if multi {
                    advance(); advance()
                    // Up to two quotes right before the closing ones belong to the content.
                    var extra = 0
                    while extra < 2, peek() == quote { advance(); extra += 1 }
                }
                break
            }
            if c == UInt8(ascii: "\\") && !literal {
                advance()
                guard let e = peek() else { break }
                out += unescape(e)
                continue
            }
            out.append(c)
            advance()
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes for the escape whose letter is at `i`; consumes it and any hex digits.
    mutating func unescape(_ e: UInt8) -> [UInt8] {
        advance()
        switch e {
        case UInt8(ascii: "n"): return [0x0A]
        case UInt8(ascii: "t"): return [0x09]
        case UInt8(ascii: "r"): return [0x0D]
        case UInt8(ascii: "b"): return [0x08]
        case UInt8(ascii: "f"): return [0x0C]
        case UInt8(ascii: "e"): return [0x1B]
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = e == UInt8(ascii: "u") ? 4 : 8
            var hex = ""
            for _ in 0..<count { if let c = peek() { hex.append(Character(Unicode.Scalar(c))); advance() } }
            guard let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else { return [] }
            return Array(String(Character(scalar)).utf8)
        case UInt8(ascii: "\n"), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
            // A line-ending backslash in a multi-line string eats the whitespace that follows.
            let blanks: [UInt8] = Array(" \t\r\n".utf8)
            while let c = peek(), blanks.contains(c) { advance() }
            return []
        default: return [e]
        }
    }
}
