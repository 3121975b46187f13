/// Checks run on profile text before TOMLKit parses it, for input that its
/// parser, toml++ 3.4, aborts on (a failed `assert`; with `NDEBUG`, undefined
/// behaviour) instead of reporting an error. They were found by fuzz/ (the `profile`
/// target) and by an attacker reading toml++'s asserts; toml++ fixed the second upstream
/// after 3.4 (tomlplusplus pull request 301), and TOMLKit 0.6.0 still bundles 3.4.
///
/// What is refused is invalid TOML 1.0 anyway, so no valid profile is turned away.
enum TOMLPrecheck {
    /// - Throws: `ProfileError` (`.syntax`, with the line) for a raw control
    ///   character other than tab, LF and CR LF (TOML 1.0 allows no other, in
    ///   strings or comments alike), or a table header whose name does not start
    ///   with a bare-key character or a quote (`[=`, `[[[`, `[` at the end of a line),
    ///   or a `}` where an array's next value would be (`x = [}`), or a date-like value
    ///   followed by a space and one digit (`x = 2024-01-01 1`).
    static func check(_ toml: String, path: String) throws(ProfileError) {
        let b = Array(toml.utf8)
        func fail(_ what: String, at i: Int, hint: String) -> ProfileError {
            let line = 1 + b[..<i].reduce(0) { $0 + ($1 == 0x0a ? 1 : 0) }
            let lineStart = b[..<i].lastIndex(of: 0x0a).map { $0 + 1 } ?? 0
            let column = 1 + b[lineStart..<i].reduce(0) { $0 + ($1 & 0xC0 != 0x80 ? 1 : 0) }
            return ProfileError(kind: .syntax, message: "\(path): invalid TOML: \(what) (line \(line), column \(column))",
                                hint: hint, line: line)
        }
        for (i, c) in b.enumerated() where c < 0x20 || c == 0x7f {
            if c == 0x09 || c == 0x0a || (c == 0x0d && i + 1 < b.count && b[i + 1] == 0x0a) { continue }
            let digits = String(c, radix: 16, uppercase: true)
            let code = String(repeating: "0", count: 4 - digits.count) + digits
            throw fail("control character U+\(code)", at: i,
                       hint: "TOML allows only tab, newline and CR LF as they are; in a string, write \\u\(code)")
        }
        try checkTableHeaders(b, fail: fail)
    }

