import Glibc
import Launch
import Testing

/// Blocks until `pid` (a child of this process) terminates, and reaps it.
/// (Only tests wait this way; the supervisor waits on pidfds.)
func waitExit(_ pid: pid_t) throws(LaunchError) -> ExitStatus {
    var status: Int32 = 0
    try sys("waitpid \(pid)") { waitpid(pid, &status, 0) }
    return ExitStatus(waitStatus: status)
}

/// A NULL-terminated C string array, like the env block the CLI builds in
/// guarded memory (here plain malloc: test values are not secret).
final class CStrings {
    let pointer: UnsafeMutablePointer<UnsafePointer<CChar>?>
    private let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (i, s) in strings.enumerated() { pointer[i] = UnsafePointer(strdup(s)!) }
        pointer[strings.count] = nil
    }

    var env: UnsafePointer<UnsafePointer<CChar>?> { UnsafePointer(pointer) }

    deinit {
        for i in 0..<count { free(UnsafeMutablePointer(mutating: pointer[i])) }
        pointer.deallocate()
    }
}

// Swift Testing has an ExitStatus of its own.
typealias ExitStatus = Launch.ExitStatus

let basicEnv = ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"]

struct Output {
    var status: ExitStatus
    var stdout: String
    var stderr: String
    var deniedExecs: Int
}

/// A close-on-exec pipe: (read end, write end).
func makePipe() -> (Int32, Int32) {
    var fds: [Int32] = [-1, -1]
    precondition(pipe(&fds) == 0)
    // Other tests fork concurrently: mark both ends at once (the shim closes
    // any stray fd at exec anyway).
    _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
    return (fds[0], fds[1])
}

/// Spawns `request` with stdout and stderr captured, serves its ExecGuard if
/// any, reads both pipes to EOF, reaps the child and closes every fd.
func run(_ request: SpawnRequest, env: [String] = basicEnv) throws -> Output {
    var request = request
    let (outR, outW) = makePipe()
    let (errR, errW) = makePipe()
    request.stdout = outW
    request.stderr = errW
    let strings = CStrings(env)
    let process: SpawnedProcess
    do {
        process = try spawn(request, environment: strings.env)
    } catch {
        [outR, outW, errR, errW].forEach { close($0) }
        throw error
    }
    close(outW)
    close(errW)
    defer { close(process.pidfd) }
    var out: [UInt8] = [], err: [UInt8] = []
    var open: [Int32] = [outR, errR]
    var buf = [UInt8](repeating: 0, count: 4096)
    while !open.isEmpty {
        var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if let g = process.execGuard { fds.append(pollfd(fd: g.fd, events: Int16(POLLIN), revents: 0)) }
        guard poll(&fds, nfds_t(fds.count), 10_000) > 0 else { Issue.record("child output timed out"); break }
        for p in fds where p.revents != 0 {
            if let g = process.execGuard, p.fd == g.fd {
                if p.revents & Int16(POLLIN) != 0 { try g.handleOne() }
                continue
            }
            let n = read(p.fd, &buf, buf.count)
            if n <= 0 {
                close(p.fd)
                open.removeAll { $0 == p.fd }
            } else if p.fd == outR {
                out += buf[..<n]
            } else {
                err += buf[..<n]
            }
        }
    }
    open.forEach { close($0) }
    if let g = process.execGuard { try g.serve(untilExitOf: process.pidfd) }
    let status = try waitExit(process.pid)
    return Output(status: status, stdout: String(decoding: out, as: UTF8.self),
                  stderr: String(decoding: err, as: UTF8.self),
                  deniedExecs: process.execGuard?.deniedCount ?? 0)
}

/// The error `spawn` throws for `request`; records an issue if it succeeds.
func spawnError(_ request: SpawnRequest, env: [String] = basicEnv) -> LaunchError? {
    let strings = CStrings(env)
    do {
        let p = try spawn(request, environment: strings.env)
        _ = try? waitExit(p.pid)
        close(p.pidfd)
        Issue.record("spawn of \(request.executable) unexpectedly succeeded")
        return nil
    } catch {
        return error
    }
}

func sh(_ script: String) -> SpawnRequest {
    SpawnRequest(executable: "/bin/sh", arguments: ["sh", "-c", script])
}

/// A temporary directory (0755, so a dropped uid can use it) removed at exit.
let scratchDir: String = {
    var template = Array("/tmp/rwk-launch-tests.XXXXXX".utf8CString)
    let dir = String(cString: mkdtemp(&template)!)
    chmod(dir, 0o755)
    scratchToRemove = dir
    atexit {
        if let dir = scratchToRemove {
            let strings = CStrings(["PATH=/usr/bin:/bin"])
            if let p = try? spawn(SpawnRequest(executable: "/bin/rm", arguments: ["rm", "-rf", dir]),
                                  environment: strings.env) {
                _ = try? waitExit(p.pid)
                close(p.pidfd)
            }
        }
    }
    return dir
}()
nonisolated(unsafe) private var scratchToRemove: String?

func writeFile(_ path: String, _ contents: String, mode: mode_t = 0o644) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    precondition(fd >= 0, "open \(path)")
    _ = contents.withCString { write(fd, $0, strlen($0)) }
    fchmod(fd, mode)
    close(fd)
}

/// A tiny C program, compiled once with cc, that makes raw syscalls for the
/// sandbox tests:
///   probe syscalls NR…   one "NR ERRNO" line per raw syscall (0 when it succeeded)
///   probe x32            the errno of getpid through the x32 ABI
///   probe i386           the result of getpid through int 0x80
///   probe fds            the open fds, without the one used to list them
///   probe pdeathsig      PR_GET_PDEATHSIG
///   probe ids            pid pgrp sid
let probe: String = {
    let source = scratchDir + "/probe.c"
    let binary = scratchDir + "/probe"
    writeFile(source, probeSource)
    let out = try! run(SpawnRequest(executable: "cc", arguments: ["cc", "-O1", "-o", binary, source]))
    precondition(out.status == .exited(0), "compiling the probe failed: \(out.stderr)")
    return binary
}()

private let probeSource = #"""
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *cmd = argv[1];
    if (!strcmp(cmd, "syscalls")) {
        for (int i = 2; i < argc; i++) {
            long nr = atol(argv[i]);
            errno = 0;
            long r = syscall(nr, 0, 0, 0, 0, 0, 0);
            printf("%ld %d\n", nr, r == -1 ? errno : 0);
            fflush(stdout);
        }
    } else if (!strcmp(cmd, "x32")) {
        errno = 0;
        long r = syscall(0x40000000L | SYS_getpid);
        printf("%d\n", r == -1 ? errno : 0);
    } else if (!strcmp(cmd, "i386")) {
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
        printf("%ld\n", r);
    } else if (!strcmp(cmd, "fds")) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        const char *sep = "";
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
            printf("%s%s", sep, e->d_name);
            sep = " ";
        }
        printf("\n");
    } else if (!strcmp(cmd, "pdeathsig")) {
        int sig = -1;
        prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
        printf("%d\n", sig);
    } else if (!strcmp(cmd, "ids")) {
        printf("%d %d %d\n", getpid(), getpgrp(), getsid(0));
    } else {
        return 2;
    }
    return 0;
}
"""#

func probeRequest(_ args: String...) -> SpawnRequest {
    SpawnRequest(executable: probe, arguments: ["probe"] + args)
}

/// The lines of /proc/self/status (or limits) as the child sees them.
func lines(_ s: String) -> [String] { s.split(separator: "\n").map(String.init) }
