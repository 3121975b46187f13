import ArgumentParser
import Common
import Vault

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show secret names, created and updated times, age in days and scopes. Never values.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws { try Self.run(global.plain, json: json) }

    /// The whole command on plain values; the fast path (ReportFastPath) calls it too.
    /// Reads only what it shows (`VaultListing`: no value is decoded) and writes the
    /// output with one write.
    static func run(_ global: Globals, json: Bool) throws {
        let listing = try global.store().openListing(global.keyOptions())
        let now = Clock.system.now()
        if json {
            Output.out(bytes: Self.json(listing, now: now))
            return
        }
        if listing.count == 0 {
            Output.info("the vault is empty; add a key with `run-with-keys set NAME`")
            return
        }
        Output.out(bytes: table(listing, now: now))
    }

    /// NAME, CREATED, UPDATED, AGE, SCOPES, EXPIRES: dates, age in days, scopes
    /// joined by commas; "-" for what is missing. The table lives inside the closure
    /// that reads the listing's bytes (a variable captured from outside would cost an
    /// exclusivity check per access).
    static func table(_ listing: VaultListing, now: Timestamp) -> [UInt8] {
        listing.text.withUnsafeBytes { text in
            var t = Table(capacity: listing.count * 64, cells: (listing.count + 1) * 6)
            for h in ["NAME", "CREATED", "UPDATED", "AGE", "SCOPES", "EXPIRES"] { t.append(h); t.endCell() }
            t.endRow()
            for i in 0..<listing.count {
                let e = listing[i]
                t.append(UnsafeRawBufferPointer(rebasing: text[e.name])); t.endCell()
                date(&t, e.created, expired: false); t.endCell()
                date(&t, e.updated, expired: false); t.endCell()
                if let u = e.updated { t.append(u.days(until: now)); t.append("d") } else { t.append("-") }
                t.endCell()
                if e.scopes.isEmpty { t.append("-") }
                for k in e.scopes {
                    if k > e.scopes.lowerBound { t.append(",") }
                    t.append(UnsafeRawBufferPointer(rebasing: text[listing.scope(k)]))
                }
                t.endCell()
                date(&t, e.expires, expired: e.expires.map { $0 <= now } ?? false); t.endCell()
                t.endRow()
            }
            return t.render()
        }
    }

    private static func date(_ t: inout Table, _ time: Timestamp?, expired: Bool) {
        guard let time else { t.append("-"); return }
        if expired { t.append("EXPIRED ") }
        t.withBytes { time.append(to: &$0, dateOnly: true) }
    }

    /// What `JSONText.object` would make of each entry, one per line, appended in place.
    static func json(_ listing: VaultListing, now: Timestamp) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(listing.count * 220 + 4)
        out.append(0x5b)   // [
        let text = listing.text
        for i in 0..<listing.count {
            let e = listing[i]
            put(&out, i == 0 ? "\n  {\"name\":" : ",\n  {\"name\":")
            string(&out, text[e.name])
            put(&out, ",\"created\":"); time(&out, e.created)
            put(&out, ",\"updated\":"); time(&out, e.updated)
            put(&out, ",\"age_days\":")
            if let u = e.updated { out.append(contentsOf: String(u.days(until: now)).utf8) } else { put(&out, "null") }
            put(&out, ",\"scopes\":[")
            for k in e.scopes {
                if k > e.scopes.lowerBound { out.append(0x2c) }
                string(&out, text[listing.scope(k)])
            }
            put(&out, "],\"note\":")
            if let n = e.note { string(&out, text[n]) } else { put(&out, "null") }
            put(&out, ",\"expires\":"); time(&out, e.expires)
            out.append(0x7d)   // }
        }
        put(&out, listing.count == 0 ? "]\n" : "\n]\n")
        return out
    }

    private static func put(_ out: inout [UInt8], _ s: StaticString) {
        out.append(contentsOf: UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// `JSONText.string` of the UTF-8 bytes `b`.
    private static func string(_ out: inout [UInt8], _ b: ArraySlice<UInt8>) {
        out.append(0x22)
        b.withUnsafeBytes { raw in
            var ascii = true
            for c in raw where c < 0x20 || c == 0x22 || c == 0x5c { ascii = false; break }
            if ascii { out.append(contentsOf: raw) } else { StringEscape.escape(raw, .json) { out.append(contentsOf: $0) } }
        }
        out.append(0x22)
    }

    private static func time(_ out: inout [UInt8], _ t: Timestamp?) {
        guard let t else { put(&out, "null"); return }
        out.append(0x22); t.append(to: &out, dateOnly: false); out.append(0x22)
    }
}
