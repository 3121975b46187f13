import Glibc
import Launch
import Testing

/// The fds and child processes of this process, read from /proc.
private func openFds() -> [String] {
    guard let dir = opendir("/proc/self/fd") else { return [] }
    defer { closedir(dir) }
    var result: [String] = []
    var buf = [CChar](repeating: 0, count: 256)
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        guard let fd = Int32(name), fd != dirfd(dir) else { continue }
        let n = readlink("/proc/self/fd/\(name)", &buf, buf.count - 1)
        result.append("\(fd) -> " + (n > 0 ? String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"))
    }
    return result.sorted()
}

private func childPids() -> [String] {
    var all: [String] = []
    guard let dir = opendir("/proc/self/task") else { return [] }
    defer { closedir(dir) }
    while let entry = readdir(dir) {
        let tid = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        guard Int(tid) != nil, let f = fopen("/proc/self/task/\(tid)/children", "r") else { continue }
        var buf = [CChar](repeating: 0, count: 4096)
        while fgets(&buf, Int32(buf.count), f) != nil {
            all += String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ").map(String.init).filter { !$0.hasPrefix("\n") && !$0.isEmpty }
        }
        fclose(f)
    }
    return all
}

@Suite(.timeLimit(.minutes(1)))
struct LeakTests {
    /// Runs in a process of its own (an exit test), so no other test's fds
    /// or children blur the picture.
    @Test func spawnsLeaveNoFdsAndNoZombies() async {
        await #expect(processExitsWith: .success) {
            _ = probe // compile first: that spawns too, but it is not what we measure
            let before = openFds()
            _ = try run(sh("exit 3"))
            var failing = sh("true")
            failing.workdir = "/nonexistent-rwk-dir"
            _ = spawnError(failing)
            _ = spawnError(SpawnRequest(executable: "/nonexistent/bot"))
            var guarded = sh("exec /bin/true")
            guarded.noExec = true
            guarded.seccomp = try SeccompPolicy.denylist().compile()
            _ = try run(guarded)
            var guardedFailing = SpawnRequest(executable: "/nonexistent/bot")
            guardedFailing.noExec = true
            _ = spawnError(guardedFailing)
            let after = openFds()
            let children = childPids()
            if before != after || !children.isEmpty {
                print("fds before: \(before)\nfds after: \(after)\nchildren: \(children)")
                exit(1)
            }
        }
    }
}
