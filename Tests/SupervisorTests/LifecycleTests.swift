import Glibc
import Testing
@testable import Supervisor

/// The supervisor's life cycle, one transition per row: from a state (reached
/// by a fixed path of events), one event, the state after and the actions.
typealias L = Lifecycle

/// Events that lead from a fresh life cycle to `state`.
private func reach(_ state: L.State, treeSignalled: Bool = false) -> L {
    var l = L(stopSignal: SIGTERM)
    let paths: [L.State: [L.Event]] = [
        .starting: [],
        .running: [.spawned],
        .draining: [.spawned, .botExited(.exited(3))],
        .backingOff: [.spawned, .botExited(.exited(3)), .treeEmpty, .decided(.restart(afterMs: 500))],
        .restarting: [.spawned, .reloadRequested],
        .stopping: [.spawned, .stopRequested(signal: SIGTERM, botAlive: true, treeEmpty: false)],
        .done: [.spawned, .botExited(.exited(3)), .treeEmpty, .decided(.stop(exitCode: 3, reason: .policyNo))],
    ]
    for e in paths[state]! { _ = l.handle(e) }
    if treeSignalled && !l.treeSignalled { _ = l.handle(.treeNotEmpty) }
    precondition(l.state == state)
    return l
}

struct LifecycleCase: Sendable, CustomTestStringConvertible {
    let from: L.State
    var signalled = false
    let event: L.Event
    let to: L.State
    let actions: [L.Action]
    var testDescription: String { "\(from)\(signalled ? " (signalled)" : "") + \(event) → \(to) \(actions)" }
}

private let cases: [LifecycleCase] = [
    // start
    .init(from: .starting, event: .spawned, to: .running, actions: []),
    .init(from: .starting, event: .spawnFailed(code: 127, firstAttempt: true), to: .done, actions: []),
    .init(from: .starting, event: .spawnFailed(code: 126, firstAttempt: false), to: .done, actions: []),   // no restart storm
    // the bot exits on its own
    .init(from: .running, event: .botExited(.exited(3)), to: .draining, actions: []),
    .init(from: .draining, event: .treeNotEmpty, to: .draining, actions: [.signalTree(SIGTERM)]),
    .init(from: .draining, signalled: true, event: .treeNotEmpty, to: .draining, actions: []),
    .init(from: .draining, event: .treeEmpty, to: .draining, actions: [.disarmStopTimer, .decide(.exited(3))]),
    .init(from: .running, event: .botFailedToStart(.exited(127)), to: .draining, actions: []),
    .init(from: .draining, signalled: true, event: .stopTimerFired, to: .draining, actions: [.killTree]),
    // the restart policy answers
    .init(from: .draining, event: .decided(.restart(afterMs: 0)), to: .starting, actions: [.spawn(.restart)]),
    .init(from: .draining, event: .decided(.restart(afterMs: 250)), to: .backingOff, actions: [.armRestart(ms: 250)]),
    .init(from: .draining, event: .decided(.stop(exitCode: 3, reason: .policyNo)), to: .done, actions: []),
    .init(from: .backingOff, event: .restartTimerFired, to: .starting, actions: [.spawn(.restart)]),
    .init(from: .running, event: .restartTimerFired, to: .running, actions: []),   // a stale timer
    // stop
    .init(from: .running, event: .stopRequested(signal: SIGTERM, botAlive: true, treeEmpty: false), to: .stopping,
          actions: [.notifyStopping, .disarmRestart, .signalTree(SIGTERM)]),
    .init(from: .running, event: .stopRequested(signal: SIGINT, botAlive: true, treeEmpty: false), to: .stopping,
          actions: [.notifyStopping, .disarmRestart, .signalTree(SIGINT)]),   // Ctrl-C reaches the bot as SIGINT
    .init(from: .backingOff, event: .stopRequested(signal: SIGTERM, botAlive: false, treeEmpty: true), to: .done,
          actions: [.notifyStopping, .disarmRestart]),
    .init(from: .draining, event: .stopRequested(signal: SIGTERM, botAlive: false, treeEmpty: false), to: .stopping,
          actions: [.notifyStopping, .disarmRestart, .signalTree(SIGTERM)]),
    .init(from: .draining, signalled: true, event: .stopRequested(signal: SIGTERM, botAlive: false, treeEmpty: false),
          to: .stopping, actions: [.notifyStopping, .disarmRestart]),   // each process gets the signal once
    .init(from: .stopping, event: .stopRequested(signal: SIGTERM, botAlive: true, treeEmpty: false), to: .stopping, actions: []),
    .init(from: .stopping, event: .botExited(.exited(0)), to: .stopping, actions: []),
    .init(from: .stopping, event: .stopTimerFired, to: .stopping, actions: [.killTree]),
    .init(from: .stopping, event: .treeEmpty, to: .done, actions: [.disarmStopTimer]),
    .init(from: .stopping, event: .reloadRequested, to: .stopping, actions: []),
    // reload
    .init(from: .running, event: .reloadRequested, to: .restarting, actions: [.signalTree(SIGTERM)]),
    .init(from: .draining, signalled: true, event: .reloadRequested, to: .restarting, actions: []),
    .init(from: .backingOff, event: .reloadRequested, to: .starting, actions: [.disarmRestart, .spawn(.restart)]),
    .init(from: .restarting, event: .reloadRequested, to: .restarting, actions: []),
    .init(from: .restarting, event: .botExited(.signaled(SIGTERM)), to: .restarting, actions: []),
    .init(from: .restarting, event: .treeEmpty, to: .starting, actions: [.disarmStopTimer, .spawn(.reload)]),
    .init(from: .restarting, event: .stopRequested(signal: SIGTERM, botAlive: true, treeEmpty: false), to: .stopping,
          actions: [.notifyStopping, .disarmRestart]),   // the reload's SIGKILL deadline stands
    // done is final
    .init(from: .done, event: .spawned, to: .done, actions: []),
    .init(from: .done, event: .stopRequested(signal: SIGTERM, botAlive: false, treeEmpty: true), to: .done, actions: []),
]

