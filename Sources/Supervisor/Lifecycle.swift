import Glibc

/// The supervisor's life cycle as one state machine: a pure transition
/// function from (state, event) to (state, actions). The event loop observes
/// (a signal, a timer, the bot's exit, an empty tree), feeds the event, and
/// carries out the actions; nothing here makes a syscall, so the tables in
/// LifecycleTests pin every transition.
///
/// ```
///   starting --spawned--> running --botExited--> draining --treeEmpty--> (decide)
///      ^                     |                      |          restart(0) --> starting
///      |                  reload                 reload        restart(ms) -> backingOff --timer--> starting
///      |                     v                      v          stop -------> done
///      +----treeEmpty---- restarting <--------------+
///   any live state --stop--> stopping --treeEmpty--> done
/// ```
public struct Lifecycle: Equatable, Sendable {
    /// Where the supervisor is in the bot's life (the diagram above).
    public enum State: Equatable, Sendable {
        /// A spawn is under way (transient: spawning is synchronous in the loop).
        case starting
        /// The bot is alive.
        case running
        /// The bot exited on its own; what it left behind is being stopped and reaped.
        case draining
        /// Waiting for the restart timer.
        case backingOff
        /// A reload: the tree is being stopped, to start again with the new keys.
        case restarting
        /// SIGTERM/SIGINT: the tree is being stopped for good.
        case stopping
        /// Nothing more to do: exit with `exitCode`.
        case done
    }

    /// What the loop observed, or the restart policy answered, fed to `handle`.
    public enum Event: Equatable, Sendable {
        /// The `.spawn` action started the bot: → `.running`.
        case spawned
        /// The spawn failed with this exit code (125, 126, 127); `firstAttempt`:
        /// no bot of this run ever started, so there is nothing to retry.
        case spawnFailed(code: Int32, firstAttempt: Bool)
        /// The bot exited, and how (its tree may live on); from `.running`: → `.draining`.
        case botExited(ExitReason)
        /// The bot exited before its own code could run (its program, or one it
        /// execs at once, could not be executed): reported once, never restarted.
        case botFailedToStart(ExitReason)
        /// After the bot's exit: nothing of its tree is left.
        case treeEmpty
        /// After the bot's exit: descendants are left.
        case treeNotEmpty
        /// SIGTERM, SIGINT (from outside): stop for good. `botAlive` and
        /// `treeEmpty` describe the tree at that moment.
        case stopRequested(signal: Int32, botAlive: Bool, treeEmpty: Bool)
        /// The restart timer (`.armRestart`) expired: from `.backingOff`, start the bot again.
        case restartTimerFired
        /// The stop timer expired (`stop_timeout` after `.signalTree`): `.killTree`, while a tree is being stopped.
        case stopTimerFired
        /// New keys to run with (the loop has checked that they changed).
        case reloadRequested
        /// The restart policy's answer to a `.decide` action.
        case decided(RestartDecision)
    }

    /// Why a bot starts: the first time, a restart after an exit, or new keys.
    public enum SpawnReason: Equatable, Sendable { case first, restart, reload }

    /// What `handle` asks the loop to do, in the order returned.
    public enum Action: Equatable, Sendable {
        /// Start the bot (with the newest plan); feed `.spawned` or `.spawnFailed`.
        case spawn(SpawnReason)
        /// Send `signal` once to every process of the tree and arm the stop timer.
        case signalTree(Int32)
        /// SIGKILL everything left of the tree (and look again shortly while anything is).
        case killTree
        /// Disarm the stop timer: the tree it was armed for is gone.
        case disarmStopTimer
        /// Arm the restart timer for `ms` milliseconds (more than 0); it feeds `.restartTimerFired`.
        case armRestart(ms: Int64)
        /// Disarm the restart timer (on a stop, and on a reload during the backoff).
        case disarmRestart
        /// Tell the service manager (sd_notify STOPPING=1).
        case notifyStopping
        /// Ask the restart policy about this exit; feed back `.decided`.
        case decide(ExitReason)
    }

