import Glibc
import Launch

// The restart decision (docs/ARCHITECTURE.md, "Supervise"): a pure function of the bot's exit,
// the restart history and the current monotonic time. No clocks, no randomness
// (jitter is passed in), no processes — tested with tables.

// RestartConfig, the settings it decides by, lives in Launch (Supervision.swift).

/// How the bot ended, as reported by waitid/pidfd.
public enum ExitReason: Sendable, Equatable {
    /// Exited on its own; the exit code, 0-255.
    case exited(Int32)
    /// Killed by a signal; the signal number (exit code 128+N).
    case signaled(Int32)

    /// The supervisor's own exit code for this end: the bot's code, or 128+N
    /// for signal N (like a shell, tini, `timeout` and `docker run`).
    public var exitCode: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }

    /// systemd's notion of a clean exit: code 0 or one of `successExitCodes`,
    /// or death by SIGHUP, SIGINT, SIGTERM or SIGPIPE (the signals a bot gets
    /// when someone asks it to stop). Every other signal — SIGKILL, SIGSEGV,
    /// SIGABRT, SIGSYS from seccomp — is a failure.
    public func isClean(successExitCodes: [Int32]) -> Bool {
        switch self {
        case .exited(let code):
            return code == 0 || successExitCodes.contains(code)
        case .signaled(let signal):
            return signal == SIGHUP || signal == SIGINT || signal == SIGTERM || signal == SIGPIPE
        }
    }
}

/// What the supervisor remembers between runs of one bot.
public struct RestartHistory: Sendable, Equatable {
    /// Monotonic times (ms) of recent starts, oldest first. `decideRestart`
    /// prunes the ones that fell out of the start-limit interval.
    public private(set) var starts: [Int64]
    /// Short runs in a row that ended in a restart; drives the backoff. A run
    /// of at least `stableAfterMs` resets it. Under `always`, a short clean
    /// run counts too: a bot exiting 0 in a tight loop is still a restart storm.
    public private(set) var consecutiveFailures: Int

    /// A history to carry on from; the defaults are a bot never started.
    public init(starts: [Int64] = [], consecutiveFailures: Int = 0) {
        self.starts = starts
        self.consecutiveFailures = consecutiveFailures
    }

    /// Call once per spawn, with the same clock as `decideRestart`'s `nowMs`.
    public mutating func recordStart(atMs: Int64) {
        starts.append(atMs)
    }

    /// Drops starts at least `intervalMs` old: a start counts while
    /// `nowMs - start < intervalMs`.
    mutating func prune(nowMs: Int64, intervalMs: Int64) {
        if let keep = starts.firstIndex(where: { nowMs - $0 < intervalMs }) {
            starts.removeFirst(keep)
        } else {
            starts.removeAll()
        }
    }

    mutating func noteRun(lastedMs: Int64, stableAfterMs: Int64) {
        if lastedMs >= stableAfterMs { consecutiveFailures = 0 }
    }

    mutating func noteRestart() { consecutiveFailures += 1 }
}

/// Why `decideRestart` stopped rather than restarted.
public enum StopReason: Sendable, Equatable {
    /// `policy = "no"`.
    case policyNo
    /// A clean exit under `on-failure`.
    case success
    /// `burst` starts happened within `intervalMs`; a further one is refused.
    case startLimit(burst: Int, intervalMs: Int64)
    /// The supervisor itself is stopping (SIGTERM/SIGINT to run-with-keys).
    case stopping
}

/// `decideRestart`'s answer: start again after `afterMs` ms (0: at once), or exit with
/// `exitCode` (the bot's code, or 128+N for signal N).
public enum RestartDecision: Sendable, Equatable {
    /// Start the bot again after `afterMs` milliseconds, jitter included; 0: at once.
    case restart(afterMs: Int64)
    /// Don't restart: run-with-keys exits with `exitCode` (the bot's code, or 128+N), for `reason`.
    case stop(exitCode: Int32, reason: StopReason)
}

/// Decides what to do after the bot ended.
///
/// The caller records every spawn with `history.recordStart(atMs:)` (so the
/// run that just ended is already in `history.starts`), then calls this once
/// per exit. In order:
/// 1. `stopping` → stop with the bot's code (`.stopping`).
/// 2. policy `no` → stop with the bot's code (`.policyNo`).
/// 3. a run of at least `stableAfterMs` resets the backoff.
/// 4. policy `on-failure` and a clean exit → stop with the bot's code (`.success`).
/// 5. start limit: if the starts within the last `intervalMs` (the one that
///    just ended included) already number `burst`, stop (`.startLimit`) —
///    so with burst 5 the bot is started exactly 5 times.
/// 6. otherwise restart after the backoff delay:
///    `base = min(maxDelay, delay · 2^(n−1))`, n = consecutive short runs
///    including this one, then "equal jitter":
///    `base/2 + (base − base/2) · jitter`, i.e. within [base/2, base], never
///    above `maxDelayMs`, never below 0, and 0 when `delayMs` is 0.
///
/// The exit code is the bot's code, or 128+N for signal N.
/// - Parameter jitter: a uniform random number in [0, 1), injected for testability;
///   values outside are clamped.
public func decideRestart(config: RestartConfig, exit: ExitReason, startedAtMs: Int64, nowMs: Int64,
                          history: inout RestartHistory, jitter: Double, stopping: Bool) -> RestartDecision {
    let code = exit.exitCode
    if stopping { return .stop(exitCode: code, reason: .stopping) }
    if config.policy == .no { return .stop(exitCode: code, reason: .policyNo) }

    history.noteRun(lastedMs: nowMs - startedAtMs, stableAfterMs: config.stableAfterMs)
    if config.policy == .onFailure && exit.isClean(successExitCodes: config.successExitCodes) {
        return .stop(exitCode: code, reason: .success)
    }

    let limited = config.burst > 0 && config.intervalMs > 0
    // Without a limit nothing reads the starts; keep the array from growing.
    history.prune(nowMs: nowMs, intervalMs: limited ? config.intervalMs : 0)
    if limited && history.starts.count >= config.burst {
        return .stop(exitCode: code, reason: .startLimit(burst: config.burst, intervalMs: config.intervalMs))
    }

    history.noteRestart()
    let base = backoffBase(delayMs: config.delayMs, maxDelayMs: config.maxDelayMs,
                           failures: history.consecutiveFailures)
    return .restart(afterMs: applyJitter(base: base, jitter: jitter))
}

/// `min(maxDelay, delay · 2^(failures−1))` without overflow; negative inputs count as 0.
func backoffBase(delayMs: Int64, maxDelayMs: Int64, failures: Int) -> Int64 {
    let cap = max(0, maxDelayMs)
    var base = min(max(0, delayMs), cap)
    var doublings = max(0, failures - 1)
    while doublings > 0 && base > 0 && base < cap {
        base = base > cap / 2 ? cap : base * 2
        doublings -= 1
    }
    return base
}

/// Equal jitter: a value in [base/2, base].
func applyJitter(base: Int64, jitter: Double) -> Int64 {
    let j = jitter.isNaN ? 0 : min(max(jitter, 0), 1)
    let half = base / 2
    return half + Int64((Double(base - half) * j).rounded(.down))
}
