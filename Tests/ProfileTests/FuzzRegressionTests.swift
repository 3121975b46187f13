import Testing
@testable import Profile

/// Inputs the fuzz targets (fuzz/) found; each file is also in fuzz/corpus/profile.
@Suite struct FuzzRegressionTests {
    /// fuzz/corpus/profile/crash-control-in-table-header: U+001C in a table header made
    /// toml++ abort the process on a failed assertion (exit 134) instead of reporting an error.
    @Test func controlCharacterInTableHeaderIsASyntaxError() throws {
        let e = try #require(parseError("command = [\"bot\"]\n[\u{1c}keys]\nA = \"a\"\n"))
        #expect(e.kind == .syntax)
        #expect(e.line == 2)
        #expect(e.message == "profiles/bot.toml: invalid TOML: control character U+001C (line 2, column 2)")
        #expect(e.hints.first == "TOML allows only tab, newline and CR LF as they are; in a string, write \\u001C")
    }

    /// Every raw control character TOML forbids is refused before toml++ sees it; tab, LF and CR LF are not.
    @Test func everyForbiddenControlCharacterIsRefused() throws {
        for c in Array(0x01...0x1f) + [0x7f] where c != 0x09 && c != 0x0a {
            let scalar = Unicode.Scalar(UInt8(c))
            for text in ["command = [\"bot\"]\n[k\(scalar)eys]\n", "command = [\"b\(scalar)ot\"]\n", "# c\(scalar)x\ncommand = [\"bot\"]\n"] {
                let e = try #require(parseError(text), "U+\(c) accepted in \(text.debugDescription)")
                #expect(e.kind == .syntax && e.message.contains("control character"), "\(text.debugDescription): \(e.message)")
            }
        }
        #expect(parseError("command = [\"b\tot\"]\r\n# a comment\twith a tab\r\n") == nil)
    }

    /// fuzz/corpus/profile/crash-table-header-equals: a table header whose name starts with
    /// neither a bare-key character nor a quote made toml++ abort the process the same way.
    @Test func tableHeaderWithoutANameIsASyntaxError() throws {
        for (text, line, column) in [("command = \"bot --x\"\n[= \"'\", as = \"fd\" }\n", 2, 2), ("[[[1]]]\n", 1, 3),
                                     // fuzz/corpus/profile/crash-bom-table-header: after a byte-order mark
                                     ("\u{FEFF}[[[A = 1\n", 1, 4),
                                     ("command = [\"bot\"]\n  [ \n", 2, 5), ("command = [\"bot\"]\n[[ {a = 1}]]", 2, 4)] {
            let e = try #require(parseError(text), "accepted \(text.debugDescription)")
            #expect(e.kind == .syntax)
            #expect(e.message == "profiles/bot.toml: invalid TOML: expected a table name after \"[\" (line \(line), column \(column))")
            #expect(e.line == line)
        }
    }

