import Glibc
import Testing
@testable import Supervisor
import Launch

private let quick = RestartConfig(policy: .onFailure, delayMs: 100, maxDelayMs: 1_000, stableAfterMs: 10_000,
                                  burst: 0, intervalMs: 0, successExitCodes: [])

private func config(_ policy: RestartConfig.Policy, success: [Int32] = []) -> RestartConfig {
    var c = quick
    c.policy = policy
    c.successExitCodes = success
    return c
}

/// One exit of a bot that ran 1 ms, with jitter 0.
private func decideOnce(_ config: RestartConfig, _ exit: ExitReason, stopping: Bool = false) -> RestartDecision {
    var history = RestartHistory()
    history.recordStart(atMs: 1_000)
    return decideRestart(config: config, exit: exit, startedAtMs: 1_000, nowMs: 1_001,
                         history: &history, jitter: 0, stopping: stopping)
}

struct PolicyCase: Sendable, CustomTestStringConvertible {
    let policy: RestartConfig.Policy
    let exit: ExitReason
    var success: [Int32] = []
    let expected: RestartDecision
    var testDescription: String { "\(policy) \(exit) success=\(success.sorted()) → \(expected)" }
}

private let restart = RestartDecision.restart(afterMs: 50)

@Suite struct RestartPolicyTests {
    @Test(arguments: [
        PolicyCase(policy: .no, exit: .exited(0), expected: .stop(exitCode: 0, reason: .policyNo)),
        PolicyCase(policy: .no, exit: .exited(1), expected: .stop(exitCode: 1, reason: .policyNo)),
        PolicyCase(policy: .no, exit: .signaled(SIGKILL), expected: .stop(exitCode: 137, reason: .policyNo)),
        PolicyCase(policy: .onFailure, exit: .exited(0), expected: .stop(exitCode: 0, reason: .success)),
        PolicyCase(policy: .onFailure, exit: .exited(1), expected: restart),
        PolicyCase(policy: .onFailure, exit: .exited(255), expected: restart),
        PolicyCase(policy: .onFailure, exit: .signaled(SIGKILL), expected: restart),
        PolicyCase(policy: .onFailure, exit: .signaled(SIGSEGV), expected: restart),
        PolicyCase(policy: .onFailure, exit: .signaled(SIGABRT), expected: restart),
        PolicyCase(policy: .onFailure, exit: .signaled(SIGSYS), expected: restart),
        PolicyCase(policy: .onFailure, exit: .signaled(SIGTERM), expected: .stop(exitCode: 143, reason: .success)),
        PolicyCase(policy: .onFailure, exit: .signaled(SIGINT), expected: .stop(exitCode: 130, reason: .success)),
        PolicyCase(policy: .onFailure, exit: .signaled(SIGHUP), expected: .stop(exitCode: 129, reason: .success)),
        PolicyCase(policy: .onFailure, exit: .signaled(SIGPIPE), expected: .stop(exitCode: 141, reason: .success)),
        PolicyCase(policy: .onFailure, exit: .exited(3), success: [3, 7], expected: .stop(exitCode: 3, reason: .success)),
        PolicyCase(policy: .onFailure, exit: .exited(4), success: [3, 7], expected: restart),
        PolicyCase(policy: .onFailure, exit: .signaled(3), success: [3], expected: restart),
        PolicyCase(policy: .always, exit: .exited(0), expected: restart),
        PolicyCase(policy: .always, exit: .exited(1), expected: restart),
        PolicyCase(policy: .always, exit: .exited(3), success: [3], expected: restart),
        PolicyCase(policy: .always, exit: .signaled(SIGTERM), expected: restart),
        PolicyCase(policy: .always, exit: .signaled(SIGKILL), expected: restart),
    ])
    func policyAndExit(_ c: PolicyCase) {
        #expect(decideOnce(config(c.policy, success: c.success), c.exit) == c.expected)
    }

    @Test(arguments: [RestartConfig.Policy.no, .onFailure, .always],
          [ExitReason.exited(0), .exited(2), .signaled(SIGTERM), .signaled(SIGKILL)])
    func stoppingStopsWithTheBotsCode(_ policy: RestartConfig.Policy, _ exit: ExitReason) {
        #expect(decideOnce(config(policy), exit, stopping: true) == .stop(exitCode: exit.exitCode, reason: .stopping))
    }

    @Test(arguments: [ExitReason.exited(0), .exited(1), .exited(255), .signaled(1), .signaled(9), .signaled(31)])
    func exitCodes(_ exit: ExitReason) {
        switch exit {
        case .exited(let c): #expect(exit.exitCode == c)
        case .signaled(let n): #expect(exit.exitCode == 128 + n)
        }
    }

