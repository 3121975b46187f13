import Glibc
import Age
import Common

/// The vault file: decrypt on read; locked, atomic, durable writes.
///
/// A write takes an exclusive `flock` on `<vault>.lock`, re-reads the current
/// vault, applies the change, encrypts to a temp file created with `O_EXCL`
/// and mode 0600 in the same directory, fsyncs it, renames it over the vault
/// and fsyncs the directory. A crash leaves the old vault or the new one; a
/// stale temp file from a killed writer is removed by the next writer.
public final class VaultStore {
    /// The vault's path as configured, possibly a symbolic link.
    public let givenPath: String
    /// The file the store reads, locks and replaces: `givenPath` with its links
    /// resolved, at each use, so a link re-pointed later (a Kubernetes volume's
    /// `..data` swap) is followed.
    public var path: String { Self.resolvingLinks(givenPath) }
    /// How long a writer waits for `<vault>.lock`, in ms (default 10 000; `--lock-timeout`), polling every
    /// 20 ms; then the write fails with `.locked`.
    public var lockTimeoutMs: Int
    /// Plaintext documents larger than this are refused.
    public static let maxPlaintext = 64 << 20

    /// `path` may be a symbolic link: it is resolved (`realpath(3)`) and the store
    /// reads, locks (`<target>.lock`) and replaces the link's target, so that the
    /// link stays a link and two links to one vault share one lock.
    public init(path: String, lockTimeoutMs: Int = 10_000) {
        givenPath = path
        self.lockTimeoutMs = lockTimeoutMs
    }

    /// The target of `path` when it is (or passes through) a symbolic link to an
    /// existing file; else `path` unchanged (no vault yet, or no link).
    public static func resolvingLinks(_ path: String) -> String {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFLNK, let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }

    /// `<vault>.lock`, the file writers `flock`.
    public var lockPath: String { path + ".lock" }
    /// `<dir>/.<name>.tmp`, where a write prepares the new vault.
    public var tempPath: String { Sys.directory(of: path) + "/." + Sys.basename(path) + ".tmp" }

    /// Fails with the "no vault" error (and its hint) when the file is missing.
    public func requireExists() throws(VaultError) {
        guard Sys.exists(path) else {
            throw VaultError(.missing, "no vault at \(path)",
                             hints: ["create one with `run-with-keys init`, or point --vault / RUN_WITH_KEYS_HOME at it"])
        }
    }

    /// The encrypted file, after the ownership and permission checks.
    func readCiphertext() throws(VaultError) -> [UInt8] {
        let fd: Int32
        try requireExists()
        fd = try Sys.openPrivate(path, what: "vault").fd
        defer { close(fd) }
        return try Sys.readAll(fd, path: path, limit: 2 * Self.maxPlaintext)
    }

    /// Decrypts the vault with the key from `options`.
    public func open(_ options: KeyOptions) throws(VaultError) -> (VaultDocument, UnlockedKey) {
        try decrypt(options) { (plaintext, key) throws(VaultError) in (try VaultDocument.parse(taking: plaintext), key) }
    }

    /// Decrypts the vault with the key from `options` and lists it (`list`): names,
    /// times, scopes and notes, never a value.
    /// - Throws: `VaultError`, as `open` does.
    public func openListing(_ options: KeyOptions) throws(VaultError) -> VaultListing {
        try decrypt(options) { (plaintext, _) throws(VaultError) in try VaultListing(plaintext: plaintext) }
    }

    /// Calls `body` with the vault's plaintext, in guarded memory, and the key that opened it.
    func decrypt<R>(_ options: KeyOptions,
                    _ body: (consuming SecretBytes, UnlockedKey) throws(VaultError) -> R) throws(VaultError) -> R {
        let file = try readCiphertext()
        let header: Header
        do {
            header = try AgeFile.inspect(file).header
        } catch {
            throw VaultError.decrypting(path, error, keySource: "-")
        }
        let key = try KeySource.unlock(for: header, options: options, vault: path)
        key.headerStanzas = header.stanzas.filter { $0.type == "X25519" }.count
        let plaintext: SecretBytes
        do {
            plaintext = try AgeFile.decrypt(file, identities: key.identities, maxPlaintext: Self.maxPlaintext)
        } catch {
            throw VaultError.decrypting(path, error, keySource: key.source)
        }
        return try body(plaintext, key)
    }

