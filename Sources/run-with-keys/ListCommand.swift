import ArgumentParser
import Vault

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show secret names, created and updated times, age in days and scopes. Never values.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws { try Self.run(global.plain, json: json) }

    /// The whole command on plain values; the fast path (ReportFastPath) calls it too.
    static func run(_ global: Globals, json: Bool) throws {
        let (doc, _) = try global.store().open(global.keyOptions())
        let now = Clock.system.now()
        let names = doc.names  // sorted once
        if json {
            // What JSONText.object would make of each entry, appended in place.
            var out = "["
            out.reserveCapacity(names.count * 220)
            func field(_ key: String, _ value: String) { out += ",\"" + key + "\":" + value }
            for (i, name) in names.enumerated() {
                let e = doc.secrets[name]!
                out += (i == 0 ? "\n" : ",\n") + "  {\"name\":" + JSONText.string(name)
                field("created", e.created.map { JSONText.string($0.description) } ?? "null")
                field("updated", e.updated.map { JSONText.string($0.description) } ?? "null")
                field("age_days", e.updated.map { String($0.days(until: now)) } ?? "null")
                field("scopes", JSONText.array(e.scopes.map(JSONText.string)))
                field("note", e.note.map(JSONText.string) ?? "null")
                field("expires", e.expires.map { JSONText.string($0.description) } ?? "null")
                out += "}"
            }
            Output.out(out + (names.isEmpty ? "]\n" : "\n]\n"))
            return
        }
        if names.isEmpty {
            Output.info("the vault is empty; add a key with `run-with-keys set NAME`")
            return
        }
        var rows = [["NAME", "CREATED", "UPDATED", "AGE", "SCOPES", "EXPIRES"]]
        for name in names {
            let e = doc.secrets[name]!
            rows.append([name, e.created.map { $0.date } ?? "-",
                         e.updated.map { $0.date } ?? "-",
                         e.updated.map { "\($0.days(until: now))d" } ?? "-",
                         e.scopes.isEmpty ? "-" : e.scopes.joined(separator: ","),
                         e.expires.map { ($0 <= now ? "EXPIRED " : "") + $0.date } ?? "-"])
        }
        Output.out(Table.render(rows))
    }
}

enum Table {
    /// Columns padded to their widest cell plus two spaces, the last column
    /// unpadded. A cell's width is its count of Characters (grapheme clusters);
    /// for ASCII without CR (names, dates, most scopes) that is its byte count,
    /// which is what is measured, and the rows are assembled as bytes.
    static func render(_ rows: [[String]]) -> String {
        func width(_ c: String) -> Int {
            var ascii = true
            for b in c.utf8 where b >= 0x80 || b == 0x0d { ascii = false; break }
            return ascii ? c.utf8.count : c.count
        }
        var widths = [Int](repeating: 0, count: rows.map(\.count).max() ?? 0)
        var cellWidths: [[Int]] = []
        cellWidths.reserveCapacity(rows.count)
        var total = 0
        for r in rows {
            let w = r.map(width)
            for (i, n) in w.enumerated() { widths[i] = max(widths[i], n) }
            cellWidths.append(w)
            total += r.reduce(0) { $0 + $1.utf8.count }
        }
        var out: [UInt8] = []
        out.reserveCapacity(total + rows.count * (widths.reduce(0, +) + 2 * widths.count + 1))
        for (r, w) in zip(rows, cellWidths) {
            for (i, c) in r.enumerated() {
                out.append(contentsOf: c.utf8)
                if i < r.count - 1 { out.append(contentsOf: repeatElement(0x20, count: widths[i] - w[i] + 2)) }
            }
            out.append(0x0a)
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// JSON text for non-secret output.
enum JSONText {
    static func string(_ s: String) -> String {
        // Nothing to escape (no control character, quote or backslash; other
        // bytes, UTF-8 included, pass through as they are): quote it as is.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5c }) { return "\"" + s + "\"" }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}
