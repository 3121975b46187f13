import Profile

/// What the supervisor needs from a profile, as plain values: restart
/// settings, how to stop, when to reload, whether to redact. Launch builds it,
/// so the supervisor never reads a profile.
public struct Supervision: Sendable, Equatable {
    /// `[restart] policy`.
    public enum Policy: Sendable, Equatable { case no, onFailure, always }
    /// `[restart] reload`: `none` (SIGHUP is forwarded), `restart` (new keys,
    /// new bot) or `signal` (new values in the key files, then `reloadSignal`).
    public enum Reload: String, Sendable, Equatable { case none, restart, signal }

    /// The profile's name, for logs, the launch log and the run file.
    public var profileName: String
    public var policy: Policy
    /// Backoff: the first delay and its cap, in milliseconds.
    public var delayMs: Int64
    public var maxDelayMs: Int64
    /// A run this long resets the backoff (ms).
    public var stableAfterMs: Int64
    /// Start limit: at most `burst` starts within `intervalMs`.
    public var burst: Int
    public var intervalMs: Int64
    public var successExitCodes: Set<Int32>
    /// Sent to the tree on SIGTERM; SIGKILL follows after `stopTimeoutMs`.
    public var stopSignal: Int32
    public var stopTimeoutMs: Int64
    public var reload: Reload
    public var reloadSignal: Int32
    /// `[output] redact`.
    public var redact: Bool

    /// From a validated profile.
    public init(_ profile: Profile) {
        let r = profile.restart
        profileName = profile.name
        policy = r.policy == .no ? .no : (r.policy == .always ? .always : .onFailure)
        delayMs = r.delay.milliseconds
        maxDelayMs = r.maxDelay.milliseconds
        stableAfterMs = (r.stableAfter ?? r.maxDelay).milliseconds
        burst = r.burst
        intervalMs = r.interval.milliseconds
        successExitCodes = Set(r.successExitCodes)
        stopSignal = r.stopSignal
        stopTimeoutMs = r.stopTimeout.milliseconds
        switch r.reload {
        case .none: reload = .none
        case .restart: reload = .restart
        case .signal: reload = .signal
        }
        reloadSignal = r.reloadSignal
        redact = profile.output.redact
    }
}
