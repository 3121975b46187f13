import Glibc

/// Seconds since the Unix epoch, written as RFC 3339 UTC ("2026-11-26T18:00:00Z").
public struct Timestamp: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z (Unix time, no leap seconds); negative before it.
    public var seconds: Int64
    /// The time `seconds` after the Unix epoch.
    public init(seconds: Int64) { self.seconds = seconds }

    /// Earlier first: compares `seconds`.
    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.seconds < b.seconds }

    /// RFC 3339 in UTC, whole seconds: `YYYY-MM-DDTHH:MM:SSZ`.
    public var description: String {
        if let text = Self.format(seconds, count: 20) { return text }
        var t = time_t(seconds)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
            + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2))Z"
    }

    /// The UTC date, `YYYY-MM-DD`: the first 10 characters of `description`.
    public var date: String { Self.format(seconds, count: 10) ?? String(description.utf8.prefix(10))! }

    /// The first `count` (at most 20) bytes of `YYYY-MM-DDTHH:MM:SSZ`, written in
    /// place (`list` formats thousands of these); nil for a year outside 0...9999,
    /// which `description` writes the general way.
    /// Not gmtime_r(3): its first call makes glibc read /etc/localtime (tzset),
    /// seven system calls on every launch for a time zone UTC doesn't need.
    private static func format(_ seconds: Int64, count: Int) -> String? {
        let text = String(unsafeUninitializedCapacity: 20) { out in
            write(seconds, into: UnsafeMutableRawBufferPointer(out)) ? count : 0
        }
        return text.isEmpty ? nil : text
    }

    /// Appends `description` to `out`, or with `dateOnly` its first 10 bytes (`date`).
    /// What `list` uses, without a String.
    public func append(to out: inout [UInt8], dateOnly: Bool) {
        let written = withUnsafeTemporaryAllocation(byteCount: 20, alignment: 1) { tmp in
            guard Self.write(seconds, into: tmp) else { return false }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: tmp[0..<(dateOnly ? 10 : 20)]))
            return true
        }
        if !written { out.append(contentsOf: dateOnly ? Array(description.utf8.prefix(10)) : Array(description.utf8)) }
    }

    /// Writes `YYYY-MM-DDTHH:MM:SSZ` (20 bytes); false, writing nothing, for a year outside 0...9999.
    private static func write(_ seconds: Int64, into out: UnsafeMutableRawBufferPointer) -> Bool {
        guard let (year, mo, d) = civil(seconds) else { return false }
        let s = Int(seconds - floorDays(seconds) * 86400), y = Int(year)
        func two(_ v: Int, _ at: Int) { out[at] = UInt8(truncatingIfNeeded: 48 + v / 10); out[at + 1] = UInt8(truncatingIfNeeded: 48 + v % 10) }
        two(y / 100, 0); two(y % 100, 2); out[4] = 45; two(Int(mo), 5); out[7] = 45; two(Int(d), 8)
        out[10] = 84; two(s / 3600, 11); out[13] = 58; two(s / 60 % 60, 14); out[16] = 58; two(s % 60, 17); out[19] = 90
        return true
    }

    private static func floorDays(_ seconds: Int64) -> Int64 {
        seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400)
    }

    /// The UTC (year, month, day) of `seconds`, as gmtime(3) gives it (H. Hinnant's
    /// civil_from_days: integer arithmetic, no time zone file); nil outside years 0...9999.
    private static func civil(_ seconds: Int64) -> (Int64, Int64, Int64)? {
        // Years 0...9999 are these days since the epoch; outside them, nil before any overflow.
        let days = floorDays(seconds)
        guard days >= -719_528, days <= 2_932_896 else { return nil }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Parses RFC 3339: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
    public init?(rfc3339 text: String) {
        var text = text
        guard let s = text.withUTF8({ Self.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        seconds = s
    }

    /// Parses RFC 3339 from its UTF-8 bytes (as `init?(rfc3339:)`), without making a String.
    init?(rfc3339 bytes: UnsafeRawBufferPointer) {
        guard let s = Self.parse(bytes) else { return nil }
        seconds = s
    }

    private static func parse(_ b: UnsafeRawBufferPointer) -> Int64? {
        func num(_ from: Int, _ count: Int) -> Int32? {
            guard from + count <= b.count else { return nil }
            var v: Int32 = 0
            for c in b[from..<(from + count)] {
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int32(c - 48)
            }
            return v
        }
        guard b.count >= 20, b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 116, b[13] == 58, b[16] == 58,
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        var i = 19
        if i < b.count && b[i] == 46 {  // fractional seconds, ignored
            i += 1
            let start = i
            while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1 }
            if i == start { return nil }
        }
        var offset: Int64 = 0
        if i < b.count && (b[i] == 90 || b[i] == 122) {
            i += 1
        } else if i + 6 == b.count && (b[i] == 43 || b[i] == 45) && b[i + 3] == 58,
                  let oh = num(i + 1, 2), let om = num(i + 4, 2), oh < 24, om < 60 {   // RFC 3339 time-numoffset
            offset = Int64(oh) * 3600 + Int64(om) * 60
            if b[i] == 43 { offset = -offset }
            i += 6
        } else { return nil }
        guard i == b.count else { return nil }
        // What timegm(3) computes, without its normalising search: days from the
        // civil date (H. Hinnant's days_from_civil; a day past the month's end,
        // like 02-30, carries into the next month as timegm does), then seconds.
        let yy = Int64(mo <= 2 ? y - 1 : y)
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * Int64((mo + 9) % 12) + 2) / 5 + Int64(d) - 1
        let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
        return days * 86400 + Int64(h) * 3600 + Int64(mi) * 60 + Int64(s) + offset
    }

    /// Whole days from `self` to `now` (negative if in the future).
    public func days(until now: Timestamp) -> Int64 { (now.seconds - seconds) / 86400 }
}

/// The clock, injectable for tests.
public struct Clock: Sendable {
    /// Returns the current time.
    public var now: @Sendable () -> Timestamp
    /// A clock that reads the time from `now`.
    public init(now: @escaping @Sendable () -> Timestamp) { self.now = now }

    /// The system clock, `time(2)`: whole seconds.
    public static let system = Clock { Timestamp(seconds: Int64(time(nil))) }
    /// A clock that always says `t` (tests).
    public static func fixed(_ t: Timestamp) -> Clock { Clock { t } }
}
