import Vault
import Profile

/// The audit of every secret in a vault against the profiles that use them and
/// the launch log.
public struct AuditReport: Sendable {
    /// One vault secret's audit line; never its value.
    public struct Secret: Sendable, Equatable {
        /// The secret's name in the vault.
        public var name: String
        /// When the name was first set; nil when the vault does not say.
        public var created: Timestamp?
        /// When the value last changed (the last rotation); nil when the vault does not say.
        public var updated: Timestamp?
        /// Whole days since `updated` (else `created`); nil when neither is known.
        public var ageDays: Int64?
        /// The secret's scopes, as stored.
        public var scopes: [String]
        /// The names of the profiles that use it (keys or templates), sorted.
        public var profiles: [String]
        /// The time of the latest launch-log `start` record that names it; nil when none does.
        public var lastLaunch: Timestamp?
        /// "stale", "unused", "withdraw-scope", "expired".
        public var flags: [String]
    }
    /// A profile's use of a secret the vault does not hold.
    public struct MissingSecret: Sendable, Equatable {
        /// The profile's name.
        public var profile: String
        /// The secret name it refers to.
        public var secret: String
    }
    /// A profile file that could not be loaded.
    public struct BrokenProfile: Sendable, Equatable {
        /// The profile file's path.
        public var path: String
        /// Why it could not be loaded (the error's text).
        public var error: String
        /// A broken profile at `path`, with its error text.
        public init(path: String, error: String) { self.path = path; self.error = error }
    }
    /// One per vault secret, in name order.
    public var secrets: [Secret]
    /// One per profile and secret the vault lacks (however often the profile uses it), in profile order.
    public var missing: [MissingSecret]
    /// The profiles that could not be loaded, as passed to `Audit.run`.
    public var brokenProfiles: [BrokenProfile]

    /// True when a secret has a flag, a profile names a missing secret, or a profile is broken: `audit`
    /// then exits 1.
    public var flagged: Bool { secrets.contains { !$0.flags.isEmpty } || !missing.isEmpty || !brokenProfiles.isEmpty }
}

/// The checks behind `run-with-keys audit`: stale, unused, withdraw-scoped and expired keys, and
/// secrets that profiles name but the vault lacks.
public enum Audit {
    /// Days (30) after which a key counts as "unused" when no `start` record names it and it was
    /// not set or rotated within them either. A key that no profile uses is unused at any age.
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
                let gone = AuditReport.MissingSecret(profile: p.name, secret: k.secret)
                if !listing.contains(name: k.secret) && !missing.contains(gone) { missing.append(gone) }   // once per profile
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
