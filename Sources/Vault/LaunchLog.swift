import Glibc
import Common

/// One line of the launch log. It names keys, never values.
public struct LaunchRecord: Equatable, Sendable {
    public enum Event: String, Sendable { case start, exit, giveUp = "give-up", reload }
    public var time: Timestamp
    public var event: Event
    public var profile: String
    public var keys: [String]
    public var pid: Int32
    public var uid: UInt32
    /// For `exit`: "exit 3" or "signal 9".
    public var status: String?
    public var exitCode: Int32?
    public var restarts: Int

    public init(time: Timestamp, event: Event, profile: String, keys: [String], pid: Int32, uid: UInt32,
                status: String? = nil, exitCode: Int32? = nil, restarts: Int = 0) {
        self.time = time; self.event = event; self.profile = profile; self.keys = keys
        self.pid = pid; self.uid = uid; self.status = status; self.exitCode = exitCode; self.restarts = restarts
    }
}

/// The append-only launch log, `<home>/launches.log`: JSON lines, mode 0600,
/// size-rotated to `launches.log.1` … `.N`. `audit` reads it.
public final class LaunchLog {
    public let path: String
    public let maxBytes: Int
    public let keep: Int

    public init(path: String, maxBytes: Int = 1 << 20, keep: Int = 3) {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
    }

    /// A JSON string literal (`StringEscape`).
    public static func json(_ s: String) -> String { StringEscape.quoted(s, .json) }

    public static func line(_ r: LaunchRecord) -> String {
        var fields = ["\"time\":\(json(r.time.description))", "\"event\":\(json(r.event.rawValue))",
                      "\"profile\":\(json(r.profile))", "\"keys\":[" + r.keys.map(json).joined(separator: ",") + "]",
                      "\"pid\":\(r.pid)", "\"uid\":\(r.uid)", "\"restarts\":\(r.restarts)"]
        if let s = r.status { fields.append("\"status\":\(json(s))") }
        if let c = r.exitCode { fields.append("\"exit_code\":\(c)") }
        return "{" + fields.joined(separator: ",") + "}\n"
    }

    /// Appends one record. Failures are reported to the caller, who logs and carries on.
    public func append(_ record: LaunchRecord) throws(VaultError) {
        try Sys.makeDirectories(Sys.directory(of: path))
        // Lock the file, then make sure it is still the log (another appender may
        // have rotated it while we waited); rotate under the lock when it is full,
        // and write into the fresh file under its own lock.
        for _ in 0..<8 {
            let (fd, e) = Sys.open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { throw VaultError(.io, "can't open the launch log \(path): \(Sys.errnoString(e))") }
            defer { close(fd) }
            flock(fd, LOCK_EX)
            var mine = stat(), current = stat()
            guard fstat(fd, &mine) == 0, stat(path, &current) == 0, mine.st_ino == current.st_ino else { continue }
            if Int(mine.st_size) >= maxBytes { rotate(); continue }
            Sys.writeAll(fd, Self.line(record))
            return
        }
        throw VaultError(.io, "can't append to the launch log \(path): it keeps being rotated")
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
