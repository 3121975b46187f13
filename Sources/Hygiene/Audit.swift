import Vault
import Profile

/// The audit of every secret in a vault against the profiles that use them and
/// the launch log.
public struct AuditReport: Sendable {
    public struct Secret: Sendable, Equatable {
        public var name: String
        public var created: Timestamp?
        public var updated: Timestamp?
        public var ageDays: Int64?
        public var scopes: [String]
        public var profiles: [String]
        public var lastLaunch: Timestamp?
        /// "stale", "unused", "withdraw-scope", "expired".
        public var flags: [String]
    }
    public struct MissingSecret: Sendable, Equatable {
        public var profile: String
        public var secret: String
    }
    public struct BrokenProfile: Sendable, Equatable {
        public var path: String
        public var error: String
        public init(path: String, error: String) { self.path = path; self.error = error }
    }
    public var secrets: [Secret]
    public var missing: [MissingSecret]
    public var brokenProfiles: [BrokenProfile]

    public var flagged: Bool { secrets.contains { !$0.flags.isEmpty } || !missing.isEmpty || !brokenProfiles.isEmpty }
}

public enum Audit {
    public static let unusedAfterDays: Int64 = 30
    static let withdrawScopes: Set<String> = ["withdraw", "withdrawal", "withdrawals", "transfer"]

    /// `profiles` are the profiles found on the search path (the first per name);
    /// `launches` the launch log, oldest first.
    public static func run(document: VaultDocument, profiles: [Profile], broken: [AuditReport.BrokenProfile] = [],
                           launches: [LaunchRecord], now: Timestamp) -> AuditReport {
        run(listing: VaultListing(document), profiles: profiles, broken: broken, launches: launches, now: now)
    }

    /// The same audit from what `list` reads of the vault (`VaultStore.openListing`:
    /// no value decoded, no `SecretEntry` made).
    public static func run(listing: VaultListing, profiles: [Profile], broken: [AuditReport.BrokenProfile] = [],
                           launches: [LaunchRecord], now: Timestamp) -> AuditReport {
        var lastLaunch: [String: Timestamp] = [:]
        for r in launches where r.event == .start {
            for k in r.keys { lastLaunch[k] = max(lastLaunch[k] ?? r.time, r.time) }
        }
        var usedBy: [String: [String]] = [:]
        var maxAge: [String: Milliseconds] = [:]
        var missing: [AuditReport.MissingSecret] = []
        for p in profiles {
            for k in p.secretUses {   // keys and templates
                if usedBy[k.secret]?.last != p.name { usedBy[k.secret, default: []].append(p.name) }
                if let m = k.maxAge ?? p.policy.maxKeyAge { maxAge[k.secret] = min(maxAge[k.secret] ?? m, m) }
                if !listing.contains(name: k.secret) { missing.append(.init(profile: p.name, secret: k.secret)) }
            }
        }
        var secrets: [AuditReport.Secret] = []
        for i in 0..<listing.count {
            let e = listing[i], name = listing.name(i), scopes = listing.scopes(i)
            let since = e.updated ?? e.created
            var flags: [String] = []
            let limit = maxAge[name] ?? KeyPolicy.defaultMaxAge
            if let since, (now.seconds - since.seconds) * 1000 > limit.milliseconds { flags.append("stale") }
            let profilesUsing = Array(Set(usedBy[name] ?? [])).sorted()
            let last = lastLaunch[name]
            let launchedRecently = last.map { $0.days(until: now) < unusedAfterDays } ?? false
            let young = since.map { $0.days(until: now) < unusedAfterDays } ?? false
            if profilesUsing.isEmpty || (!launchedRecently && !young) { flags.append("unused") }
            if scopes.contains(where: { withdrawScopes.contains($0.lowercased()) }) { flags.append("withdraw-scope") }
            if let x = e.expires, now >= x { flags.append("expired") }
            secrets.append(.init(name: name, created: e.created, updated: e.updated, ageDays: since?.days(until: now),
                                 scopes: scopes, profiles: profilesUsing, lastLaunch: last, flags: flags))
        }
        return AuditReport(secrets: secrets, missing: missing, brokenProfiles: broken)
    }
}
