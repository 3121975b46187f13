import Glibc
import Testing
import Vault

/// Timestamp's own calendar arithmetic against glibc's timegm(3), and its
/// formatting against the general path.
@Suite struct TimestampTests {
    @Test func parseAgreesWithTimegm() {
        var rng = SystemRandomNumberGenerator()
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        for _ in 0..<20_000 {
            let y = Int32.random(in: 0...9999, using: &rng), mo = Int32.random(in: 1...12, using: &rng)
            let d = Int32.random(in: 1...31, using: &rng), h = Int32.random(in: 0...23, using: &rng)
            let mi = Int32.random(in: 0...59, using: &rng), s = Int32.random(in: 0...60, using: &rng)
            let ys = String(repeating: "0", count: 4 - String(y).count) + String(y)
            let text = "\(ys)-\(two(mo))-\(two(d))T\(two(h)):\(two(mi)):\(two(s))Z"
            var tm = Glibc.tm()
            tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d
            tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = s
            #expect(Timestamp(rfc3339: text)?.seconds == Int64(timegm(&tm)), "\(text)")
        }
        #expect(Timestamp(rfc3339: "2026-02-30T00:00:00+01:00")?.description == "2026-03-01T23:00:00Z")
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00.5Z")?.seconds == 0)
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00") == nil)
        #expect(Timestamp(rfc3339: "1970-13-01T00:00:00Z") == nil)
        // time-numoffset is 00-23 hours, 00-59 minutes (RFC 3339, section 5.6).
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00-23:59")?.seconds == 86_340)
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00+24:00") == nil)
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00+99:99") == nil)
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00+01:60") == nil)
    }

    @Test func descriptionIsRFC3339UTC() {
        #expect(Timestamp(seconds: 0).description == "1970-01-01T00:00:00Z")
        #expect(Timestamp(seconds: 1_800_000_000).description == "2027-01-15T08:00:00Z")
        #expect(Timestamp(seconds: 253_402_300_799).description == "9999-12-31T23:59:59Z")
        #expect(Timestamp(seconds: 253_402_300_800).description == "10000-01-01T00:00:00Z")  // the general path
        #expect(Timestamp(seconds: 253_402_300_800).date == "10000-01-0")
        // The formatter's own calendar against glibc's gmtime_r, years 1 to 9999, leap days included.
        for seconds in stride(from: Int64(-62_135_596_800), to: 253_402_300_799, by: 86_400 * 97 + 3_607) + [951_782_400, 4_107_542_399] {
            var t = time_t(seconds), tm = Glibc.tm()
            gmtime_r(&t, &tm)
            let want = String(format4: tm.tm_year + 1900) + "-" + String(format2: tm.tm_mon + 1) + "-" + String(format2: tm.tm_mday)
                + "T" + String(format2: tm.tm_hour) + ":" + String(format2: tm.tm_min) + ":" + String(format2: tm.tm_sec) + "Z"
            #expect(Timestamp(seconds: seconds).description == want)
        }
        for seconds in stride(from: Int64(-86400 * 400), to: 4_000_000_000, by: 7_777_777) {
            let t = Timestamp(seconds: seconds)
            #expect(Timestamp(rfc3339: t.description) == t, "\(t)")
            #expect(t.date == String(t.description.prefix(10)))
        }
    }
}

private extension String {
    init(format2 v: Int32) { self = v < 10 ? "0\(v)" : "\(v)" }
    init(format4 v: Int32) { self = String(repeating: "0", count: 4 - String(v).count) + String(v) }
}