    /// Scans for table headers (a `[` first on a line, outside any value and
    /// string) and checks the character their name starts with; checks that no
    /// `}` closes an array.
    static func checkTableHeaders(_ b: [UInt8], fail: (String, Int, String) -> ProfileError) throws(ProfileError) {
        func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0d }
        func isKeyStart(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7a) || c == 0x5f || c == 0x2d
                || c == 0x22 || c == 0x27 || c == 0x5d
        }
        var i = b.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0   // toml++ skips a byte-order mark
        var open: [UInt8] = []   // the [ and { of values not yet closed
        var lineStart = true     // nothing but blanks yet on this line
        while i < b.count {
            let c = b[i]
            if c == 0x0a { lineStart = true; i += 1; continue }
            if isBlank(c) { i += 1; continue }
            defer { lineStart = false }
            switch c {
            case 0x23: // a comment, to the end of the line
                while i < b.count && b[i] != 0x0a { i += 1 }
            case 0x22, 0x27: // a string: basic ones have escapes; """ and ''' span lines
                let multi = i + 2 < b.count && b[i + 1] == c && b[i + 2] == c
                i += multi ? 3 : 1
                while i < b.count {
                    if c == 0x22 && b[i] == 0x5c { i += 2; continue }
                    if !multi && b[i] == 0x0a { break }
                    if let end = afterClose(b, i, quote: c, multi: multi) { i = end; break }
                    i += 1
                }
            case 0x5b where open.isEmpty && lineStart: // a table header
                var j = i + 1
                while j < b.count && isBlank(b[j]) { j += 1 }
                if j < b.count && b[j] == 0x5b { j += 1; while j < b.count && isBlank(b[j]) { j += 1 } }
                guard j < b.count, isKeyStart(b[j]) else {
                    throw fail("expected a table name after \"[\"", j, "a table header is [name] or [[name]]")
                }
                i = j
            case 0x3d: // a value follows
                try checkDateThenDigit(b, valueAt: i + 1, fail: fail); i += 1
            case 0x5b, 0x7b: open.append(c); i += 1
            case 0x7d where open.last == 0x5b:
                throw fail("\"}\" inside an array", i, "an array is [value, …], an inline table {key = value, …}")
            case 0x5d, 0x7d: _ = open.popLast(); i += 1
            default:
                // An array's value: the first byte after `[`, `,` or blanks (not in a key of an inline table).
                // (A byte of a Unicode space before it too: where that is not one, the text is invalid anyway.)
                if open.last == 0x5b, i > 0, b[i - 1] == 0x5b || b[i - 1] == 0x2c || isBlank(b[i - 1]) || b[i - 1] == 0x0a || b[i - 1] >= 0x80 {
                    try checkDateThenDigit(b, valueAt: i, fail: fail)
                }
                i += 1
            }
        }
    }

    /// When `b[i]` closes a string opened with `quote` (`"` or `'`; `multi`: three of them),
    /// the index just past its closing delimiter, else nil. A multi-line string may end
    /// with one or two more quotes just inside its closing three (`"""a""""` is `a"`),
    /// taken as toml++ takes them (TOML 1.0, "String"). NulEscape scans strings with it too.
    static func afterClose(_ b: [UInt8], _ i: Int, quote: UInt8, multi: Bool) -> Int? {
        guard b[i] == quote else { return nil }
        guard multi else { return i + 1 }
        guard i + 2 < b.count, b[i + 1] == quote, b[i + 2] == quote else { return nil }
        var j = i + 3
        while j < b.count && j < i + 5 && b[j] == quote { j += 1 }
        return j
    }

    /// toml++ reads a value that starts like a date (ten characters, not counting `_`,
    /// with `-` 5th and 8th) and is followed by a space as a date-time with a space for
    /// the `T`, and asserts in two ways: when one digit and then the end of the value
    /// follow the space (parse_value: `!is_value_terminator(*cp)`), and when the value
    /// holds `_` and runs past its reader's 127-character history (step_back). A value
    /// followed by a space and one digit is never valid TOML, nor is a date with `_`, so
    /// nothing valid is refused. Characters are counted as toml++ counts them: Unicode
    /// scalars, with its Unicode spaces ending a value.
    static func checkDateThenDigit(_ b: [UInt8], valueAt start: Int, fail: (String, Int, String) -> ProfileError) throws(ProfileError) {
        var i = start
        while i < b.count, case let (c, n) = scalar(b, i), c == 0x20 || c == 0x09 || isUnicodeSpace(c) { i += n }
        guard i < b.count, (b[i] >= 0x30 && b[i] <= 0x39) || b[i] == 0x2b || b[i] == 0x2d else { return }
        var count = 0, dashes = 0, underscore = false   // characters but `_`; whether the 5th and the 8th are `-`
        while i < b.count {
            let (c, n) = scalar(b, i)
            if endsValue(c) { break }
            if c == 0x5f { underscore = true } else {
                if (count == 4 || count == 7) && c == 0x2d { dashes += 1 }
                count += 1
            }
            i += n
        }
        guard count == 10, dashes == 2, i + 1 < b.count, b[i] == 0x20, b[i + 1] >= 0x30 && b[i + 1] <= 0x39 else { return }
        let oneDigit = i + 2 < b.count && endsValue(scalar(b, i + 2).value)
        guard oneDigit || underscore else { return }
        throw fail(oneDigit ? "a date and a time need a \"T\" or a space and a full time (hh:mm:ss)" : "a date can't hold \"_\"", i + 1,
                   "write a date-time as 1979-05-27T07:32:00Z or 1979-05-27 07:32:00")
    }

    /// toml++'s is_value_terminator: whitespace (its Unicode spaces too), `]`, `}`, `,`, `#`.
    static func endsValue(_ c: UInt32) -> Bool {
        c == 0x20 || c == 0x09 || (c >= 0x0a && c <= 0x0d) || c == 0x5d || c == 0x7d || c == 0x2c || c == 0x23 || isUnicodeSpace(c)
    }

    /// toml++'s non-ASCII horizontal and vertical whitespace.
    static func isUnicodeSpace(_ c: UInt32) -> Bool {
        c == 0xA0 || c == 0x85 || c == 0x1680 || c == 0x180E || (c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029
            || c == 0x202F || c == 0x205F || c == 0x2060 || c == 0x3000 || c == 0xFEFF
    }

    /// The Unicode scalar whose UTF-8 encoding starts at `b[i]` (the text is valid UTF-8), and its length.
    static func scalar(_ b: [UInt8], _ i: Int) -> (value: UInt32, length: Int) {
        let c = b[i]
        if c < 0x80 { return (UInt32(c), 1) }
        let n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2
        var v = UInt32(c) & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07)
        for k in 1..<n where i + k < b.count { v = v << 6 | UInt32(b[i + k] & 0x3F) }
        return (v, n)
    }
}
