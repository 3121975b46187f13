// The `exec --env-file` parser (`EnvFile`, over `Dotenv.parseLines`):
// - every entry's line is where its key is written (1-based, increasing; after
//   blanks, a BOM or `export`), and
//   the line an error names holds the quote it complains about;
// - every value reaches the child intact: its String's UTF-8 is exactly the
//   bytes `Dotenv` read, with no NUL; a value is a reference iff it starts with rwk://;
// - an error or warning names a line and a fixed text, never the value.
import Age
import Vault

func fuzzTarget(_ bytes: [UInt8]) {
    let raw = parseDotenv(bytes)
    var input = SecretBytes(count: bytes.count)
    input.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
    var warnings: [String] = []
    let lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false)

    let entries: [EnvFile.Entry]
    do {
        entries = try EnvFile.parse(input, warn: { warnings.append($0) })
    } catch {
        if error.message.hasPrefix("dotenv line ") {
            check(warnings == raw.warnings && error.message == raw.error?.message, "error differs from Dotenv's")
            let n = Int(error.message.dropFirst("dotenv line ".count).prefix { $0.isNumber })!
            check(n >= 1 && n <= lines.count, "error line \(n) out of range")
            check(lines[n - 1].contains(0x22) || lines[n - 1].contains(0x27), "error line \(n) has no quote: \(error.message)")
        } else {
            // Refused a value: the first entry Dotenv read with a NUL or non-UTF-8 bytes.
            guard let bad = raw.entries.first(where: { $0.value.contains(0) || String(validating: $0.value, as: UTF8.self) == nil }) else {
                fatalError("fuzz property failed: refused a file whose values are all deliverable: \(error.message)")
            }
            let what = bad.value.contains(0) ? "contains a NUL byte" : "is not UTF-8 text"
            check(error.message == "line \(bad.line): the value of \(bad.key) \(what)", "refusal: \(error.message)")
        }
        return
    }
    check(raw.error == nil && warnings == raw.warnings && entries.count == raw.entries.count, "EnvFile and Dotenv disagree")
    var previous = 0
    for (entry, r) in zip(entries, raw.entries) {
        check(entry.variable == r.key && entry.line == r.line, "entry differs from Dotenv's")
        check(Array(entry.value.utf8) == r.value && !r.value.contains(0), "value not delivered intact")
        check((entry.secret != nil) == entry.value.hasPrefix("rwk://")
              && entry.secret.map { "rwk://" + $0 == entry.value } ?? true, "reference split")
        check(entry.line > previous && entry.line <= lines.count, "line \(entry.line) out of order or range")
        previous = entry.line
        // The key is written at the start of its line (after a BOM, blanks and `export `).
        var l = lines[entry.line - 1][...]
        if entry.line == 1, l.starts(with: [0xEF, 0xBB, 0xBF]) { l = l.dropFirst(3) }
        // Blanks: spaces, tabs and a CR that does not end the line.
        func dropBlanks() { while let c = l.first, c == 0x20 || c == 0x09 || (c == 0x0d && l.count > 1) { l = l.dropFirst() } }
        dropBlanks()
        func keyHere() -> Bool {
            guard l.starts(with: Array(entry.variable.utf8)) else { return false }
            var rest = l.dropFirst(entry.variable.utf8.count)
            while let c = rest.first, c == 0x20 || c == 0x09 { rest = rest.dropFirst() }
            return rest.first == 0x3d
        }
        var found = keyHere()
        if !found, l.starts(with: Array("export".utf8)), l.count > 6, l[l.startIndex + 6] == 0x20 || l[l.startIndex + 6] == 0x09 {
            l = l.dropFirst(6); dropBlanks(); found = keyHere()
        }
        check(found, "key \(entry.variable) is not at the start of line \(entry.line)")
    }
    for w in warnings { check(isLineMessage(w, prefix: "dotenv line ", texts: dotenvMessages), "warning shape: \(w)") }
}
