import Glibc
import Launch
import Testing

@Suite(.timeLimit(.minutes(1)))
struct SpawnTests {
    @Test func exitCodeIsPassedThrough() throws {
        let out = try run(sh("exit 7"))
        #expect(out.status == .exited(7))
        #expect(out.status.shellCode == 7)
    }

    @Test func deathBySignalIsReported() throws {
        let out = try run(sh("kill -TERM $$"))
        #expect(out.status == .signaled(15))
        #expect(out.status.shellCode == 143)
    }

    @Test func missingProgramFailsAtExecveWithENOENT() {
        let error = spawnError(SpawnRequest(executable: "/nonexistent/bot"))
        #expect(error?.stage == .execve)
        #expect(error == .spawn(stage: .execve, errno: ENOENT, context: "execve \"/nonexistent/bot\""))
        #expect(error?.description == "execve \"/nonexistent/bot\" failed: No such file or directory")
        #expect(error?.exitCode == 127)
    }

    @Test func nonExecutableFileFailsWithEACCES() {
        let path = scratchDir + "/not-executable"
        writeFile(path, "#!/bin/sh\nexit 0\n", mode: 0o644)
        let error = spawnError(SpawnRequest(executable: path))
        #expect(error?.stage == .execve)
        if case let .spawn(_, errno, _)? = error { #expect(errno == EACCES) }
        #expect(error?.exitCode == 126)
    }

    @Test func bareNameIsSearchedInTheChildPATH() throws {
        let env = ["PATH=/nonexistent:/usr/bin:/bin"]
        let out = try run(SpawnRequest(executable: "sh", arguments: ["sh", "-c", "echo found"]), env: env)
        #expect(out.stdout == "found\n")
        let error = spawnError(SpawnRequest(executable: "no-such-program-rwk"), env: env)
        #expect(error?.stage == .execve)
        #expect(error?.exitCode == 127)
    }

    @Test func failingStageIsNamed() {
        var request = sh("true")
        request.workdir = "/nonexistent-rwk-dir"
        let error = spawnError(request)
        #expect(error?.stage?.name == "chdir")
        #expect(error?.description == "chdir to \"/nonexistent-rwk-dir\" failed: No such file or directory")
        #expect(error?.exitCode == 125)
    }

    @Test func stageNamesMatchTheCShim() {
        for stage in SpawnStage.allCases { #expect(stage.name != "unknown", "\(stage)") }
        #expect(SpawnStage.setsid.name == "setsid")
        #expect(SpawnStage.setuid.name == "setuid")
        #expect(SpawnStage.seccomp.name == "seccomp")
        #expect(SpawnStage.execve.name == "execve")
    }

    @Test func environmentIsExactlyWhatWasPassed() throws {
        let env = ["A=1", "B=two words", "EMPTY=", "MULTI=line1\nline2"]
        let out = try run(SpawnRequest(executable: "/usr/bin/env", arguments: ["env"]), env: env)
        #expect(out.status == .exited(0))
        #expect(out.stdout == env.joined(separator: "\n") + "\n")
    }

    @Test func workdirIsApplied() throws {
        var request = SpawnRequest(executable: "/bin/pwd", arguments: ["pwd"])
        request.workdir = "/usr/share"
        #expect(try run(request).stdout == "/usr/share\n")
    }

    @Test func memfdMappedToFd3IsReadableAndNothingElseLeaks() throws {
        let secret = "s3cr3t-value\n"
        let fd = try secret.withCString { try Memfd.sealed(name: "rwk-test", contents: UnsafeRawBufferPointer(start: $0, count: strlen($0))) }
        defer { close(fd) }
        // An fd the parent forgot to mark close-on-exec must not reach the child either.
        let stray = open("/dev/null", O_RDONLY)
        defer { close(stray) }

        var request = SpawnRequest(executable: "/bin/cat", arguments: ["cat", "/proc/self/fd/3"])
        request.fds = [FdMapping(fd, to: 3)]
        #expect(try run(request).stdout == secret)

        var fds = probeRequest("fds")
        fds.fds = [FdMapping(fd, to: 3)]
        #expect(try run(fds).stdout == "0 1 2 3\n")
        // ls itself holds one more fd (the directory it reads).
        var ls = SpawnRequest(executable: "/bin/ls", arguments: ["ls", "/proc/self/fd"])
        ls.fds = [FdMapping(fd, to: 3)]
        #expect(try run(ls).stdout == "0\n1\n2\n3\n4\n")
    }

    @Test func overlappingFdMapSwapsFds() throws {
        let a = try "AAA".withCString { try Memfd.sealed(name: "a", contents: UnsafeRawBufferPointer(start: $0, count: 3)) }
        let b = try "BBB".withCString { try Memfd.sealed(name: "b", contents: UnsafeRawBufferPointer(start: $0, count: 3)) }
        defer { close(a); close(b) }
        var request = sh("cat /proc/self/fd/\(a); echo; cat /proc/self/fd/\(b)")
        request.fds = [FdMapping(a, to: b), FdMapping(b, to: a)]
        #expect(try run(request).stdout == "BBB\nAAA")
    }

    @Test func sharedOffsetIsRewound() throws {
        let fd = try "payload".withCString { try Memfd.sealed(name: "offset", contents: UnsafeRawBufferPointer(start: $0, count: 7)) }
        defer { close(fd) }
        var request = sh("cat <&3")
        request.fds = [FdMapping(fd, to: 3)]
        #expect(try run(request).stdout == "payload")
        #expect(try run(request).stdout == "", "without rewind the second child reads from the end")
        request.fds = [FdMapping(fd, to: 3, rewind: true)]
        #expect(try run(request).stdout == "payload")
        #expect(try run(request).stdout == "payload")
    }

    @Test func memfdIsSealed() throws {
        let fd = try "x".withCString { try Memfd.sealed(name: "sealed", contents: UnsafeRawBufferPointer(start: $0, count: 1)) }
        defer { close(fd) }
        #expect(write(fd, "y", 1) == -1 && errno == EPERM)
        #expect(ftruncate(fd, 0) == -1 && errno == EPERM)
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        var byte: UInt8 = 0
        #expect(pread(fd, &byte, 1, 0) == 1 && byte == UInt8(ascii: "x"))
    }

    @Test func sessionAndProcessGroup() throws {
        func ids(_ session: SpawnRequest.Session) throws -> [Int32] {
            var request = probeRequest("ids")
            request.session = session
            return try run(request).stdout.split(separator: " ").map { Int32($0.trimmingCharacters(in: "\n"))! }
        }
        let newSession = try ids(.newSession)
        #expect(newSession[0] == newSession[1] && newSession[1] == newSession[2])
        let newGroup = try ids(.newProcessGroup)
        #expect(newGroup[0] == newGroup[1] && newGroup[2] == getsid(0))
        let inherit = try ids(.inherit)
        #expect(inherit[1] == getpgrp() && inherit[2] == getsid(0))
    }

    @Test func signalsAreResetForTheChild() throws {
        let previous = signal(SIGUSR1, SIG_IGN)
        defer { signal(SIGUSR1, previous) }
        let out = try run(SpawnRequest(executable: "/bin/cat", arguments: ["cat", "/proc/self/status"]))
        let status = lines(out.stdout)
        #expect(status.contains("SigIgn:\t0000000000000000"))
        #expect(status.contains("SigBlk:\t0000000000000000"))
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let last = s.last, set.contains(last) { s = s.dropLast() }
        return s
    }
}
