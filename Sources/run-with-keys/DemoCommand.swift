import ArgumentParser
import Glibc
import Age
import Vault
import Launch

/// `run-with-keys demo`: the whole job once, in a throwaway home, with nothing to set up.
///
/// It drives this very binary (`/proc/self/exe`) as a user would: `init`, `set`
/// (the value piped in from guarded memory), and `run` of a small `/bin/sh` bot,
/// so the demo takes the real launch path: vault, sandbox, supervisor, redaction.
/// The throwaway home is removed at the end, also when a step fails.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show the whole job in a throwaway home: make a vault, store a generated key, run a bot with it; then clean up.",
        discussion: "Needs no set-up and changes nothing outside a temporary directory, which it removes. Exit 0 when every step worked.")

    /// The demo bot: proves it has the key (a fingerprint), prints it (redacted by the
    /// supervisor), and tries to read the vault's identity file ($1; refused by Landlock).
    static let script = """
        fp=$(printf %s "$DEMO_KEY" | sha256sum | cut -c1-16)
        echo "  bot: I got DEMO_KEY; its sha256 starts with $fp"
        echo "  bot: and here it is, printed in full: $DEMO_KEY"
        echo "  bot: it is also a sealed in-memory file: $DEMO_KEY_FILE ($(wc -c < "$DEMO_KEY_FILE") bytes)"
        if cat "$1" > /dev/null 2> /dev/null; then
            echo "  bot: I could read $1: this kernel has no Landlock, so only file modes protect it"
        else
            echo "  bot: reading $1 failed: $(cat "$1" 2>&1 > /dev/null | sed 's/.*: //')"
        fi
        exit 0
        """

    func run() throws {
        let base = Sys.getenv("TMPDIR").flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/tmp"
        var template = Array((base + "/run-with-keys-demo.XXXXXX").utf8CString)
        guard mkdtemp(&template) != nil else { throw CLIError("can't create a temporary directory in \(base): \(Sys.errnoString())") }
        let dir = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { Self.removeTree(dir) }
        let home = dir + "/home"
        let identity = home + "/identity.txt"
        let common = ["--home", home, "--identity", identity, "--vault", home + "/vault.age"]
        func say(_ s: String) { Output.out(s + "\n") }

        say("run-with-keys demo, in a throwaway home: \(home)\n")
        say("1. `run-with-keys init`: a new age identity (0600) and an empty encrypted vault")
        try Self.child(["init"] + common, what: "init")
        say("   \(identity) and \(home)/vault.age\n")

        say("2. `run-with-keys set demo/key`: 32 random bytes, hex-encoded (64 characters), piped in, stored encrypted")
        let random = SecretBytes.random(count: 32)
        var hex = SecretBuilder(capacity: 64)
        random.withUnsafeBytes { for b in $0 { hex.append(Array("0123456789abcdef".utf8)[Int(b >> 4)]); hex.append(Array("0123456789abcdef".utf8)[Int(b & 15)]) } }
        let value = hex.finish()
        try Self.spawn(["set", "demo/key"] + common, what: "set", quiet: true) { fd in
            _ = value.withUnsafeBytes { Sys.writeAll(fd, $0) }
        }
        say("   the value was never on a command line, in a file or in the environment\n")

        say("3. `run-with-keys run demo`: the bot starts with DEMO_KEY, in a sandbox, under a supervisor")
        let profile = home + "/profiles/demo.toml"
        try Sys.makeDirectories(home + "/profiles")
        let text = """
            description = "run-with-keys demo bot"
            command = ["/bin/sh", "-c", \(GeneratedProfile.quote(Self.script)), "demo-bot", \(GeneratedProfile.quote(identity))]
            [env]
            set = { PATH = "\(LaunchPlan.defaultPath)" }
            [keys]
            DEMO_KEY = "demo/key"
            DEMO_KEY_FILE = { secret = "demo/key", as = "file" }

            """
        let (fd, e) = Sys.open(profile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError("can't write \(profile): \(Sys.errnoString(e))") }
        let rc = Sys.writeAll(fd, Array(text.utf8).withUnsafeBytes { UnsafeRawBufferPointer($0) })
        close(fd)
        guard rc == 0 else { throw CLIError("can't write \(profile): \(Sys.errnoString(rc))") }
        try Self.child(["run"] + common + ["--launch-log", dir + "/launches.log", profile], what: "run", quiet: false)
        say("")
        say("What happened: the supervisor replaced the key in the bot's output with [redacted:demo/key];")
        say("where the kernel has Landlock, the sandbox hid the vault's identity file from the bot (`check` lists what it hides).")
        say("4. cleaned up: \(dir) is removed. Next: `run-with-keys init`, then `run-with-keys set NAME` for your own keys.")
    }

    /// Runs this binary with `args`, stdin empty. Quiet children's
    /// output is shown only when they fail. A failure is an error naming the step.
    static func child(_ args: [String], what: String, quiet: Bool = true) throws {
        try spawn(args, what: what, quiet: quiet) { _ in }
    }

    /// Runs this binary with `args`; `feed` writes its stdin.
    static func spawn(_ args: [String], what: String, quiet: Bool, feed: (Int32) -> Void) throws {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0 else { throw CLIError("pipe: \(Sys.errnoString())") }
        for fd in inPipe + outPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        if quiet {
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 2)
        }
        // The demo's children see no RUN_WITH_KEYS_* settings of the caller.
        var env: [UnsafeMutablePointer<CChar>?] = []
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if !s.hasPrefix("RUN_WITH_KEYS_") && !s.hasPrefix("NOTIFY_SOCKET=") && !s.hasPrefix("CREDENTIALS_DIRECTORY=") { env.append(strdup(entry)) }
            p += 1
        }
        env.append(nil)
        let argv: [UnsafeMutablePointer<CChar>?] = (["run-with-keys"] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) }; for e in env { free(e) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/proc/self/exe", &actions, nil, argv, env)
        close(inPipe[0]); close(outPipe[1])
        defer { close(outPipe[0]) }
        guard rc == 0 else { close(inPipe[1]); throw CLIError("demo: can't start run-with-keys \(what): \(Sys.errnoString(rc))") }
        feed(inPipe[1])
        close(inPipe[1])
        var captured: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { read(outPipe[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            captured += buf[..<n]
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard code == 0 else {
            if quiet { Sys.writeAll(2, String(decoding: captured, as: UTF8.self)) }
            throw CLIError("demo: `run-with-keys \(what)` failed with exit code \(code)", hints: ["the temporary home was removed; nothing else was changed"])
        }
    }

    /// rm -r without following symlinks.
    static func removeTree(_ path: String) {
        if let d = opendir(path) {
            while let entry = readdir(d) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let child = path + "/" + name
                var st = stat()
                if lstat(child, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR { removeTree(child) } else { unlink(child) }
            }
            closedir(d)
        }
        rmdir(path)
    }
}
