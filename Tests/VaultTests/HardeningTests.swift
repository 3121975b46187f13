import Common
import Testing
import Age
import Glibc
@testable import Vault

/// Issue 13: values that can't be delivered intact, no echo from a malformed
/// document, regular files only, commands with a timeout.
@Suite struct HardeningTests {
    @Test func marksValuesHoldingNUL() throws {
        let json = #"{"format":"run-with-keys/v1","secrets":{"a":{"value":"x\u0000y"},"b":{"value":"\\u0000"},"c":{"value":"\u0001"},"d":{"value":"ok","previous":"p\u0000"}}}"#
        let doc = try VaultDocument.parse(secret(json))
        #expect(doc.secrets["a"]!.holdsNUL)
        #expect(!doc.secrets["b"]!.holdsNUL)   // an escaped backslash, then the text "u0000"
        #expect(!doc.secrets["c"]!.holdsNUL)
        #expect(doc.secrets["d"]!.holdsNUL)
        // Setting a new value clears the mark.
        doc.secrets["a"]!.value = secret("fine")
        #expect(!doc.secrets["a"]!.holdsNUL)
    }

    @Test func neverEchoesAValueWrittenAsAName() throws {
        let value = "sk_live_0123456789abcdef 0123456789"
        let json = #"{"format":"run-with-keys/v1","secrets":{"ok":{"value":"v"},""# + value + #"":{"value":"w"}}}"#
        do {
            _ = try VaultDocument.parse(secret(json))
            Issue.record("parsed")
        } catch {
            #expect(error.message.contains("secret #2"))
            #expect(!error.message.contains("sk_live") && !error.hints.joined().contains("sk_live"))
        }
    }

    @Test func refusesAFIFO() throws {
        let path = "/tmp/rwk-hardening-\(getpid()).fifo"
        unlink(path)
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        #expect(throws: RegularFile.Failure(path: path, reason: .notRegular(type: "a FIFO"))) {
            _ = try RegularFile.read(path, limit: 10)
        }
        do { _ = try Sys.readFile(path); Issue.record("read a FIFO") } catch { #expect(error.kind == .notRegularFile) }
        #expect(throws: RegularFile.Failure(path: "/", reason: .notRegular(type: "a directory"))) {
            _ = try RegularFile.read("/", limit: 10)
        }
    }

    @Test func commandTimeoutKillsTheGroup() throws {
        let start = MonotonicClock.nowMs()
        do {
            _ = try Command.output(of: "sleep 30 & sleep 30", what: "cmd", timeoutMs: 300)
            Issue.record("no timeout")
        } catch {
            #expect(error.message.contains("did not finish within 0.3s"))
        }
        #expect(MonotonicClock.nowMs() - start < 3000)
    }

    @Test func backgroundChildDoesNotBlock() throws {
        let start = MonotonicClock.nowMs()
        let out = try Command.output(of: "printf hello; sleep 3 2>/dev/null & exit 0", what: "cmd", timeoutMs: 10_000)
        #expect(out.withUnsafeBytes { Array($0) } == Array("hello".utf8))
        #expect(MonotonicClock.nowMs() - start < 3000)
    }

    @Test func timeoutSetting() throws {
        #expect(try Command.timeoutMs(environment: { _ in nil }) == Command.defaultTimeoutMs)
        #expect(try Command.timeoutMs(environment: { _ in "2.5" }) == 2500)
        #expect(throws: VaultError.self) { try Command.timeoutMs(environment: { _ in "0" }) }
        #expect(throws: VaultError.self) { try Command.timeoutMs(environment: { _ in "ten" }) }
    }

}

@Suite struct LaunchLogRepairTests {
    @Test func aRecordAfterAPartialLineStartsOnItsOwnLine() throws {
        let dir = "/tmp/rwk-launchlog-\(getpid())"
        _ = mkdir(dir, 0o700)
        let path = dir + "/launches.log"
        unlink(path)
        defer { unlink(path); rmdir(dir) }
        let log = LaunchLog(path: path)
        let r = LaunchRecord(time: Timestamp(seconds: 1_800_000_000), event: .start, profile: "bot", keys: ["a/b"], pid: 7, uid: 0)
        try log.append(r)
        // A crash mid-write left half a record.
        let fd = open(path, O_WRONLY | O_APPEND)
        Sys.writeAll(fd, "{\"time\":\"2026-")
        close(fd)
        try log.append(r)
        #expect(log.read() == [r, r])
        let bytes = try Sys.readFile(path)
        #expect(bytes.last == 0x0a && bytes.filter { $0 == 0x0a }.count == 3)
    }
}