@Suite struct LifecycleTests {
    @Test(arguments: cases)
    func transition(_ c: LifecycleCase) {
        var l = reach(c.from, treeSignalled: c.signalled)
        let actions = l.handle(c.event)
        #expect(l.state == c.to)
        #expect(actions == c.actions)
    }

    @Test func exitCodeIsTheLastBotsOrThePolicysAnswer() {
        var l = reach(.stopping)
        _ = l.handle(.botExited(.signaled(SIGTERM)))
        _ = l.handle(.treeEmpty)
        #expect(l.state == .done && l.exitCode == 128 + SIGTERM)

        var m = reach(.draining)
        _ = m.handle(.treeEmpty)
        _ = m.handle(.decided(.stop(exitCode: 4, reason: .startLimit(burst: 2, intervalMs: 60_000))))
        #expect(m.state == .done && m.exitCode == 4)

        var n = reach(.backingOff)
        _ = n.handle(.stopRequested(signal: SIGTERM, botAlive: false, treeEmpty: true))
        #expect(n.state == .done && n.exitCode == 3)   // the last bot's code
    }

    @Test func aBotThatFailedToStartIsNotRestarted() {
        var l = reach(.running)
        _ = l.handle(.botFailedToStart(.exited(126)))
        #expect(l.handle(.treeEmpty) == [.disarmStopTimer])
        #expect(l.state == .done && l.exitCode == 126)
    }

    @Test func aStopAfterTheTreeWasSignalledKeepsItsDeadline() {
        var l = reach(.restarting)
        #expect(l.treeSignalled)
        #expect(l.handle(.stopRequested(signal: SIGINT, botAlive: true, treeEmpty: false)) == [.notifyStopping, .disarmRestart])
        #expect(l.handle(.stopTimerFired) == [.killTree])
        _ = l.handle(.botExited(.signaled(SIGKILL)))
        _ = l.handle(.treeEmpty)
        #expect(l.state == .done && !l.treeSignalled && l.exitCode == 128 + SIGKILL)
    }
}
