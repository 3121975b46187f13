import Glibc
import Common

/// One line of the launch log. It names keys, never values.
public struct LaunchRecord: Equatable, Sendable {
    /// `spawnFailed`: a start that never ran the bot (its `status` says which
    /// stage failed and why, `exitCode` is 125, 126 or 127, `pid` 0).
    public enum Event: String, Sendable { case start, exit, giveUp = "give-up", reload, spawnFailed = "spawn-failed" }
    /// When it happened, whole seconds (RFC 3339 UTC in the log).
    public var time: Timestamp
    /// What happened; the log's `event` string is its raw value.
    public var event: Event
    /// The profile's name.
    public var profile: String
    /// The secret names the profile uses (keys, then template references), each once; never values.
    public var keys: [String]
    /// The bot's pid as run-with-keys sees it; 0 when no bot was started (`spawn-failed`).
    public var pid: Int32
    /// The uid the bot runs as: the profile's user, else run-with-keys' own.
    public var uid: UInt32
    /// For `exit`: "exit 3" or "signal 9"; for `spawn-failed`, the error.
    public var status: String?
    /// For `exit`: the exit code, or 128+N after signal N; for `spawn-failed`: 125, 126 or 127; else nil.
    public var exitCode: Int32?
    /// How many restarts came before this bot in the supervisor's life (0 for the first start).
    public var restarts: Int

    /// A record as given; `status` and `exitCode` are left out of the line when nil.
    public init(time: Timestamp, event: Event, profile: String, keys: [String], pid: Int32, uid: UInt32,
                status: String? = nil, exitCode: Int32? = nil, restarts: Int = 0) {
        self.time = time; self.event = event; self.profile = profile; self.keys = keys
        self.pid = pid; self.uid = uid; self.status = status; self.exitCode = exitCode; self.restarts = restarts
    }
}

/// The append-only launch log, `<home>/launches.log`: JSON lines, mode 0600,
/// size-rotated to `launches.log.1` … `.N`. `audit` reads it.
public final class LaunchLog {
    /// The log file; rotated copies are `<path>.1` (newest) to `<path>.<keep>`.
    public let path: String
    /// Size in bytes (default 1 MiB) at which an append first rotates the log.
    public let maxBytes: Int
    /// How many rotated copies are kept, at least 1 (default 3); `read` reads them too.
    public let keep: Int

    /// Keep the log open (unlocked) between appends: a supervisor appends two
    /// records per restart, and needs no open, close or directory walk for
    /// each. Every append still locks the file and checks that it is still the
    /// log (another appender may have rotated or removed it), as a fresh open does.
    public var keepOpen = false
    /// The log's fd between appends when `keepOpen`; -1 when none is kept.
    private var kept: Int32 = -1

    /// A log at `path`; the initializer touches no file (`append` creates it, with its directories).
    public init(path: String, maxBytes: Int = 1 << 20, keep: Int = 3) {
        precondition(keep >= 1, "a launch log keeps at least one rotated copy")   // rotate() renames to <path>.1
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
    }

    deinit { if kept >= 0 { close(kept) } }

    /// A JSON string literal (`StringEscape`).
    public static func json(_ s: String) -> String { StringEscape.quoted(s, .json) }

    /// One record as a one-line JSON object ending in LF: `time`, `event`, `profile`, `keys`, `pid`,
    /// `uid`, `restarts`, then `status` and `exit_code` when set.
    public static func line(_ r: LaunchRecord) -> String {
        var fields = ["\"time\":\(json(r.time.description))", "\"event\":\(json(r.event.rawValue))",
                      "\"profile\":\(json(r.profile))", "\"keys\":[" + r.keys.map(json).joined(by: ",") + "]",
                      "\"pid\":\(r.pid)", "\"uid\":\(r.uid)", "\"restarts\":\(r.restarts)"]
        if let s = r.status { fields.append("\"status\":\(json(s))") }
        if let c = r.exitCode { fields.append("\"exit_code\":\(c)") }
        return "{" + fields.joined(by: ",") + "}\n"
    }