    /// Starts a crash-looping bot (exit 3 after 1 ms) until the policy stops;
    /// returns the delays and the final decision.
    private func crashLoop(_ config: RestartConfig, jitter: () -> Double) -> ([Int64], RestartDecision) {
        var history = RestartHistory()
        var now: Int64 = 5_000
        var delays: [Int64] = []
        while true {
            history.recordStart(atMs: now)
            let started = now
            now += 1
            let decision = decideRestart(config: config, exit: .exited(3), startedAtMs: started, nowMs: now,
                                         history: &history, jitter: jitter(), stopping: false)
            guard case .restart(let delay) = decision, delays.count < 1_000 else { return (delays, decision) }
            delays.append(delay)
            now += delay
        }
    }

    @Test(arguments: [1, 2, 5, 10])
    func burstIsReachedExactly(_ burst: Int) {
        var c = config(.always)
        c.burst = burst
        c.intervalMs = 600_000
        let (delays, decision) = crashLoop(c) { 0.5 }
        #expect(delays.count == burst - 1)
        #expect(decision == .stop(exitCode: 3, reason: .startLimit(burst: burst, intervalMs: 600_000)))
    }

    @Test func crashLoopSimulation() {
        let c = RestartConfig(policy: .onFailure, delayMs: 100, maxDelayMs: 1_000, stableAfterMs: 60_000,
                              burst: 5, intervalMs: 600_000)
        var rng = SplitMix64(seed: 42)
        let (delays, decision) = crashLoop(c) { Double(rng.next() >> 11) / Double(1 << 53) }
        #expect(delays.count == 4)
        #expect(decision == .stop(exitCode: 3, reason: .startLimit(burst: 5, intervalMs: 600_000)))
        for (i, delay) in delays.enumerated() {
            let base = min(1_000, Int64(100) << i)
            #expect(delay >= base / 2 && delay <= base, "restart \(i + 1): \(delay) ms")
            #expect(delay >= 50 && delay <= 1_000)
        }
    }

    struct PruneCase: Sendable {
        let starts: [Int64]
        let now: Int64
        let expectedStarts: [Int64]
        let stops: Bool
    }

    /// burst 3 within 1000 ms; a start counts while now − start < 1000.
    @Test(arguments: [
        PruneCase(starts: [0, 10, 20], now: 30, expectedStarts: [0, 10, 20], stops: true),
        PruneCase(starts: [0, 10, 20], now: 999, expectedStarts: [0, 10, 20], stops: true),
        PruneCase(starts: [0, 10, 20], now: 1_000, expectedStarts: [10, 20], stops: false),
        PruneCase(starts: [0, 500, 1_500], now: 1_600, expectedStarts: [1_500], stops: false),
        PruneCase(starts: [0, 500, 900, 1_500], now: 1_600, expectedStarts: [900, 1_500], stops: false),
        PruneCase(starts: [0, 100, 700, 800, 900], now: 950, expectedStarts: [0, 100, 700, 800, 900], stops: true),
        PruneCase(starts: [0, 100, 700, 800, 900], now: 1_750, expectedStarts: [800, 900], stops: false),
        PruneCase(starts: [0], now: 100_000, expectedStarts: [], stops: false),
    ])
    func oldStartsArePruned(_ c: PruneCase) {
        var cfg = config(.always)
        cfg.burst = 3
        cfg.intervalMs = 1_000
        var history = RestartHistory(starts: c.starts)
        let decision = decideRestart(config: cfg, exit: .exited(1), startedAtMs: c.starts.last!, nowMs: c.now,
                                     history: &history, jitter: 0, stopping: false)
        #expect(history.starts == c.expectedStarts)
        if c.stops {
            #expect(decision == .stop(exitCode: 1, reason: .startLimit(burst: 3, intervalMs: 1_000)))
        } else {
            #expect(decision == .restart(afterMs: 50))
        }
    }

    @Test func noStartLimitKeepsHistorySmall() {
        var history = RestartHistory()
        for t in stride(from: Int64(0), to: 100_000, by: 100) {
            history.recordStart(atMs: t)
            _ = decideRestart(config: config(.always), exit: .exited(1), startedAtMs: t, nowMs: t + 1,
                              history: &history, jitter: 0, stopping: false)
        }
        #expect(history.starts.isEmpty)
    }

