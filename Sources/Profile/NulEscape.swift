/// TOML can spell a NUL byte inside a basic string (`"\u0000"`, `"\U00000000"`),
/// but a NUL can't be passed on: argv and environment strings end at it
/// (execve(2)), and the TOML library hands strings over as C strings, cut at it.
/// So `--dry-run\u0000 --live` would run as `--dry-run`. A profile with such an
/// escape is refused before it is parsed.
enum NulEscape {
    /// The 1-based line of the first NUL escape inside a basic string (`"…"` or
    /// `"""…"""`) of `toml`, else nil. Literal strings (`'…'`) and comments have no escapes.
    static func line(in toml: String) -> Int? {
        let b = Array(toml.utf8)
        var i = 0, line = 1
        func at(_ k: Int) -> UInt8 { k < b.count ? b[k] : 0 }
        func isZeros(_ from: Int, _ n: Int) -> Bool { from + n <= b.count && b[from..<(from + n)].allSatisfy { $0 == 0x30 } }
        let quote: UInt8 = 0x22, apostrophe: UInt8 = 0x27, backslash: UInt8 = 0x5c, newline: UInt8 = 0x0a, hash: UInt8 = 0x23
        while i < b.count {
            let c = b[i]
            if c == newline { line += 1; i += 1; continue }
            if c == hash {   // a comment, to the end of the line
                while i < b.count && b[i] != newline { i += 1 }
                continue
            }
            if c == apostrophe {   // a literal string: no escapes
                let multi = at(i + 1) == apostrophe && at(i + 2) == apostrophe
                i += multi ? 3 : 1
                while i < b.count {
                    if b[i] == newline { if !multi { break }; line += 1 }   // an unclosed string ends here; the outer loop counts its newline
                    if let end = TOMLPrecheck.afterClose(b, i, quote: apostrophe, multi: multi) { i = end; break }
                    i += 1
                }
                continue
            }
            if c == quote {
                let multi = at(i + 1) == quote && at(i + 2) == quote
                i += multi ? 3 : 1
                while i < b.count {
                    let d = b[i]
                    if d == newline { if !multi { break }; line += 1 }
                    if d == backslash {
                        if at(i + 1) == 0x75 && isZeros(i + 2, 4) { return line }        // \u0000
                        if at(i + 1) == 0x55 && isZeros(i + 2, 8) { return line }        // \U00000000
                        if at(i + 1) == newline { line += 1 }
                        i += 2
                        continue
                    }
                    if let end = TOMLPrecheck.afterClose(b, i, quote: quote, multi: multi) { i = end; break }
                    i += 1
                }
                continue
            }
            i += 1
        }
        return nil
    }
}
