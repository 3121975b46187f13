import Testing
import CLaunch
@testable import Launch

/// The Swift and C stage lists agree, and both are numbered in the order the stages run.
@Suite struct SpawnStageTests {
    /// Every stage, in the order a spawn runs them, with the C constant it mirrors.
    static let inRunOrder: [(SpawnStage, Int, String)] = [
        (.none, RWK_STAGE_NONE, "none"),
        (.config, RWK_STAGE_CONFIG, "config"),
        (.pipe, RWK_STAGE_PIPE, "pipe"),
        (.fork, RWK_STAGE_FORK, "fork"),
        (.pidNamespace, RWK_STAGE_PID_NAMESPACE, "pid namespace"),
        (.treeInit, RWK_STAGE_TREE_INIT, "tree init"),
        (.setsid, RWK_STAGE_SETSID, "setsid"),
        (.controllingTerminal, RWK_STAGE_CTTY, "controlling tty"),
        (.setpgid, RWK_STAGE_SETPGID, "setpgid"),
        (.signals, RWK_STAGE_SIGNALS, "signals"),
        (.parentDeathSignal, RWK_STAGE_PDEATHSIG, "parent-death signal"),
        (.fdMap, RWK_STAGE_FD_MAP, "fd map"),
        (.rlimit, RWK_STAGE_RLIMIT, "rlimit"),
        (.boundingSet, RWK_STAGE_BOUNDING_SET, "capability bounding set"),
        (.setgroups, RWK_STAGE_SETGROUPS, "setgroups"),
        (.setgid, RWK_STAGE_SETGID, "setgid"),
        (.setuid, RWK_STAGE_SETUID, "setuid"),
        (.dropCheck, RWK_STAGE_DROP_CHECK, "drop check"),
        (.capabilities, RWK_STAGE_CAPABILITIES, "capabilities"),
        (.chdir, RWK_STAGE_CHDIR, "chdir"),
        (.closeFds, RWK_STAGE_CLOSE_FDS, "close fds"),
        (.noNewPrivileges, RWK_STAGE_NO_NEW_PRIVS, "no_new_privs"),
        (.landlock, RWK_STAGE_LANDLOCK, "landlock"),
        (.seccomp, RWK_STAGE_SECCOMP, "seccomp"),
        (.seccompNotify, RWK_STAGE_SECCOMP_NOTIFY, "seccomp notify"),
        (.sendListener, RWK_STAGE_SEND_LISTENER, "send listener"),
        (.execve, RWK_STAGE_EXECVE, "execve"),
        (.pidfdOpen, RWK_STAGE_PIDFD, "pidfd_open"),
        (.receiveListener, RWK_STAGE_RECV_LISTENER, "recv listener"),
    ]

    @Test func swiftAndCAgree() {
        #expect(Self.inRunOrder.count == SpawnStage.allCases.count)
        #expect(Int(SpawnStage.cCount) == RWK_STAGE_COUNT)
        #expect(SpawnStage.allCases.count == RWK_STAGE_COUNT)
        for (stage, c, name) in Self.inRunOrder {
            #expect(Int(stage.rawValue) == c, "\(stage)")
            #expect(stage.name == name, "\(stage)")
        }
        #expect(String(cString: rwk_stage_name(Int32(RWK_STAGE_COUNT))) == "unknown")
    }

    @Test func numberedInRunOrder() {
        let numbers = Self.inRunOrder.map(\.1)
        #expect(numbers == Array(0..<numbers.count), "stage numbers must follow the run order without gaps")
        #expect(SpawnStage.allCases.map { Int($0.rawValue) } == numbers)
    }
}
