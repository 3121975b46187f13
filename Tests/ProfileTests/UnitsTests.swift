import Testing
@testable import Profile

@Suite struct UnitsTests {
    static let goodDurations: [(String, Int64)] = [
        ("250ms", 250), ("0s", 0), ("0ms", 0), ("10s", 10_000), ("5m", 300_000), ("2h", 7_200_000),
        ("90d", 7_776_000_000), ("1m30s", 90_000), ("1d2h3m4s5ms", 93_784_005), ("007s", 7_000),
        ("9223372036854775807ms", Int64.max), ("106751991167d", 9_223_372_036_828_800_000),
    ]

    @Test(arguments: goodDurations)
    func parsesDurations(text: String, milliseconds: Int64) throws {
        #expect(try Units.parseDuration(text) == Milliseconds(milliseconds: milliseconds))
    }

    static let badDurations = [
        "", "10", "10x", "-5s", "s", "1.5s", " 10s", "10s ", "10S", "+1s", "1m1m", "30s1m", "10sec",
        "9223372036854775808ms", "106751991168d", "99999999999999999999s", "9223372036854775807ms1d",
    ]

    @Test(arguments: badDurations)
    func rejectsDurations(text: String) {
        #expect(throws: UnitError.self) { try Units.parseDuration(text) }
    }

    @Test func durationMessages() throws {
        #expect(throws: UnitError(message: #"bad duration "10x": expected a number followed by ms, s, m, h or d"#)) {
            try Units.parseDuration("10x")
        }
        #expect(throws: UnitError(message: #"bad duration "106751991168d": too large"#)) {
            try Units.parseDuration("106751991168d")
        }
        #expect(throws: UnitError.self) { try Units.duration(seconds: -1) }
        #expect(try Units.duration(seconds: 90) == .seconds(90))
    }

    static let goodSizes: [(String, LimitValue)] = [
        ("0", .value(0)), ("512", .value(512)), ("512B", .value(512)), ("64K", .value(65_536)),
        ("64k", .value(65_536)), ("64KB", .value(65_536)), ("64KiB", .value(65_536)),
        ("512M", .value(536_870_912)), ("2G", .value(2_147_483_648)), ("2gib", .value(2_147_483_648)),
        ("1T", .value(1 << 40)), ("16777215T", .value(16_777_215 << 40)),
        ("18446744073709551614", .value(UInt64.max - 1)), ("unlimited", .unlimited),
    ]

    @Test(arguments: goodSizes)
    func parsesSizes(text: String, value: LimitValue) throws {
        #expect(try Units.parseSize(text) == value)
    }

    static let badSizes = [
        "", "2X", "-1", "1.5G", "G", "2 G", " 2G", "2GG", "5iB", "unlimitedd", "Unlimited",
        "16777216T", "18446744073709551615", "18446744073709551616",
    ]

    @Test(arguments: badSizes)
    func rejectsSizes(text: String) {
        #expect(throws: UnitError.self) { try Units.parseSize(text) }
    }

    @Test func secondsDescriptionAndValue() {
        #expect(Milliseconds(milliseconds: 90_000).description == "1m30s")
        #expect(Milliseconds(milliseconds: 250).description == "250ms")
        #expect(Milliseconds(milliseconds: 0).description == "0s")
        #expect(Milliseconds(milliseconds: 7_776_000_000).description == "90d")
        #expect(Milliseconds.seconds(2) < Milliseconds(milliseconds: 2001))
    }

    @Test func signalNames() {
        #expect(Signals.number(named: "SIGTERM") == SIGTERM)
        #expect(Signals.number(named: "TERM") == SIGTERM)
        #expect(Signals.number(named: "sigint") == SIGINT)
        #expect(Signals.number(named: "hup") == SIGHUP)
        #expect(Signals.number(named: "9") == 9)
        #expect(Signals.number(named: "SIGSYS") == SIGSYS)
        #expect(Signals.number(named: "SIGRTMIN+2") == Signals.realtimeMin + 2)
        #expect(Signals.number(named: "SIGFOO") == nil)
        #expect(Signals.number(named: "0") == nil)
        #expect(Signals.number(named: "65") == nil)
        #expect(Signals.name(of: SIGKILL) == "SIGKILL")
        #expect(Signals.name(of: Signals.realtimeMin + 3) == "SIGRTMIN+3")
    }

    @Test func suggestions() {
        #expect(Suggest.closest(to: "seccom", in: ["seccomp", "deny"]) == "seccomp")
        #expect(Suggest.closest(to: "max_dealy", in: ["delay", "max_delay"]) == "max_delay")
        #expect(Suggest.closest(to: "stop", in: ["stop_signal"]) == "stop_signal")
        #expect(Suggest.closest(to: "banana", in: ["seccomp", "deny"]) == nil)
    }
}

#if canImport(Glibc)
import Glibc
#endif
