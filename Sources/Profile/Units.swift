import Common

/// A span of time in whole milliseconds (the resolution of every duration a profile
/// or option takes: `delay`, `max_age`, `--keep-previous` …), e.g. `.seconds(10)`.
public struct Milliseconds: Sendable, Equatable, Comparable, Hashable, CustomStringConvertible {
    /// The length in milliseconds; the parsers never give a negative one.
    public var milliseconds: Int64

    /// `milliseconds` as is; no range check.
    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// `n` whole seconds; `n` must be small enough to fit in milliseconds.
    public static func seconds(_ n: Int64) -> Milliseconds {
        Milliseconds(milliseconds: n * 1000)
    }

    /// Shorter first.
    public static func < (a: Milliseconds, b: Milliseconds) -> Bool { a.milliseconds < b.milliseconds }

    /// The canonical spelling, e.g. "1m30s", "250ms", "0s".
    public var description: String {
        guard milliseconds > 0 else { return milliseconds == 0 ? "0s" : "-\(Milliseconds(milliseconds: -milliseconds))" }
        var rest = milliseconds
        var out = ""
        for (unit, size) in Units.durationUnits where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }
}

/// A malformed duration or size, e.g. `bad duration "10x": expected a number followed by ms, s, m, h or d`.
public struct UnitError: UserFacingError, Sendable, Equatable, CustomStringConvertible {
    /// The error line, without the `run-with-keys: error: ` prefix; it names the input as given.
    public var message: String
    /// The same text as `message`.
    public var description: String { message }
}

/// The one place where durations and sizes are parsed.
public enum Units {
    /// Units from largest to smallest; a combined duration must use them in this order.
    static let durationUnits: [(String, Int64)] = [
        ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
    ]

    /// "250ms", "10s", "5m", "2h", "90d", or combinations such as "1m30s".
    public static func parseDuration(_ s: String) throws(UnitError) -> Milliseconds {
        let bad = UnitError(message: "bad duration \"\(s)\": expected a number followed by ms, s, m, h or d")
        var bytes = Substring(s).utf8[...]
        var total: Int64 = 0
        var lastUnit = -1
        guard !bytes.isEmpty else { throw bad }
        while !bytes.isEmpty {
            let digits = bytes.prefix { $0 >= 0x30 && $0 <= 0x39 }
            guard !digits.isEmpty else { throw bad }
            bytes = bytes.dropFirst(digits.count)
            let letters = bytes.prefix { $0 >= 0x61 && $0 <= 0x7A }
            bytes = bytes.dropFirst(letters.count)
            let unitName = String(decoding: letters, as: UTF8.self)
            guard let index = durationUnits.firstIndex(where: { $0.0 == unitName }) else { throw bad }
            guard index > lastUnit else {
                throw UnitError(message: "bad duration \"\(s)\": units must go from largest to smallest, each once")
            }
            lastUnit = index
            guard let n = Int64(String(decoding: digits, as: UTF8.self)) else { throw tooLarge(s) }
            let (product, o1) = n.multipliedReportingOverflow(by: durationUnits[index].1)
            let (sum, o2) = total.addingReportingOverflow(product)
            guard !o1, !o2 else { throw tooLarge(s) }
            total = sum
        }
        return Milliseconds(milliseconds: total)
    }

    /// A whole number of seconds given as a bare TOML integer.
    public static func duration(seconds n: Int) throws(UnitError) -> Milliseconds {
        guard n >= 0 else { throw UnitError(message: "bad duration \(n): must not be negative") }
        let (ms, overflow) = Int64(n).multipliedReportingOverflow(by: 1000)
        guard !overflow else { throw tooLarge(String(n)) }
        return Milliseconds(milliseconds: ms)
    }

    /// "64K", "512M", "2G", "1T" (powers of 1024, optional "B" or "iB"), plain bytes, or "unlimited".
    public static func parseSize(_ s: String) throws(UnitError) -> LimitValue {
        if s == "unlimited" { return .unlimited }
        let bad = UnitError(message: "bad size \"\(s)\": expected bytes, a number followed by K, M, G or T, or \"unlimited\"")
        let digits = s.utf8.prefix { $0 >= 0x30 && $0 <= 0x39 }
        guard !digits.isEmpty else { throw bad }
        let suffix = String(decoding: s.utf8.dropFirst(digits.count), as: UTF8.self).uppercased()
        let shifts: [String: UInt64] = [
            "": 0, "B": 0, "K": 10, "KB": 10, "KIB": 10, "M": 20, "MB": 20, "MIB": 20,
            "G": 30, "GB": 30, "GIB": 30, "T": 40, "TB": 40, "TIB": 40,
        ]
        guard let shift = shifts[suffix] else { throw bad }
        guard let n = UInt64(String(decoding: digits, as: UTF8.self)) else { throw tooLarge(s, size: true) }
        let (value, overflow) = n.multipliedReportingOverflow(by: 1 << shift)
        guard !overflow, value != UInt64.max else { throw tooLarge(s, size: true) }
        return .value(value)
    }

    private static func tooLarge(_ s: String, size: Bool = false) -> UnitError {
        UnitError(message: "bad \(size ? "size" : "duration") \"\(s)\": too large")
    }
}
