import Glibc
import Launch
import Testing

@Suite struct PolicyTests {
    @Test func defaultDenylistCoversTheDesign() {
        for name in ["ptrace", "process_vm_readv", "process_vm_writev", "kexec_load", "kexec_file_load",
                     "init_module", "finit_module", "delete_module", "bpf", "perf_event_open", "mount",
                     "umount2", "pivot_root", "swapon", "swapoff", "reboot", "setns", "keyctl", "add_key",
                     "request_key", "userfaultfd", "open_by_handle_at"] {
            #expect(SeccompPolicy.defaultDenylist.contains(name), "\(name)")
        }
        #expect(!SeccompPolicy.defaultDenylist.contains("unshare"))
    }

    @Test func unknownSyscallIsNamed() {
        #expect(throws: LaunchError.unknownSyscall(name: "fooo", origin: "[sandbox] deny")) {
            try SeccompPolicy.denylist(extra: ["fooo"]).compile()
        }
        let error = LaunchError.unknownSyscall(name: "fooo", origin: "[sandbox] deny")
        #expect(error.description == "unknown syscall \"fooo\" in [sandbox] deny")
    }

    @Test func compiledFilterIsWholeInstructions() throws {
        let bpf = try SeccompPolicy.denylist().compile()
        #expect(bpf.bytes.count % 8 == 0)
        #expect(bpf.instructionCount > SeccompPolicy.defaultDenylist.count)
    }

    @Test func policyFileParses() throws {
        let text = """
            # bot.policy
            read
            write: 1   # same as "write"

            \texit_group\t
            """
        let policy = try SeccompPolicy.allowlist(parsing: text, origin: "bot.policy")
        #expect(policy.kind == .allowlist)
        #expect(policy.rules == [.init("read", origin: "bot.policy:2"), .init("write", origin: "bot.policy:3"),
                                 .init("exit_group", origin: "bot.policy:5")])
    }

    @Test func policyFileRefusesWhatItCannotHonour() {
        #expect(throws: LaunchError.policy(origin: "p:1", message: "only \"ioctl\" or \"ioctl: 1\" is supported, not argument filters or return values (\"arg1 == 5\")")) {
            try SeccompPolicy.allowlist(parsing: "ioctl: arg1 == 5", origin: "p")
        }
        #expect(throws: LaunchError.self) { try SeccompPolicy.allowlist(parsing: "read\n@include other.policy", origin: "p") }
        #expect(throws: LaunchError.self) { try SeccompPolicy.allowlist(parsing: "open at", origin: "p") }
        #expect(throws: LaunchError.unknownSyscall(name: "fooo", origin: "p:2")) {
            try SeccompPolicy.allowlist(parsing: "read\nfooo\n", origin: "p").compile()
        }
    }

    @Test func policyFileIsReadFromDisk() throws {
        let path = scratchDir + "/disk.policy"
        writeFile(path, "read\nwrite\n")
        let policy = try SeccompPolicy.allowlist(contentsOf: path, action: .kill)
        #expect(policy.rules.map(\.name) == ["read", "write"])
        #expect(policy.action == .kill)
        #expect(throws: LaunchError.system(call: "open /nonexistent.policy", errno: ENOENT)) {
            try SeccompPolicy.allowlist(contentsOf: "/nonexistent.policy")
        }
    }

    @Test func unknownUserIsAnError() {
        #expect(throws: LaunchError.unknownUser("nosuchuser")) { try Credentials.resolveUser("nosuchuser") }
        #expect(LaunchError.unknownUser("nosuchuser").description == "unknown user \"nosuchuser\"")
        #expect(throws: LaunchError.unknownGroup("nosuchgroup")) { try Credentials.resolveUser("nobody", group: "nosuchgroup") }
    }

    @Test func usersResolve() throws {
        let root = try Credentials.resolveUser("root")
        #expect(root.uid == 0 && root.gid == 0 && root.groups.contains(0))
        #expect(try Credentials.resolveUser("0") == root)
        let nobody = try Credentials.resolveUser("nobody", group: "root")
        #expect(nobody.uid == 65534 && nobody.gid == 0)
        let numeric = try Credentials.resolveUser("4242")
        #expect(numeric == Credentials(uid: 4242, gid: 4242, groups: [4242]))
    }

    @Test func exitStatusDecodes() {
        #expect(ExitStatus(waitStatus: 7 << 8) == .exited(7))
        #expect(ExitStatus(waitStatus: 9) == .signaled(9))
        #expect(ExitStatus(waitStatus: 0x80 | 11) == .signaled(11)) // core dumped
        #expect(ExitStatus.signaled(9).shellCode == 137)
    }
}
