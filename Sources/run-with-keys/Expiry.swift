import Vault
import Profile

/// `--expires`: an RFC 3339 time, a duration from now, or "none" (clears it).
/// nil means "leave it as it is".
enum Expiry {
    struct Value { var time: Timestamp? }

    static func parse(_ text: String?, now: Timestamp) throws -> Value? {
        guard let text else { return nil }
        if text == "none" { return Value(time: nil) }
        if let t = Timestamp(rfc3339: text) { return Value(time: t) }
        do {
            let d = try Units.parseDuration(text)
            return Value(time: Timestamp(seconds: now.seconds + d.milliseconds / 1000))
        } catch {
            throw CLIError("--expires: expected an RFC 3339 time (2027-01-31T00:00:00Z), a duration (90d) or none")
        }
    }
}
