import ArgumentParser
import Vault

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show secret names, created and updated times, age in days and scopes. Never values.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        let (doc, _) = try global.store().open(global.keyOptions())
        let now = Clock.system.now()
        if json {
            var out = "["
            for (i, name) in doc.names.enumerated() {
                let e = doc.secrets[name]!
                out += (i == 0 ? "\n" : ",\n") + "  " + JSONText.object([
                    ("name", JSONText.string(name)),
                    ("created", e.created.map { JSONText.string($0.description) } ?? "null"),
                    ("updated", e.updated.map { JSONText.string($0.description) } ?? "null"),
                    ("age_days", e.updated.map { String($0.days(until: now)) } ?? "null"),
                    ("scopes", JSONText.array(e.scopes.map(JSONText.string))),
                    ("note", e.note.map(JSONText.string) ?? "null"),
                    ("expires", e.expires.map { JSONText.string($0.description) } ?? "null"),
                ])
            }
            Output.out(out + (doc.names.isEmpty ? "]\n" : "\n]\n"))
            return
        }
        if doc.names.isEmpty {
            Output.info("the vault is empty; add a key with `run-with-keys set NAME`")
            return
        }
        var rows = [["NAME", "CREATED", "UPDATED", "AGE", "SCOPES", "EXPIRES"]]
        for name in doc.names {
            let e = doc.secrets[name]!
            rows.append([name, e.created.map { String($0.description.prefix(10)) } ?? "-",
                         e.updated.map { String($0.description.prefix(10)) } ?? "-",
                         e.updated.map { "\($0.days(until: now))d" } ?? "-",
                         e.scopes.isEmpty ? "-" : e.scopes.joined(separator: ","),
                         e.expires.map { ($0 <= now ? "EXPIRED " : "") + String($0.description.prefix(10)) } ?? "-"])
        }
        Output.out(Table.render(rows))
    }
}