    /// Delays after `count` consecutive immediate failures, with no start limit.
    private func backoff(delay: Int64, max: Int64, jitter: Double, count: Int) -> [Int64] {
        var c = config(.onFailure)
        c.delayMs = delay
        c.maxDelayMs = max
        var history = RestartHistory()
        var now: Int64 = 0
        return (0..<count).map { _ in
            history.recordStart(atMs: now)
            let d = decideRestart(config: c, exit: .signaled(SIGSEGV), startedAtMs: now, nowMs: now + 1,
                                  history: &history, jitter: jitter, stopping: false)
            guard case .restart(let ms) = d else { Issue.record("stopped: \(d)"); return -1 }
            now += 1 + ms
            return ms
        }
    }

    struct BackoffCase: Sendable {
        let delay: Int64, max: Int64, jitter: Double
        let expected: [Int64]
    }

    @Test(arguments: [
        // bases 100, 200, 400, … capped at 10 000
        BackoffCase(delay: 100, max: 10_000, jitter: 0,
                    expected: [50, 100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000]),
        BackoffCase(delay: 100, max: 10_000, jitter: 0.999_999,
                    expected: [99, 199, 399, 799, 1_599, 3_199, 6_399, 9_999, 9_999, 9_999]),
        BackoffCase(delay: 100, max: 10_000, jitter: 0.5,
                    expected: [75, 150, 300, 600, 1_200, 2_400, 4_800, 7_500, 7_500, 7_500]),
        // out-of-range jitter is clamped to [0, 1]
        BackoffCase(delay: 100, max: 400, jitter: 7, expected: [100, 200, 400, 400]),
        BackoffCase(delay: 100, max: 400, jitter: -1, expected: [50, 100, 200, 200]),
        BackoffCase(delay: 100, max: 400, jitter: .nan, expected: [50, 100, 200, 200]),
        // max below delay: the cap wins
        BackoffCase(delay: 5_000, max: 1_000, jitter: 0, expected: [500, 500, 500]),
        // delay 0 is always 0
        BackoffCase(delay: 0, max: 60_000, jitter: 0.9, expected: [0, 0, 0, 0]),
        BackoffCase(delay: 1, max: 60_000, jitter: 0, expected: [0, 1, 2, 4, 8]),
        // negative settings never give a negative delay
        BackoffCase(delay: -100, max: 1_000, jitter: 0.5, expected: [0, 0]),
        BackoffCase(delay: 100, max: -1, jitter: 0.5, expected: [0, 0]),
    ])
    func backoffSequence(_ c: BackoffCase) {
        #expect(backoff(delay: c.delay, max: c.max, jitter: c.jitter, count: c.expected.count) == c.expected)
    }

    @Test func backoffDoesNotOverflow() {
        #expect(backoffBase(delayMs: .max / 3, maxDelayMs: .max, failures: 1_000) == .max)
        #expect(backoffBase(delayMs: 1, maxDelayMs: .max, failures: 63) == 1 << 62)
        #expect(backoffBase(delayMs: 1_000, maxDelayMs: 60_000, failures: .max) == 60_000)
        #expect(applyJitter(base: .max, jitter: 0.999_999) <= .max)
    }

    @Test(arguments: [(Int64(9_999), false), (10_000, true), (3_600_000, true)])
    func stableRunResetsBackoff(_ ranMs: Int64, _ resets: Bool) {
        var history = RestartHistory()
        var now: Int64 = 0
        for _ in 0..<4 {
            history.recordStart(atMs: now)
            _ = decideRestart(config: quick, exit: .exited(1), startedAtMs: now, nowMs: now + 1,
                              history: &history, jitter: 0, stopping: false)
            now += 2_000
        }
        #expect(history.consecutiveFailures == 4)
        history.recordStart(atMs: now)
        let d = decideRestart(config: quick, exit: .exited(1), startedAtMs: now, nowMs: now + ranMs,
                              history: &history, jitter: 0, stopping: false)
        // quick: delay 100, max 1000 → the fifth short failure waits 1000/2
        #expect(d == .restart(afterMs: resets ? 50 : 500))
        #expect(history.consecutiveFailures == (resets ? 1 : 5))
    }

    @Test func cleanExitAfterFailuresStopsUnderOnFailure() {
        var history = RestartHistory(starts: [0, 10], consecutiveFailures: 2)
        let d = decideRestart(config: config(.onFailure), exit: .exited(0), startedAtMs: 10, nowMs: 20,
                              history: &history, jitter: 0, stopping: false)
        #expect(d == .stop(exitCode: 0, reason: .success))
    }
}

/// A small seeded generator, so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
