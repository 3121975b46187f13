import ArgumentParser
import Glibc
import Vault
import Profile
import Hygiene

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit every key: age, scopes, which profiles use it, last launch. Exit 1 if anything is flagged.",
        discussion: """
            Flags stale keys (older than their max_age, 90 days by default), unused keys (no profile uses \
            them, or not launched for 30 days), keys with a withdraw scope, expired keys, profiles that \
            name missing secrets, and profiles that don't parse. Profiles are read from each --profiles DIR, \
            then <home>/profiles, then /etc/run-with-keys/profiles (never the current directory; the first \
            NAME.toml wins). Exit 0 when clean, 1 when anything is \
            flagged, 125 on error, so it can run from cron or CI.
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Option(name: .customLong("launch-log"), help: ArgumentHelp("Launch log to read (default: <home>/launches.log).", valueName: "path"))
    var launchLog: String?
    @Option(name: .customLong("profiles"),
            help: ArgumentHelp("Also read the profiles in this directory, before <home>/profiles and /etc/run-with-keys/profiles (repeatable).",
                               valueName: "dir"),
            completion: .directory)
    var profileDirectories: [String] = []

    func run() throws { try Self.run(global.plain, json: json, launchLog: launchLog, profileDirectories: profileDirectories) }

    /// The whole command on plain values; the fast path (ReportFastPath) calls it too.
    /// - Throws: `ExitCode(1)` when anything is flagged, and the vault's errors.
    static func run(_ global: Globals, json: Bool, launchLog: String?, profileDirectories: [String] = []) throws {
        let listing = try global.store().openListing(global.keyOptions())
        var profiles: [Profile] = [], broken: [AuditReport.BrokenProfile] = []
        // The first on the search path wins, as for `run`; never the current directory.
        let directories = ProfileLocator.searchDirectories(home: global.homeDirectory, extra: profileDirectories)
        for (_, path) in ProfileLocator.profiles(in: directories) {
            do { profiles.append(try Profile.load(path: path, home: global.homeDirectory)) } catch {
                broken.append(.init(path: path, error: error.description))
            }
        }
        let log = LaunchLog(path: launchLog ?? global.homeDirectory + "/launches.log")
        let report = Audit.run(listing: listing, profiles: profiles, broken: broken, launches: log.read(), now: Clock.system.now())
        Output.out(json ? Self.json(report) : Self.table(report))
        if report.flagged { throw ExitCode(1) }
    }

    static func table(_ r: AuditReport) -> String {
        var rows = [["NAME", "AGE", "SCOPES", "PROFILES", "LAST LAUNCH", "FLAGS"]]
        for s in r.secrets {
            rows.append([s.name, s.ageDays.map { "\($0)d" } ?? "-", s.scopes.isEmpty ? "-" : s.scopes.joined(separator: ","),
                         s.profiles.isEmpty ? "-" : s.profiles.joined(separator: ","),
                         s.lastLaunch.map { $0.date } ?? "never",
                         s.flags.isEmpty ? "ok" : s.flags.joined(separator: ",")])
        }
        var out = Table.render(rows)
        for m in r.missing { out += "missing: profile \(m.profile) names \"\(m.secret)\", which is not in the vault\n" }
        for b in r.brokenProfiles { out += "broken profile: \(b.error)\n" }
        out += r.flagged ? "audit: flagged, see above\n" : "audit: clean\n"
        return out
    }

    static func json(_ r: AuditReport) -> String {
        func time(_ t: Timestamp?) -> String { t.map { JSONText.string($0.description) } ?? "null" }
        let secrets = r.secrets.map { s in
            JSONText.object([
                ("name", JSONText.string(s.name)), ("created", time(s.created)), ("updated", time(s.updated)),
                ("age_days", s.ageDays.map { String($0) } ?? "null"),
                ("scopes", JSONText.array(s.scopes.map(JSONText.string))),
                ("profiles", JSONText.array(s.profiles.map(JSONText.string))),
                ("last_launch", time(s.lastLaunch)),
                ("flags", JSONText.array(s.flags.map(JSONText.string))),
            ])
        }
        let missing = r.missing.map { JSONText.object([("profile", JSONText.string($0.profile)), ("secret", JSONText.string($0.secret))]) }
        let broken = r.brokenProfiles.map { JSONText.object([("path", JSONText.string($0.path)), ("error", JSONText.string($0.error))]) }
        return JSONText.object([
            ("flagged", r.flagged ? "true" : "false"),
            ("secrets", "[" + secrets.joined(separator: ",\n  ") + "]"),
            ("missing_secrets", JSONText.array(missing)),
            ("broken_profiles", JSONText.array(broken)),
        ]) + "\n"
    }
}
