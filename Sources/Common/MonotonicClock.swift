#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// CLOCK_MONOTONIC (clock_gettime(2)): for deadlines, timeouts and durations, never
/// for dates (those are `Timestamp`, from the wall clock).
public enum MonotonicClock {
    /// Milliseconds since an arbitrary start (the boot, on Linux).
    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
