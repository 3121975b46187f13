import Testing
import Glibc
import Age
import Common
@testable import Vault

@Suite(.serialized) struct StoreTests {
    func setup() throws -> (dir: String, store: VaultStore, options: KeyOptions) {
        let dir = tempDir()
        let id = X25519Identity.generate()
        let idText = id.encoded()
        let fd = open(dir + "/identity.txt", O_WRONLY | O_CREAT | O_EXCL, 0o600)
        _ = idText.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let store = VaultStore(path: dir + "/vault.age", lockTimeoutMs: 300)
        var doc = VaultDocument()
        doc.recipients = [id.recipient.description]
        try store.create(doc, recipients: [id.recipient])
        return (dir, store, KeyOptions(home: dir, environment: { _ in nil }))
    }

    @Test func updateThenOpen() throws {
        let (dir, store, options) = try setup()
        defer { removeTree(dir) }
        try store.update(options) { (doc: inout VaultDocument, _) throws(VaultError) in
            try doc.set("k", value: secret("v"), now: Timestamp(seconds: 5))
        }
        let (doc, key) = try store.open(options)
        #expect(text(doc.secrets["k"]!.value) == "v")
        #expect(key.source.hasSuffix("identity.txt"))
        #expect(!Sys.exists(store.tempPath))
        var st = stat()
        stat(store.path, &st)
        #expect(st.st_mode & 0o777 == 0o600)
    }

    @Test func failedChangeWritesNothing() throws {
        let (dir, store, options) = try setup()
        defer { removeTree(dir) }
        let before = try Sys.readFile(store.path)
        #expect(throws: VaultError.self) {
            try store.update(options) { (_: inout VaultDocument, _) throws(VaultError) in throw VaultError(.unknownName, "no") }
        }
        #expect(try Sys.readFile(store.path) == before)
    }

    @Test func lockTimeout() throws {
        let (dir, store, options) = try setup()
        defer { removeTree(dir) }
        let holder = open(store.lockPath, O_RDWR)
        #expect(flock(holder, LOCK_EX) == 0)
        defer { close(holder) }
        let start = MonotonicClock.nowMs()
        do {
            try store.update(options) { (_: inout VaultDocument, _) throws(VaultError) in }
            Issue.record("expected the lock to time out")
        } catch {
            #expect(error.kind == .locked && error.message.hasSuffix("(waited 0.3s)"))
        }
        // It waits the timeout, and returns soon after (the wait is measured, not counted in sleeps).
        let took = MonotonicClock.nowMs() - start
        #expect(took >= 300 && took < 3000)
        #expect(Command.seconds(10_000) == "10s" && Command.seconds(1_500) == "1.5s" && Command.seconds(50) == "0.05s")
    }

    @Test func staleTempFileIsReplaced() throws {
        let (dir, store, options) = try setup()
        defer { removeTree(dir) }
        writeFile(store.tempPath, "half-written garbage")
        try store.update(options) { (doc: inout VaultDocument, _) throws(VaultError) in
            try doc.set("k", value: secret("v"), now: Timestamp(seconds: 5))
        }
        #expect(!Sys.exists(store.tempPath))
        #expect(try store.open(options).0.names == ["k"])
    }

    @Test func unsafePermissionsAreRefused() throws {
        let (dir, store, options) = try setup()
        defer { removeTree(dir) }
        chmod(dir + "/identity.txt", 0o640)
        do { _ = try store.open(options); Issue.record("expected a refusal") } catch {
            #expect(error.kind == .permissions)
            #expect(error.hints.contains { $0.contains("chmod 600") })
        }
        chmod(dir + "/identity.txt", 0o600)
        chmod(store.path, 0o604)
        #expect(throws: VaultError.self) { _ = try store.open(options) }
    }

    @Test func wrongIdentityIsNotCorruption() throws {
        let (dir, store, _) = try setup()
        defer { removeTree(dir) }
        let other = X25519Identity.generate().encoded()
        let fd = open(dir + "/other.txt", O_WRONLY | O_CREAT | O_EXCL, 0o600)
        _ = other.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let options = KeyOptions(home: dir, identityPath: dir + "/other.txt", environment: { _ in nil })
        do { _ = try store.open(options); Issue.record("expected wrong key") } catch { #expect(error.kind == .wrongKey) }
    }

    @Test func identityCommandAndPrecedence() throws {
        let (dir, store, _) = try setup()
        defer { removeTree(dir) }
        // The command is used before <home>/identity.txt; a failing one is an error, not a fallback.
        let env: @Sendable (String) -> String? = { $0 == "RUN_WITH_KEYS_IDENTITY_COMMAND" ? "cat \(dir)/identity.txt" : nil }
        let (_, key) = try store.open(KeyOptions(home: dir, environment: env))
        #expect(key.source == "RUN_WITH_KEYS_IDENTITY_COMMAND")
        let failing: @Sendable (String) -> String? = { $0 == "RUN_WITH_KEYS_IDENTITY_COMMAND" ? "exit 3" : nil }
        #expect(throws: VaultError.self) { _ = try store.open(KeyOptions(home: dir, environment: failing)) }
    }
}