    public private(set) var state: State = .starting
    /// The last bot's exit (nil until one exited).
    public private(set) var lastExit: ExitReason?
    /// What run-with-keys exits with once `done`.
    public private(set) var exitCode: Int32 = 0
    /// The current tree has had its stop signal: each process gets it once
    /// (many programs take a second SIGTERM or SIGINT as "quit now").
    public private(set) var treeSignalled = false
    /// The current bot failed to start: no restart once its tree is gone.
    public private(set) var failedToStart = false
    /// `[restart] stop_signal`.
    public let stopSignal: Int32

    /// A machine in `.starting`. `stopSignal` goes to the tree on a stop (SIGINT is passed on as
    /// itself), on a reload, and to what a bot that exited left behind.
    public init(stopSignal: Int32) { self.stopSignal = stopSignal }

    /// Applies `event`; returns what the loop must do, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        if state == .done { return [] }
        switch event {
        case .spawned:
            state = .running
            failedToStart = false
            return []

        case .spawnFailed(let code, _):
            // A program that can't be executed won't be executable a second later:
            // reported once, no restart storm.
            lastExit = .exited(code)
            exitCode = code
            state = .done
            return []

        case .botExited(let reason), .botFailedToStart(let reason):
            lastExit = reason
            exitCode = reason.exitCode
            if case .botFailedToStart = event { failedToStart = true }
            if state == .running { state = .draining }
            return []

        case .treeNotEmpty:
            // The bot exited on its own and left processes behind: they go before anything else happens.
            guard state == .draining, !treeSignalled else { return [] }
            treeSignalled = true
            return [.signalTree(stopSignal)]

        case .treeEmpty:
            guard [.draining, .restarting, .stopping].contains(state) else { return [] }
            treeSignalled = false
            switch state {
            case .stopping:
                state = .done
                return [.disarmStopTimer]
            case .restarting:
                state = .starting
                return [.disarmStopTimer, .spawn(.reload)]
            default:
                guard let reason = lastExit, !failedToStart else { state = .done; return [.disarmStopTimer] }
                return [.disarmStopTimer, .decide(reason)]
            }

        case .decided(let decision):
            switch decision {
            case .restart(let ms) where ms <= 0:
                state = .starting
                return [.spawn(.restart)]
            case .restart(let ms):
                state = .backingOff
                return [.armRestart(ms: ms)]
            case .stop(let code, _):
                exitCode = code
                state = .done
                return []
            }

        case .stopRequested(let signal, let botAlive, let treeEmpty):
            guard state != .stopping else { return [] }
            var actions: [Action] = [.notifyStopping, .disarmRestart]
            state = .stopping
            // A reload or a leftover stop is under way: its SIGKILL deadline stands.
            if treeSignalled { return actions }
            if !botAlive && treeEmpty {
                state = .done
                exitCode = lastExit?.exitCode ?? 0
                return actions
            }
            treeSignalled = true
            // Ctrl-C (SIGINT) is passed on as itself, so the bot's own interrupt
            // handling runs; SIGTERM (a service manager, a container runtime) becomes stop_signal.
            actions.append(.signalTree(signal == SIGINT ? SIGINT : stopSignal))
            return actions

        case .restartTimerFired:
            guard state == .backingOff else { return [] }
            state = .starting
            return [.spawn(.restart)]

        case .stopTimerFired:
            guard [.draining, .restarting, .stopping].contains(state) else { return [] }
            return [.killTree]

        case .reloadRequested:
            switch state {
            case .running, .draining:
                state = .restarting
                if treeSignalled { return [] }   // leftovers already being stopped keep their deadline
                treeSignalled = true
                return [.signalTree(stopSignal)]
            case .backingOff:
                state = .starting
                return [.disarmRestart, .spawn(.restart)]
            default:
                return []   // restarting: the restart in progress starts with the newest plan
            }
        }
    }
}
