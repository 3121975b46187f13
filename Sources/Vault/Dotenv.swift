import Age

/// A dotenv parser that works inside guarded memory, for `import`.
///
/// Follows python-dotenv: `export` prefixes, `#` comments, unquoted values
/// (trailing ` # comment` and spaces dropped), single-quoted values (literal,
/// may span lines), double-quoted values (may span lines; `\n \t \r \" \\ …`
/// escapes). `${VAR}` is not expanded: a `$` in a password stays a `$`.
/// A line without `=`, or whose key is not a name like `API_KEY`, `a.b` or
/// `x-y`, is skipped with a warning (python-dotenv skips what it can't parse;
/// it accepts more keys); an unterminated quote is an error, since what
/// follows may be key material.
/// A leading UTF-8 byte-order mark is skipped.
/// Errors and warnings name line numbers, never content.
public enum Dotenv {
    /// Calls `each` with every KEY and its value (in guarded memory), in file order; `warn` gets a line
    /// for each skipped line.
    /// - Throws: `VaultError` `.input` (naming the 1-based line) for an unterminated quote or characters after a
    ///   closing quote; and whatever `each` throws, which stops the parse.
    public static func parse(_ text: borrowing SecretBytes,
                             warn: (String) -> Void = { _ in },
                             _ each: (_ key: String, _ value: consuming SecretBytes) throws(VaultError) -> Void) throws(VaultError) {
        try parseLines(text, warn: warn) { (key: String, value: consuming SecretBytes, _: Int) throws(VaultError) in
            try each(key, value)
        }
    }

    /// `parse`, with the 1-based line each entry's key is on (for `exec --env-file` errors).
    public static func parseLines(_ text: borrowing SecretBytes,
                                  warn: (String) -> Void = { _ in },
                                  _ each: (_ key: String, _ value: consuming SecretBytes, _ line: Int) throws(VaultError) -> Void) throws(VaultError) {
        try text.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(VaultError) in
            var i = 0, line = 1
            // A UTF-8 byte-order mark (Windows editors write one) is not part of the first key.
            if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { i = 3 }
            func fail(_ what: String) -> VaultError { VaultError(.input, "dotenv line \(line): \(what)") }
            func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
            func skipSpaces() { while i < b.count && isSpace(b[i]) { i += 1 } }
            func skipToEOL() throws(VaultError) {
                skipSpaces()
                if i < b.count && b[i] == 0x23 { while i < b.count && b[i] != 0x0a { i += 1 } }
                if i < b.count && b[i] == 0x0d { i += 1 }
                if i < b.count {
                    guard b[i] == 0x0a else { throw fail("unexpected characters after the closing quote") }
                    i += 1; line += 1
                }
            }
            while i < b.count {
                skipSpaces()
                if i >= b.count { break }
                // A CR not before LF (an old Mac line end, or a stray one) is a blank, not "characters after a quote".
                if b[i] == 0x0d && (i + 1 == b.count || b[i + 1] != 0x0a) { i += 1; continue }
                if b[i] == 0x0a || b[i] == 0x0d || b[i] == 0x23 { try skipToEOL(); continue }
                if b.count - i > 7, b[i..<(i + 6)].elementsEqual("export".utf8), isSpace(b[i + 6]) { i += 7; skipSpaces() }
                // A key is an environment-variable-like name: [A-Za-z_][A-Za-z0-9_.-]*. python-dotenv takes
                // more (anything up to '='), but then the base64 lines of an unquoted multi-line key would
                // become "names" that get printed and stored in the clear; such lines are skipped instead.
                let keyStart = i
                let keyLine = line
                while i < b.count, b[i] != 0x3d, b[i] != 0x23, !isSpace(b[i]), b[i] != 0x0a, b[i] != 0x0d { i += 1 }
                let keyEnd = i
                skipSpaces()
                let wellFormed = keyEnd > keyStart && b[keyStart..<keyEnd].enumerated().allSatisfy { (n, c) in
                    c == 0x5f || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7a) || (n > 0 && ((c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x2d))
                }
                guard wellFormed, i < b.count, b[i] == 0x3d else {
                    // Say so without repeating the line: it may be a pasted secret.
                    warn("dotenv line \(line): not a KEY=VALUE line, skipped")
                    while i < b.count && b[i] != 0x0a { i += 1 }
                    if i < b.count { i += 1; line += 1 }
                    continue
                }
                let key = String(decoding: b[keyStart..<keyEnd], as: UTF8.self)
                i += 1
                skipSpaces()
                var value = SecretBuilder(capacity: 256)
                if i < b.count && (b[i] == 0x27 || b[i] == 0x22) {
                    let quote = b[i]
                    let startLine = line
                    i += 1
                    var closed = false
                    while i < b.count {
                        let c = b[i]
                        if c == quote { closed = true; i += 1; break }
                        if c == 0x0a { line += 1 }
                        if c == 0x5c && i + 1 < b.count {
                            let e = b[i + 1]
                            if quote == 0x27 {
                                if e == 0x27 || e == 0x5c { value.append(e); i += 2; continue }
                            } else {
                                let mapped: UInt8? = switch e {
                                case 0x6e: 0x0a
                                case 0x74: 0x09
                                case 0x72: 0x0d
                                case 0x22, 0x27, 0x5c: e
                                case 0x61: 0x07
                                case 0x62: 0x08
                                case 0x66: 0x0c
                                case 0x76: 0x0b
                                default: nil
                                }
                                if let m = mapped { value.append(m); i += 2; continue }
                            }
                        }
                        value.append(c)
                        i += 1
                    }
                    guard closed else { line = startLine; throw fail("unterminated quoted value") }
                    try skipToEOL()
                } else {
                    let start = i
                    while i < b.count && b[i] != 0x0a { i += 1 }
                    var end = i
                    // " #" starts a comment; then trailing spaces (and a CR) go.
                    var j = start
                    while j < end {
                        if b[j] == 0x23 && j > start && isSpace(b[j - 1]) { end = j; break }
                        j += 1
                    }
                    while end > start && (isSpace(b[end - 1]) || b[end - 1] == 0x0d) { end -= 1 }
                    value.append(UnsafeRawBufferPointer(rebasing: b[start..<end]))
                    if i < b.count { i += 1; line += 1 }
                }
                try each(key, value.finish(), keyLine)
            }
        }
    }
}
