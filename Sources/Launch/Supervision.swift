import Profile

/// What the supervisor needs from a profile, as plain values: restart
/// settings, how to stop, when to reload, whether to redact. Launch builds it,
/// so the supervisor never reads a profile.
public struct Supervision: Sendable, Equatable {
    /// `[restart] reload`: `none` (SIGHUP is forwarded), `restart` (new keys,
    /// new bot) or `signal` (new values in the key files, then `reloadSignal`).
    public enum Reload: String, Sendable, Equatable { case none, restart, signal }

    /// The profile's name, for logs, the launch log and the run file.
    public var profileName: String
    /// Backoff, start limit, success codes.
    public var restart: RestartConfig
    /// Sent to the tree on SIGTERM; SIGKILL follows after `stopTimeoutMs`.
    public var stopSignal: Int32
    /// `[restart] stop_timeout` (ms): how long the tree has after its stop signal before SIGKILL.
    public var stopTimeoutMs: Int64
    /// `[restart] reload`: what SIGHUP and a change of the vault do.
    public var reload: Reload
    /// `[restart] reload_signal` (default SIGHUP): sent to the bot once its key files hold the
    /// new values; only with `.signal`.
    public var reloadSignal: Int32
    /// `[output] redact`.
    public var redact: Bool

    /// From a validated profile.
    public init(_ profile: Profile) {
        let r = profile.restart
        profileName = profile.name
        restart = RestartConfig(
            policy: r.policy == .no ? .no : (r.policy == .always ? .always : .onFailure),
            delayMs: r.delay.milliseconds, maxDelayMs: r.maxDelay.milliseconds,
            stableAfterMs: (r.stableAfter ?? r.maxDelay).milliseconds, burst: r.burst,
            intervalMs: r.interval.milliseconds, successExitCodes: r.successExitCodes)
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

/// The `[restart]` section of a profile, in milliseconds.
public struct RestartConfig: Sendable, Equatable {
    /// `[restart] policy`: after which exits the bot is started again.
    public enum Policy: Sendable, Equatable {
        /// Never restart; the supervisor exits with the bot's code.
        case no
        /// Restart after an unclean exit only (see `ExitReason.isClean(successExitCodes:)`).
        case onFailure
        /// Restart after every exit, clean or not.
        case always
    }

    /// After which exits to restart.
    public var policy: Policy
    /// The first restart delay. 0 means restart at once, every time.
    public var delayMs: Int64
    /// Upper bound of the exponential backoff.
    public var maxDelayMs: Int64
    /// A run that lasted at least this long resets the backoff to `delayMs`.
    public var stableAfterMs: Int64
    /// At most `burst` starts within any `intervalMs` window. Either ≤ 0 turns
    /// the start limit off.
    public var burst: Int
    /// The start limit's window (ms); see `burst`.
    public var intervalMs: Int64
    /// Exit codes that count as success besides 0, like systemd's SuccessExitStatus=.
    /// A handful of codes: an array, since a `Set<Int32>` costs a protocol
    /// conformance lookup at every launch (see BENCHMARKS.md, issue 14).
    public var successExitCodes: [Int32]

    /// The defaults (docs/ARCHITECTURE.md, "Supervise"): on-failure, 1 s doubling up to 1 min,
    /// 5 starts per 10 min; a run of 1 min counts as stable.
    public init(policy: Policy = .onFailure, delayMs: Int64 = 1_000, maxDelayMs: Int64 = 60_000,
                stableAfterMs: Int64 = 60_000, burst: Int = 5, intervalMs: Int64 = 600_000,
                successExitCodes: [Int32] = []) {
        self.policy = policy
        self.delayMs = delayMs
        self.maxDelayMs = maxDelayMs
        self.stableAfterMs = stableAfterMs
        self.burst = burst
        self.intervalMs = intervalMs
        self.successExitCodes = successExitCodes
    }
}
