import Vault
import Profile

/// What the launch-time key checks found about one key.
public struct KeyFinding: Equatable, Sendable, CustomStringConvertible {
    /// Which check the key failed, with its detail.
    public enum Kind: Equatable, Sendable {
        /// Older than its maximum age (by `updated`, the last rotation, else `created`).
        case stale(ageDays: Int64, maxAge: Milliseconds)
        /// Past its `expires` time.
        case expired(Timestamp)
        /// Has a scope the profile forbids.
        case forbiddenScope(String)
    }
    /// The secret's name in the vault.
    public var secret: String
    /// The variable the profile gives it (for a template reference, the template's variable).
    public var variable: String
    /// What was found.
    public var kind: Kind

    /// One line naming the secret, its variable and the finding, e.g. `key "NAME" (VAR) expired at …`.
    public var description: String {
        switch kind {
        case .stale(let days, let max):
            return "key \"\(secret)\" (\(variable)) is \(days) days old, older than its max_age of \(max)"
        case .expired(let t):
            return "key \"\(secret)\" (\(variable)) expired at \(t)"
        case .forbiddenScope(let s):
            return "key \"\(secret)\" (\(variable)) has the scope \"\(s)\", which this profile forbids"
        }
    }

    /// The command that fixes it, for the hint.
    public var remedy: String {
        switch kind {
        case .stale, .expired: return "rotate it at the issuer, then: run-with-keys rotate \(secret)"
        case .forbiddenScope: return "create a key without that scope at the issuer, then: run-with-keys rotate \(secret) --scope …"
        }
    }

    /// Findings that stop a launch whatever `enforce_max_age` says.
    public var alwaysRefuses: Bool { if case .forbiddenScope = kind { return true } else { return false } }
}

/// The launch-time checks of a profile's keys: maximum age, expiry, and `[policy] forbid_scopes`.
public enum KeyPolicy {
    /// The maximum age when neither the key nor the profile sets one: the usual exchange advice.
    public static let defaultMaxAge = Milliseconds(milliseconds: 90 * 86_400_000)

    /// Checks the profile's keys and template references against their ages, expiry and the forbidden scopes.
    /// A key is stale when strictly more than `max_age` has passed since `updated`
    /// (or `created` when `updated` is missing); keys of unknown age are not judged.
    public static func check(_ profile: Profile, document: VaultDocument, now: Timestamp) -> [KeyFinding] {
        var out: [KeyFinding] = []
        let forbidden = Set(profile.policy.forbidScopes.map { $0.lowercased() })
        for key in profile.secretUses {
            guard let entry = document.secrets[key.secret] else { continue }
            let maxAge = key.maxAge ?? profile.policy.maxKeyAge ?? defaultMaxAge
            if let since = entry.updated ?? entry.created, (now.seconds - since.seconds) * 1000 > maxAge.milliseconds {
                out.append(KeyFinding(secret: key.secret, variable: key.variable,
                                      kind: .stale(ageDays: since.days(until: now), maxAge: maxAge)))
            }
            if let x = entry.expires, now >= x {
                out.append(KeyFinding(secret: key.secret, variable: key.variable, kind: .expired(x)))
            }
            for s in entry.scopes where forbidden.contains(s.lowercased()) {
                out.append(KeyFinding(secret: key.secret, variable: key.variable, kind: .forbiddenScope(s)))
            }
        }
        return out
    }

    /// True when `findings` must stop the launch under the profile's policy.
    public static func refuses(_ findings: [KeyFinding], profile: Profile) -> Bool {
        findings.contains { $0.alwaysRefuses || profile.policy.enforceMaxAge }
    }
}
