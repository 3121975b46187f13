import Glibc
import Age

/// The signal that interrupted a no-echo prompt (0: none); set by its handler.
nonisolated(unsafe) private var promptSignalReceived: Int32 = 0

/// Reading secret values from people and pipes, never from argv.
public enum SecretInput {
    /// The bytes up to the first newline (CR LF or LF), or all of them.
    public static func firstLine(_ raw: borrowing SecretBytes) -> SecretBytes {
        let end = raw.withUnsafeBytes { b -> Int in
            var n = b.firstIndex(of: 0x0a) ?? b.count
            if n > 0 && b[n - 1] == 0x0d { n -= 1 }
            return n
        }
        return raw.slice(0..<end)
    }

    /// `raw` without one trailing newline (LF or CR LF): `echo KEY | run-with-keys set NAME`
    /// must not store the newline.
    public static func trimmingOneNewline(_ raw: borrowing SecretBytes) -> SecretBytes {
        let end = raw.withUnsafeBytes { b -> Int in
            var n = b.count
            if n > 0 && b[n - 1] == 0x0a { n -= 1; if n > 0 && b[n - 1] == 0x0d { n -= 1 } }
            return n
        }
        return raw.slice(0..<end)
    }

    /// The signals that end a prompt (Ctrl-C, Ctrl-\\, a hang-up, `kill`): caught
    /// while echo is off, so that the terminal's modes are restored before we die of them.
    static let promptSignals: [Int32] = [SIGINT, SIGQUIT, SIGHUP, SIGTERM]

    /// Prompts on /dev/tty with echo off and reads one line into guarded memory.
    /// A signal in `promptSignals` restores the terminal (echo on), then kills us
    /// with that signal, as if it had not been caught.
    public static func promptNoEcho(_ prompt: String) throws(VaultError) -> SecretBytes {
        let (fd, e) = Sys.open("/dev/tty", O_RDWR | O_NOCTTY)
        guard fd >= 0 else {
            throw VaultError(.input, "no terminal to prompt on (/dev/tty: \(Sys.errnoString(e)))",
                             hints: ["pipe the value in on stdin, or use --from-file FILE (or --passphrase-fd N for a passphrase)"])
        }
        defer { close(fd) }
        var saved = termios()
        let isTTY = tcgetattr(fd, &saved) == 0
        // Catch the signals first (no SA_RESTART: the read returns EINTR), then turn echo off.
        promptSignalReceived = 0
        var handler = sigaction()
        handler.__sigaction_handler.sa_handler = { promptSignalReceived = $0 }
        sigemptyset(&handler.sa_mask)
        handler.sa_flags = 0
        let previous = UnsafeMutablePointer<sigaction>.allocate(capacity: promptSignals.count)
        defer { previous.deallocate() }
        for (i, s) in promptSignals.enumerated() { sigaction(s, &handler, previous + i) }
        if isTTY {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        func restore() {
            if isTTY { tcsetattr(fd, TCSAFLUSH, &saved) }
            for (i, s) in promptSignals.enumerated() { sigaction(s, previous + i, nil) }
        }
        Sys.writeAll(fd, prompt)
        var line = SecretBuilder(capacity: 256)
        var byte = SecretBytes(count: 1)
        while line.count < 64 * 1024 {
            var n = byte.withUnsafeMutableBytes { b in read(fd, b.baseAddress!, 1) }
            if n < 0 && errno == EINTR {
                let s = promptSignalReceived
                if s == 0 { continue }
                restore()
                Sys.writeAll(fd, "\n")
                signal(s, SIG_DFL)
                raise(s)
                n = 0   // not reached unless the signal is blocked
            }
            if n <= 0 { break }
            let isNewline = byte.withUnsafeBytes { $0[0] == 0x0a }
            if isNewline { break }
            line.append(byte)
        }
        restore()
        let result = line.finish()
        return trimmingOneNewline(result)
    }

    /// `readValue`, refusing an empty value.
    public static func readNonEmptyValue(fromFile path: String?, name: String) throws(VaultError) -> SecretBytes {
        let value = try readValue(fromFile: path, name: name)
        try VaultDocument.refuseEmpty(value.count, name: name)
        return value
    }

    /// The value for `set`/`rotate`: from `--from-file` (exact bytes), from piped
    /// stdin (one trailing newline dropped), or from a no-echo prompt.
    public static func readValue(fromFile path: String?, name: String) throws(VaultError) -> SecretBytes {
        if let path {
            let fd = try Sys.openInput(path)
            defer { close(fd) }
            return try Sys.readSecret(fd, what: path)
        }
        if isatty(0) == 0 {
            let raw = try Sys.readSecret(0, what: "stdin")
            return trimmingOneNewline(raw)
        }
        return try promptNoEcho("Value for \(name) (input hidden): ")
    }
}
