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