    /// A "[" first on a line inside a value, a string or a comment is not a table header.
    @Test func bracketsInsideValuesAndStringsAreNotHeaders() throws {
        let valid = #"""
            description = """
            [= not a header
            ["""
            command = ["bot", 'it', "a\"[="]
            [env.set]
            A = '''
            [[['''
            [restart]
            success_exit_codes = [
            0, 1, # [= a comment
            ]
            [ "sandbox" ]
            deny = [
            ]
            """#
        #expect(parseError(valid) == nil)
        // An array of arrays: TOMLKit reads it, and the profile check refuses its type.
        #expect(parseError("command = [\n[ \"bot\" ],\n]\n")?.kind == .wrongType)
    }

    /// fuzz/corpus/profile/crash-date-space-digit: a value like a date, then a space and one
    /// digit, made toml++ abort the process (parse_value's scan: `!is_value_terminator(*cp)`).
    @Test func dateThenASpaceAndOneDigitIsASyntaxError() throws {
        for (text, line) in [("ss = 3286-86-%= 3 3_O_____2w", 1), ("command = [\"bot\"]\nx = 2024-01-01 1\n", 2),
                             ("command = [\"bot\"]\nx=2_024-01-01 1 # c\n", 2), ("command = [\"bot\", 2024-01-01 1]\n", 1),
                             ("command = [\n2024-01-01 1,\n]\n", 2), ("x = { a = +024-01-01 1}\n", 1)] {
            let e = try #require(parseError(text), "accepted \(text.debugDescription)")
            #expect(e.kind == .syntax && e.message.contains("a date and a time need"), "\(text.debugDescription): \(e.message)")
            #expect(e.line == line)
        }
        // An attacker's variants: `_` padding past toml++'s 127-character history (step_back's
        // assertion), a non-ASCII character inside the date, a Unicode space before the value.
        let padded = "1234-56-78" + String(repeating: "_", count: 115)
        for (text, line) in [("command = [\"bot\"]\nx = \(padded) 12\n", 2), ("x = 2024-0é-01 1,\n", 1), ("x = [2024-0é-01 1]\n", 1),
                             ("x =\u{3000}2024-01-01 1\n", 1), ("x = [1,\u{3000}2024-01-01 1]\n", 1), ("x = 2024-01-01 1\u{3000}\n", 1)] {
            let e = try #require(parseError(text), "accepted \(text.debugDescription)")
            #expect(e.kind == .syntax && e.message.contains("a date"), "\(text.debugDescription): \(e.message)")
            #expect(e.line == line)
        }
        // Real date-times, and a date at the end of the text, are left to TOMLKit.
        for text in ["x = 1979-05-27 07:32:00\n", "x = 1979-05-27T07:32:00Z\n", "x = [1979-05-27, 1979-05-28 07:32:00]\n",
                     "x = 1979-05-27 1", "x = 1979-05-27 12\n", "x = \"2024-01-01 1 \"\n", "x = 1 # 2024-01-01 1 \n"] {
            #expect(throws: Never.self, "\(text.debugDescription)") { try TOMLPrecheck.check(text, path: "p") }
        }
    }

    /// A multi-line string may end with one or two quotes inside its closing three: the scan
    /// must not take the extra quote for a new string, which hid the rest of the line (an
    /// attacker's `x = ["""a"""", 2024-01-01 1]` reached toml++'s abort) and made valid TOML
    /// look invalid.
    @Test func extraQuotesBeforeAClosingTripleEndTheString() throws {
        let q = "\"\"\"", a = "'''"
        for text in ["x = [\(q)a\(q)\", 2024-01-01 1]\n", "x = [\(a)a\(a)', 2024-01-01 1]\n", "x = [\(q)a\(q)\", }]\n"] {
            let e = try #require(parseError(text), "accepted \(text.debugDescription)")
            #expect(e.kind == .syntax, "\(text.debugDescription): \(e.message)")
        }
        for text in ["x = [\(q)a\(q)\", \"}\"]\n", "x = [\(q)a\(q)\"\", \"= 2024-01-01 1 \"]\n", "x = [\(a)a\(a)'', '}']\n"] {
            #expect(throws: Never.self, "\(text.debugDescription)") { try TOMLPrecheck.check(text, path: "p") }
        }
        #expect(NulEscape.line(in: "x = [\(q)a\(q)\", \"\\u0000\"]") == 1)
    }

    /// fuzz/corpus/profile/crash-brace-in-array: a "}" where an array's next value would be
    /// made toml++ abort the process the same way (parse_value's precondition).
    @Test func braceInsideAnArrayIsASyntaxError() throws {
        for text in ["command = [}\n", "command = [\"bot\", }]\n", "command = [\"bot\"]\n[env]\ninherit = [\n  # c\n}\n"] {
            let e = try #require(parseError(text), "accepted \(text.debugDescription)")
            #expect(e.kind == .syntax && e.message.contains("\"}\" inside an array"), "\(e.message)")
        }
        #expect(parseError("command = [\"bot\"]\n[sandbox]\nread = [ { a = 1 } ]\n")?.message.contains("inside an array") != true)
    }

    /// fuzz/corpus/template/crash-combining-mark-after-brace: "{{" followed by a combining
    /// mark was one "{" and one "{\u{64D}" as Characters, so the parser's String search
    /// missed it and the renderer left "{{" in the output. Braces are found as bytes now.
    @Test func bracesBeforeACombiningMarkAreStillAReference() throws {
        #expect(throws: ProfileError.self) { try TemplateSpec.parse("[x{{\u{64D}wk://a }}\"J", file: "t") }
        let parts = try TemplateSpec.parse("a{{ rwk://k }}\u{64D}b", file: "t")
        #expect(parts == [.text("a"), .secret("k", line: 1), .text("\u{64D}b")])
    }
}