    /// Appends one record. Failures are reported to the caller, who logs and carries on.
    public func append(_ record: LaunchRecord) throws(VaultError) {
        // Lock the file, then make sure it is still the log (another appender may
        // have rotated it while we waited); rotate under the lock when it is full,
        // and write into the fresh file under its own lock.
        for _ in 0..<8 {
            let fd = try kept >= 0 ? kept : openLog()
            kept = -1
            var keepIt = false
            defer {
                if keepIt { flock(fd, LOCK_UN); kept = fd } else { close(fd) }
            }
            flock(fd, LOCK_EX)
            var mine = stat(), current = stat()
            guard fstat(fd, &mine) == 0 else { continue }
            guard mine.st_mode & S_IFMT == S_IFREG else {   // a FIFO or a device: never write (or block) there
                throw VaultError(.notRegularFile, "the launch log \(path) is \(RegularFile.typeName(mine.st_mode)), not a regular file")
            }
            guard stat(path, &current) == 0, mine.st_ino == current.st_ino else { continue }
            if Int(mine.st_size) >= maxBytes { rotate(); continue }
            try Self.appendWhole(fd, Self.line(record), size: mine.st_size, path: path)
            keepIt = keepOpen
            return
        }
        throw VaultError(.io, "can't append to the launch log \(path): it keeps being rotated")
    }

    /// Opens (creates) the log; its directories are made only when the open fails.
    private func openLog() throws(VaultError) -> Int32 {
        let flags = O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK
        let (fd, e) = try Sys.openCreatingDirectories(path, flags, 0o600)
        guard fd >= 0 else { throw VaultError(.io, "can't open the launch log \(path): \(Sys.errnoString(e))") }
        return fd
    }

    /// Appends `line` whole or not at all, under the caller's lock: one `write(2)`
    /// (the file is `O_APPEND`); after a short write or an error (ENOSPC, EIO) the
    /// file is truncated back to `size`. A partial last line that an earlier failure
    /// (a crash) left behind is ended with a newline first, so the record is not
    /// glued to it (the reader skips the broken line).
    /// - Throws: `VaultError(.io)` when the record could not be written.
    static func appendWhole(_ fd: Int32, _ line: String, size: off_t, path: String) throws(VaultError) {
        var text = line
        if size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, size - 1) == 1, last != 0x0a { text = "\n" + text }
        }
        let (n, e) = text.utf8.withContiguousStorageIfAvailable { buf in
            Sys.retry { Glibc.write(fd, buf.baseAddress!, buf.count) }
        } ?? (-1, EINVAL)
        guard n == text.utf8.count else {
            _ = ftruncate(fd, size)
            let why = n < 0 ? Sys.errnoString(e) : "only \(n) of \(text.utf8.count) bytes written (disk full?)"
            throw VaultError(.io, "can't append to the launch log \(path): \(why)", hints: ["the record was not written; free some space"])
        }
    }

    func rotate() {
        unlink("\(path).\(keep)")
        if keep > 1 { for i in stride(from: keep - 1, through: 1, by: -1) { rename("\(path).\(i)", "\(path).\(i + 1)") } }
        rename(path, "\(path).1")
    }

    /// All records, oldest first. Lines that do not parse are skipped.
    public func read() -> [LaunchRecord] {
        var out: [LaunchRecord] = []
        for file in stride(from: keep, through: 0, by: -1).map({ $0 == 0 ? path : "\(path).\($0)" }) {
            guard let bytes = try? Sys.readFile(file, limit: 64 << 20) else { continue }
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: 0x0a) ?? bytes.count
                if let r = bytes[start..<end].withUnsafeBytes({ Self.parse($0) }) { out.append(r) }
                start = end + 1
            }
        }
        return out
    }

    static func parse(_ line: UnsafeRawBufferPointer) -> LaunchRecord? {
        var r = JSONReader(line)
        var rec = LaunchRecord(time: Timestamp(seconds: 0), event: .start, profile: "", keys: [], pid: 0, uid: 0)
        var hasTime = false
        do {
            try r.object { (r: inout JSONReader, key: String) throws(VaultError) in
                switch key {
                case "time":
                    guard let t = Timestamp(rfc3339: try r.string()) else { throw r.fail("bad time") }
                    rec.time = t; hasTime = true
                case "event":
                    guard let e = LaunchRecord.Event(rawValue: try r.string()) else { throw r.fail("bad event") }
                    rec.event = e
                case "profile": rec.profile = try r.string()
                case "keys": rec.keys = try r.stringArray()
                case "pid": rec.pid = Int32(truncatingIfNeeded: try r.integer())
                case "uid": rec.uid = UInt32(truncatingIfNeeded: try r.integer())
                case "restarts": rec.restarts = Int(try r.integer())
                case "status": rec.status = try r.string()
                case "exit_code": rec.exitCode = Int32(truncatingIfNeeded: try r.integer())
                default: try r.skipValue()
                }
            }
        } catch { return nil }
        return hasTime ? rec : nil
    }
}
