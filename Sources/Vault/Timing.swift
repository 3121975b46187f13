import Glibc

/// Per-stage timing of one launch, for `bench/run.sh`: with `RWK_TIMING=1` in
/// run-with-keys' environment, each launch step records a CLOCK_MONOTONIC
/// timestamp and the breakdown goes to stderr once the bot has started
/// (`rwk-timing: <stage> <ms since the previous mark> <ms since main>`).
/// Off by default; when off, a mark is one test of a constant. The variable is
/// read by run-with-keys only, never passed to the bot unless the profile
/// inherits it.
public enum LaunchTiming {
    /// Read once, at the first mark.
    public static let enabled: Bool = {
        guard let v = getenv("RWK_TIMING") else { return false }
        return strcmp(v, "1") == 0
    }()

    nonisolated(unsafe) private static var names: [StaticString] = []
    nonisolated(unsafe) private static var times: [UInt64] = []
    /// Set by `report`: one launch is reported, and restarts record nothing more.
    nonisolated(unsafe) private static var reported = false

    /// Records that `stage` just ended.
    @inline(__always)
    public static func mark(_ stage: StaticString) {
        if enabled { record(stage) }
    }

    private static func record(_ stage: StaticString) {
        guard !reported else { return }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        names.append(stage)
        times.append(UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
    }

    /// Prints the marks so far to stderr (one line each), once.
    public static func report() {
        guard enabled, !reported, let first = times.first else { return }
        reported = true
        var out = ""
        var previous = first
        for (name, t) in zip(names, times) {
            func ms(_ ns: UInt64) -> String {
                let us = ns / 1000
                let frac = String(us % 1000)
                return "\(us / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
            }
            out += "rwk-timing: \(name) \(ms(t - previous)) \(ms(t - first))\n"
            previous = t
        }
        names.removeAll()
        times.removeAll()
        _ = out.withCString { write(2, $0, strlen($0)) }
    }
}
