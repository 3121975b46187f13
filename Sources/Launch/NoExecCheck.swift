import Glibc
import Profile
import Vault

/// `[sandbox] no_exec` refuses every execve after the bot's own. A command
/// whose real program is started by a second exec can then never run:
/// `/usr/bin/env python3`, a `#!/usr/bin/env python3` script, or a version
/// manager's shim (pyenv, asdf, mise, rbenv, nodenv: scripts that exec the
/// real interpreter). A `#!/usr/bin/python3` script is fine: the kernel runs
/// the interpreter within the bot's own execve.
enum NoExecCheck {
    /// Refuses such a command, naming the program that would have to be
    /// exec'd and what to do.
    /// - Throws: `PlanError` (exit 125) with a hint naming no_exec and the resolved interpreter.
    static func check(executable: String, arguments: [String], childPath: String, profile: Profile) throws(PlanError) {
        guard profile.sandbox.noExec else { return }
        let name = Sys.basename(executable)
        if name == "env" {
            let target = arguments.dropFirst().first { !$0.hasPrefix("-") && !$0.contains("=") } ?? "the program"
            throw refusal(executable, starts: target, childPath: childPath, profile: profile)
        }
        for dir in shimDirectories where executable.contains(dir) {
            throw PlanError("\(profile.path): no_exec = true, but \(executable) is a version manager's shim: it execs the real interpreter, which no_exec refuses",
                            hints: ["put the real interpreter in `command` (e.g. the path `pyenv which python3` or `asdf which python3` prints), or set no_exec = false"])
        }
        guard let line = shebang(executable) else { return }
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let interpreter = words.first else { return }
        if Sys.basename(interpreter) == "env" {
            let target = words.dropFirst().first { !$0.hasPrefix("-") && !$0.contains("=") } ?? "the interpreter"
            throw refusal(executable + " (#!" + line + ")", starts: target, childPath: childPath, profile: profile)
        }
        for dir in shimDirectories where interpreter.contains(dir) {
            throw PlanError("\(profile.path): no_exec = true, but \(executable) runs \(interpreter), a version manager's shim that execs the real interpreter, which no_exec refuses",
                            hints: ["point the script's #! line or `command` at the real interpreter, or set no_exec = false"])
        }
    }

    /// Directories of shims that exec the real program.
    static let shimDirectories = ["/.pyenv/shims/", "/.asdf/shims/", "/mise/shims/", "/.rbenv/shims/", "/.nodenv/shims/"]

    static func refusal(_ what: String, starts target: String, childPath: String, profile: Profile) -> PlanError {
        let resolved = target.contains("/") ? target
            : (try? LaunchPlan.resolveExecutable(target, path: childPath, profile: profile)) ?? target
        return PlanError("\(profile.path): no_exec = true, but \(what) starts \(target) with a second execve, which no_exec refuses",
                         hints: ["put the interpreter itself in `command`: [\"\(resolved)\", …], or set no_exec = false"])
    }

    /// The `#!` line of a script (without "#!"), nil for anything else.
    static func shebang(_ path: String) -> String? {
        guard let (fd, _) = try? RegularFile.open(path) else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 256)
        let n = read(fd, &buf, buf.count)
        guard n > 2, buf[0] == UInt8(ascii: "#"), buf[1] == UInt8(ascii: "!") else { return nil }
        let line = buf[2..<n].prefix { $0 != UInt8(ascii: "\n") }
        return String(decoding: line, as: UTF8.self).trimmingSpaces
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
