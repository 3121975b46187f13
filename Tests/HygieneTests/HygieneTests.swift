import Testing
import Glibc
import Age
import Vault
import Profile
@testable import Hygiene

func secret(_ text: String) -> SecretBytes {
    var s = SecretBytes(count: text.utf8.count)
    s.withUnsafeMutableBytes { $0.copyBytes(from: Array(text.utf8)) }
    return s
}

let day: Int64 = 86400
let t0 = Timestamp(seconds: 1_800_000_000)

func document(_ entries: [(String, Int64, [String])]) throws -> VaultDocument {
    var doc = VaultDocument()
    for (name, updatedDaysAgo, scopes) in entries {
        try doc.set(name, value: secret("v-" + name), now: Timestamp(seconds: t0.seconds - updatedDaysAgo * day), scopes: scopes)
    }
    return doc
}

func profile(_ name: String, keys: [(String, String)], toml extra: String = "") throws -> Profile {
    var text = "command = [\"/bin/true\"]\n" + extra + "\n[keys]\n"
    for (v, s) in keys { text += "\(v) = \"\(s)\"\n" }
    return try Profile.parse(toml: text, path: "/tmp/\(name).toml", name: name)
}

@Suite struct KeyPolicyTests {
    /// The boundary: exactly max_age old is fine, one second more is stale.
    @Test(arguments: [(Int64(90) * day, false), (90 * day + 1, true), (89 * day, false), (200 * day, true)])
    func defaultMaxAgeBoundary(_ age: Int64, _ stale: Bool) throws {
        var doc = VaultDocument()
        try doc.set("k", value: secret("v"), now: Timestamp(seconds: t0.seconds - age))
        let p = try profile("bot", keys: [("K", "k")])
        let findings = KeyPolicy.check(p, document: doc, now: t0)
        #expect(findings.contains { if case .stale = $0.kind { return true } else { return false } } == stale)
        #expect(!KeyPolicy.refuses(findings, profile: p))   // warn only without enforce_max_age
    }

    @Test func profileAndKeyMaxAgeAndEnforcement() throws {
        let doc = try document([("a", 10, []), ("b", 31, [])])
        let p = try profile("bot", keys: [("A", "a"), ("B", "b")], toml: "[policy]\nmax_key_age = \"30d\"\nenforce_max_age = true\n")
        let findings = KeyPolicy.check(p, document: doc, now: t0)
        #expect(findings.map(\.secret) == ["b"])
        #expect(KeyPolicy.refuses(findings, profile: p))
        #expect(findings[0].description.contains("31 days old"))
        #expect(findings[0].remedy.contains("run-with-keys rotate b"))
        // A per-key max_age beats the profile's.
        let q = try Profile.parse(toml: "command = [\"/bin/true\"]\n[policy]\nmax_key_age = \"30d\"\n[keys]\nA = { secret = \"a\", max_age = \"5d\" }\n",
                                  path: "/tmp/q.toml", name: "q")
        #expect(KeyPolicy.check(q, document: doc, now: t0).map(\.secret) == ["a"])
    }

    @Test func forbiddenScopesAlwaysRefuse() throws {
        let doc = try document([("k", 1, ["view", "Withdraw"])])
        let p = try profile("bot", keys: [("K", "k")], toml: "[policy]\nforbid_scopes = [\"withdraw\"]\n")
        let findings = KeyPolicy.check(p, document: doc, now: t0)
        #expect(findings.count == 1 && KeyPolicy.refuses(findings, profile: p))
    }
}

@Suite struct AuditTests {
    @Test func flagsStaleUnusedWithdrawAndMissing() throws {
        let doc = try document([("fresh", 1, ["view"]), ("old", 120, ["trade"]), ("orphan", 40, []), ("cash", 2, ["withdraw"])])
        // "ghost" is used twice by one profile: one missing entry, not two.
        let bot = try profile("bot", keys: [("F", "fresh"), ("O", "old"), ("C", "cash"), ("G", "ghost"), ("G2", "ghost")])
        let launches = [LaunchRecord(time: Timestamp(seconds: t0.seconds - 2 * day), event: .start, profile: "bot",
                                     keys: ["fresh", "old", "cash"], pid: 1, uid: 0)]
        let report = Audit.run(document: doc, profiles: [bot], launches: launches, now: t0)
        let flags = Dictionary(uniqueKeysWithValues: report.secrets.map { ($0.name, $0.flags) })
        #expect(flags["fresh"] == [])
        #expect(flags["old"] == ["stale"])
        #expect(flags["orphan"] == ["unused"])
        #expect(flags["cash"] == ["withdraw-scope"])
        #expect(report.missing == [.init(profile: "bot", secret: "ghost")])
        #expect(report.secrets.first { $0.name == "fresh" }?.profiles == ["bot"])
        #expect(report.secrets.first { $0.name == "fresh" }?.lastLaunch == launches[0].time)
        #expect(report.flagged)
    }

    @Test func notLaunchedFor30DaysIsUnused() throws {
        let doc = try document([("k", 60, [])])
        let bot = try profile("bot", keys: [("K", "k")])
        let old = LaunchRecord(time: Timestamp(seconds: t0.seconds - 31 * day), event: .start, profile: "bot", keys: ["k"], pid: 1, uid: 0)
        #expect(Audit.run(document: doc, profiles: [bot], launches: [old], now: t0).secrets[0].flags == ["unused"])
        let recent = LaunchRecord(time: Timestamp(seconds: t0.seconds - 29 * day), event: .start, profile: "bot", keys: ["k"], pid: 1, uid: 0)
        #expect(Audit.run(document: doc, profiles: [bot], launches: [recent], now: t0).flagged == false)
    }
}

@Suite struct LaunchLogTests {
    @Test func appendReadRotate() throws {
        var template = Array("/tmp/rwk-log-XXXXXX".utf8CString)
        let dir = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!)
        defer { _ = system("rm -rf '\(dir)'") }
        let log = LaunchLog(path: dir + "/launches.log", maxBytes: 600, keep: 2)
        for i in 0..<20 {
            try log.append(LaunchRecord(time: Timestamp(seconds: t0.seconds + Int64(i)), event: .exit, profile: "bot",
                                        keys: ["a/b"], pid: Int32(i), uid: 0, status: "exit 0", exitCode: 0, restarts: i))
        }
        let records = log.read()
        #expect(!records.isEmpty && records.count < 20)          // old lines rotated away
        #expect(records.last?.pid == 19 && records.last?.keys == ["a/b"])
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.time < $1.time })
        var st = stat()
        #expect(stat(dir + "/launches.log", &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(access(dir + "/launches.log.3", F_OK) != 0)
    }
}

/// Templates count as uses of their secrets: for the key policy and `audit`.
@Suite struct TemplateUseTests {
    @Test func templateSecretsAreUses() throws {
        var p = try profile("tp", keys: [("A", "a")])
        p.templates = [TemplateSpec(variable: "CONFIG", source: "/x/c.json.tmpl", format: .json,
                                    parts: [.text("{"), .secret("b", line: 1), .secret("a", line: 2)])]
        #expect(p.secretNames == ["a", "b"])
        let doc = try document([("a", 1, []), ("b", 400, ["withdraw"])])
        let findings = KeyPolicy.check(p, document: doc, now: t0)
        #expect(findings.contains { $0.secret == "b" && $0.variable == "CONFIG" })
        let report = Audit.run(document: doc, profiles: [p], launches: [], now: t0)
        #expect(report.secrets.first { $0.name == "b" }?.profiles == ["tp"])
        #expect(report.secrets.first { $0.name == "a" }?.profiles == ["tp"])
    }
}
