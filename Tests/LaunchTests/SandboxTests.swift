import Glibc
import Launch
import Testing

@Suite(.timeLimit(.minutes(1)))
struct SandboxTests {
    @Test func rlimitsNoNewPrivsAndSeccompAreApplied() throws {
        var request = SpawnRequest(executable: "/bin/cat", arguments: ["cat", "/proc/self/limits", "/proc/self/status"])
        request.limits = [ResourceLimit(.openFiles, soft: 1024, hard: 2048), ResourceLimit(.core, 0),
                          ResourceLimit(.addressSpace, soft: 2 << 30, hard: ResourceLimit.unlimited)]
        request.seccomp = try SeccompPolicy.denylist().compile()
        let out = try run(request)
        let text = lines(out.stdout).map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(text.contains("Max open files 1024 2048 files"))
        #expect(text.contains("Max core file size 0 0 bytes"))
        #expect(text.contains("Max address space 2147483648 unlimited bytes"))
        #expect(text.contains("NoNewPrivs:\t1"))
        #expect(text.contains("Seccomp:\t2"))
        #expect(text.contains("Seccomp_filters:\t1"))
    }

    @Test func failingRlimitNamesTheLimit() {
        var request = sh("true")
        request.limits = [ResourceLimit(.openFiles, soft: 10, hard: 5)]
        let error = spawnError(request)
        #expect(error?.description == "setrlimit RLIMIT_NOFILE to 10/5 failed: Invalid argument")
    }

    @Test func everyDefaultDenylistSyscallGetsEPERM() throws {
        let numbers = SeccompPolicy.defaultDenylist.map { SeccompPolicy.syscallNumber($0) }
        #expect(!numbers.contains(nil), "every name exists on this machine")
        var request = SpawnRequest(executable: probe, arguments: ["probe", "syscalls"] + numbers.compactMap { $0 }.map(String.init))
        request.seccomp = try SeccompPolicy.denylist().compile()
        let out = try run(request)
        #expect(out.status == .exited(0))
        let results = lines(out.stdout)
        #expect(results.count == SeccompPolicy.defaultDenylist.count)
        for (name, line) in zip(SeccompPolicy.defaultDenylist, results) {
            #expect(line.hasSuffix(" \(EPERM)"), "\(name): \(line)")
        }
    }

    @Test func extraDenyAndAllowedSyscalls() throws {
        let getppid = SeccompPolicy.syscallNumber("getppid")!
        let getpid = SeccompPolicy.syscallNumber("getpid")!
        var request = probeRequest("syscalls", String(getppid), String(getpid))
        request.seccomp = try SeccompPolicy.denylist(extra: ["getppid"]).compile()
        #expect(try run(request).stdout == "\(getppid) \(EPERM)\n\(getpid) 0\n")
    }

    @Test func killActionDiesOfSIGSYS() throws {
        var request = probeRequest("syscalls", String(SeccompPolicy.syscallNumber("ptrace")!))
        request.seccomp = try SeccompPolicy.denylist(action: .kill).compile()
        let out = try run(request)
        #expect(out.status == .signaled(SIGSYS))
        #expect(out.stdout == "")
    }

    @Test func x32ABIIsRefused() throws {
        let unfiltered = try run(probeRequest("x32"))
        #expect(unfiltered.stdout != "\(EPERM)\n", "control: without a filter x32 getpid is not EPERM")

        var request = probeRequest("x32")
        request.seccomp = try SeccompPolicy.denylist().compile()
        #expect(try run(request).stdout == "\(EPERM)\n")
        request.seccomp = try SeccompPolicy.denylist(action: .kill).compile()
        #expect(try run(request).status == .signaled(SIGSYS))
    }

    @Test func i386ABIIsRefused() throws {
        let unfiltered = try run(probeRequest("i386"))
        guard unfiltered.status == .exited(0), let pid = Int(unfiltered.stdout.dropLast()), pid > 0 else {
            // int 0x80 without IA32 emulation never reaches seccomp.
            print("skipping the i386 check: int 0x80 is not available here (\(unfiltered.status))")
            return
        }
        var request = probeRequest("i386")
        request.seccomp = try SeccompPolicy.denylist().compile()
        #expect(try run(request).stdout == "-\(EPERM)\n")
    }