    /// Decrypts the vault again with a key that opened it before (a reload).
    public func open(with key: UnlockedKey) throws(VaultError) -> VaultDocument {
        let file = try readCiphertext()
        let plaintext: SecretBytes
        do {
            plaintext = try AgeFile.decrypt(file, identities: key.identities, maxPlaintext: Self.maxPlaintext)
        } catch {
            throw VaultError.decrypting(path, error, keySource: key.source)
        }
        return try VaultDocument.parse(taking: plaintext)
    }

    /// The recipients a new version of the vault is encrypted to.
    func recipients(for doc: VaultDocument, key: UnlockedKey) throws(VaultError) -> [any Recipient] {
        if let p = key.passphraseRecipient { return [p] }
        if doc.recipients.isEmpty {
            let own = key.ownRecipients
            guard !own.isEmpty else { throw VaultError(.input, "no recipients to encrypt the vault to") }
            // A vault made with `age -r A -r B` lists nobody in its document: writing
            // it to our key alone would silently lock the others out.
            guard key.headerStanzas <= 1 else {
                throw VaultError(.input, "\(path) is encrypted to \(key.headerStanzas) recipients, but its document does not list them",
                                 hints: ["nothing was changed; list them first: run-with-keys recipients add age1… (once per other recipient)",
                                         "your own recipient is \(own[0])"])
            }
            return own
        }
        var out: [any Recipient] = []
        for r in doc.recipients {
            do { out.append(try X25519Recipient(parsing: r)) } catch {
                throw VaultError(.format, "vault document: \(error)")
            }
        }
        return out
    }

    /// Locked read-modify-write. `change` may throw to abort; nothing is written then.
    @discardableResult
    public func update<R>(_ options: KeyOptions, _ change: (inout VaultDocument, UnlockedKey) throws(VaultError) -> R) throws(VaultError) -> R {
        try requireExists()   // before the lock: a failed command leaves no stray lock file
        let lock = try acquireLock()
        defer { close(lock) }
        var (doc, key) = try open(options)
        let result = try change(&doc, key)
        doc.pruneExpiredPrevious(now: Clock.system.now())
        try write(doc, to: try recipients(for: doc, key: key))
        return result
    }

    /// Creates a new vault (fails if one exists).
    public func create(_ doc: VaultDocument, recipients: [any Recipient]) throws(VaultError) {
        try Sys.makeDirectories(Sys.directory(of: path))
        let lock = try acquireLock()
        defer { close(lock) }
        guard !Sys.exists(path) else {
            throw VaultError(.io, "a vault already exists at \(path)", hints: ["nothing was changed"])
        }
        try write(doc, to: recipients)
    }

    func acquireLock() throws(VaultError) -> Int32 {
        let (fd, e) = Sys.open(lockPath, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw VaultError(.io, "can't open the lock file \(lockPath): \(Sys.errnoString(e))") }
        let start = MonotonicClock.nowMs()
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            guard e == EWOULDBLOCK || e == EINTR else {
                close(fd)
                throw VaultError(.io, "can't lock \(lockPath): \(Sys.errnoString(e))")
            }
            let waited = Int(MonotonicClock.nowMs() - start)   // elapsed, not sleeps counted: a busy machine oversleeps
            if waited >= lockTimeoutMs {
                close(fd)
                throw VaultError(.locked, "the vault \(path) is locked by another writer (waited \(Command.seconds(lockTimeoutMs)))",
                                 hints: ["another `run-with-keys set/rm/rotate` is running; try again, or raise --lock-timeout"])
            }
            usleep(UInt32(min(20, lockTimeoutMs - waited)) * 1000)
        }
        return fd
    }

    /// Encrypts and atomically replaces the vault. Call with the lock held.
    func write(_ doc: VaultDocument, to recipients: [any Recipient]) throws(VaultError) {
        let plaintext = doc.serialize()
        let file: [UInt8]
        do { file = try AgeFile.encrypt(plaintext, to: recipients) } catch {
            throw VaultError(.io, "can't encrypt the vault: \(error)")
        }
        let tmp = tempPath
        unlink(tmp)  // a stale temp file from a writer that was killed
        let (fd, e) = Sys.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw VaultError(.io, "can't create \(tmp): \(Sys.errnoString(e))") }
        let werr = file.withUnsafeBytes { Sys.writeAll(fd, $0) }
        let serr = fsync(fd) == 0 ? 0 : errno
        close(fd)
        guard werr == 0, serr == 0 else {
            unlink(tmp)
            throw VaultError(.io, "can't write \(tmp): \(Sys.errnoString(werr != 0 ? werr : serr))", hints: ["the vault was not changed"])
        }
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw VaultError(.io, "can't replace \(path): \(Sys.errnoString(e))", hints: ["the vault was not changed"])
        }
        Sys.fsyncDirectory(of: path)
    }
}