    @Test func allowlistPolicyRefusesEverythingElse() throws {
        let policy = """
            # what a dynamically linked C program needs to start and print
            brk: 1
            arch_prctl
            mmap
            munmap
            mprotect
            access
            openat
            newfstatat
            fstat
            read
            pread64
            close
            set_tid_address
            set_robust_list
            rseq
            prlimit64
            getrandom
            getpid  # the probe's allowed call
            """
        let getppid = SeccompPolicy.syscallNumber("getppid")!
        let getpid = SeccompPolicy.syscallNumber("getpid")!
        var request = probeRequest("syscalls", String(getpid), String(getppid))
        request.seccomp = try SeccompPolicy.allowlist(parsing: policy, origin: "probe.policy").compile()
        let out = try run(request)
        #expect(out.stdout == "\(getpid) 0\n\(getppid) \(EPERM)\n", "\(out.stderr)")
    }

    @Test func noExecRefusesEveryExecAfterTheBotsOwn() throws {
        let script = """
            print("python ran", flush=True)
            import subprocess
            subprocess.run(["/bin/true"])
            """
        // A bare name: each PATH candidate is one of the child's own execve calls.
        var request = SpawnRequest(executable: "python3", arguments: ["python3", "-c", script])
        request.noExec = true
        request.seccomp = try SeccompPolicy.denylist().compile()
        let out = try run(request, env: ["PATH=/nonexistent:/usr/bin"])
        #expect(out.stdout == "python ran\n")
        #expect(out.stderr.contains("PermissionError: [Errno 1] Operation not permitted"), "\(out.stderr)")
        #expect(out.status == .exited(1))
        #expect(out.deniedExecs == 1)
    }

    @Test func noExecStacksOnTopOfTheDenyFilter() throws {
        var request = SpawnRequest(executable: "/bin/cat", arguments: ["cat", "/proc/self/status"])
        request.noExec = true
        request.seccomp = try SeccompPolicy.denylist().compile()
        let status = lines(try run(request).stdout)
        #expect(status.contains("Seccomp_filters:\t2"))
        #expect(status.contains("NoNewPrivs:\t1"))
    }

    @Test func noExecFailureStillReportsTheStage() {
        var request = SpawnRequest(executable: "/nonexistent/bot")
        request.noExec = true
        #expect(spawnError(request)?.stage == .execve)
    }

    @Test(.enabled(if: getuid() == 0, "needs root to drop privileges (run the tests as root)"))
    func dropsToNobody() throws {
        let nobody = try Credentials.resolveUser("nobody")
        #expect(nobody.uid == 65534)
        var request = SpawnRequest(executable: "/bin/cat", arguments: ["cat", "/proc/self/status"])
        request.credentials = nobody
        let status = lines(try run(request).stdout)
        #expect(status.contains("Uid:\t65534\t65534\t65534\t65534"))
        #expect(status.contains("Gid:\t\(nobody.gid)\t\(nobody.gid)\t\(nobody.gid)\t\(nobody.gid)"))
        #expect(status.contains("Groups:\t" + nobody.groups.map(String.init).joined(separator: " ") + " "))
        #expect(status.contains("CapEff:\t0000000000000000"))
    }

    @Test(.enabled(if: getuid() == 0, "needs root to drop privileges (run the tests as root)"))
    func parentDeathSignalSurvivesTheDrop() throws {
        var request = probeRequest("pdeathsig")
        request.credentials = try Credentials.resolveUser("nobody")
        request.parentDeathSignal = SIGKILL
        #expect(try run(request).stdout == "\(SIGKILL)\n")
    }

    @Test(.enabled(if: getuid() != 0, "as root setgroups succeeds"))
    func dropWithoutRootFails() {
        var request = sh("true")
        request.credentials = Credentials(uid: 65534, gid: 65534, groups: [])
        #expect(spawnError(request)?.stage == .setgroups)
    }
}
