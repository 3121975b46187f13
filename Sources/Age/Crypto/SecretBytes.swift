import CSodium

/// libsodium must be initialised once before any other call.
enum Sodium {
    static let ready: Void = {
        if sodium_init() < 0 { fatalError("run-with-keys: libsodium failed to initialise") }
    }()
}

/// Bytes that must never leak: keys, passphrases, decrypted vault payloads,
/// secret values.
///
/// The memory comes from `sodium_malloc`: guard pages on both sides, a canary,
/// `mlock`ed where the rlimit allows, excluded from core dumps, and zeroed in
/// forked children (MADV_WIPEONFORK; see `inheritedByChildren`). It is kept
/// `PROT_NONE` while nobody is inside `withUnsafeBytes`/`withUnsafeMutableBytes`,
/// and `sodium_free` wipes it. The type is non-copyable, so the bytes exist
/// exactly once; there is deliberately no way to turn it into a `String`,
/// `Array` or `Data`.
public struct SecretBytes: ~Copyable {
    private let base: UnsafeMutableRawPointer
    /// Current protection: 0 no access, 1 read-only, 2 read-write. Kept out of
    /// line so that nested `with…` calls on a borrowed value can restore it.
    private let mode: UnsafeMutablePointer<UInt8>
    public let count: Int

    /// Stands in for the buffer of an empty value: nothing to guard, no pages to spend.
    nonisolated(unsafe) private static let emptyBase = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16)

    /// `count` zero bytes. An empty value allocates no guarded pages.
    public init(count: Int) {
        precondition(count >= 0)
        self.count = count
        mode = .allocate(capacity: 1)
        mode.pointee = 0
        if count == 0 { base = Self.emptyBase; mode.pointee = 2; return }
        Sodium.ready
        guard let p = sodium_malloc(count) else {
            fatalError("run-with-keys: out of guarded memory (sodium_malloc of \(count) bytes)")
        }
        sodium_memzero(p, count)
        base = p
        // A forked child (the bot's namespace init, which lives as long as the
        // bot, or a child before its exec) gets zeros here, not a copy.
        if rwk_wipe_on_fork(base, count, 0) != 0 { Self.wipeOnForkFailed = true }
        sodium_mprotect_noaccess(base)
    }

    /// True once an allocation could not be marked MADV_WIPEONFORK (a kernel
    /// before 4.14): forked children then hold copies of guarded memory.
    nonisolated(unsafe) public private(set) static var wipeOnForkFailed = false

    /// Lets a forked child inherit these bytes after all (MADV_KEEPONFORK):
    /// only for what the child itself must read before its exec, the bot's
    /// environment block.
    public func inheritedByChildren() {
        if count > 0 { _ = rwk_wipe_on_fork(base, count, 1) }
    }

    /// A copy of `bytes`. Meant for bytes that already live in guarded memory
    /// or are not secret (tests, fixed vectors).
    public init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        withUnsafeMutableBytes { dst in
            if let src = bytes.baseAddress, bytes.count > 0 {
                dst.baseAddress!.copyMemory(from: src, byteCount: bytes.count)
            }
        }
    }

    /// `count` random bytes from the kernel CSPRNG.
    public static func random(count: Int) -> SecretBytes {
        var s = SecretBytes(count: count)
        s.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
        return s
    }

    deinit {
        // sodium_free makes the region writable again, wipes it and unmaps it.
        if count > 0 { sodium_free(base) }
        mode.deallocate()
    }

    private func enter(_ wanted: UInt8) -> UInt8 {
        let previous = mode.pointee
        if count == 0 { return previous }
        if wanted > previous {
            if wanted == 2 { sodium_mprotect_readwrite(base) } else { sodium_mprotect_readonly(base) }
            mode.pointee = wanted
        }
        return previous
    }

    private func leave(_ previous: UInt8) {
        if count > 0 && mode.pointee != previous {
            switch previous {
            case 0: sodium_mprotect_noaccess(base)
            case 1: sodium_mprotect_readonly(base)
            default: sodium_mprotect_readwrite(base)
            }
            mode.pointee = previous
        }
    }

    /// Opens the buffer for writing until `endWriting()`; nested `with…` calls in
    /// between cost no mprotect. For builders that append many small pieces.
    func beginWriting() -> UInt8 { enter(2) }
    func endWriting(_ previous: UInt8) { leave(previous) }

    /// Read access for the duration of `body`. Do not let the pointer escape.
    public func withUnsafeBytes<R: ~Copyable, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let previous = enter(1)
        defer { leave(previous) }
        return try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Write access for the duration of `body`.
    public mutating func withUnsafeMutableBytes<R: ~Copyable, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let previous = enter(2)
        defer { leave(previous) }
        return try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// Write access from a borrowed value. Only for code that owns the
    /// allocation logically (builders, decoders filling a fresh buffer).
    public func withUnsafeMutableBytesUnchecked<R: ~Copyable, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let previous = enter(2)
        defer { leave(previous) }
        return try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// Constant-time comparison.
    public func constantTimeEquals(_ other: borrowing SecretBytes) -> Bool {
        guard count == other.count else { return false }
        if count == 0 { return true }
        return withUnsafeBytes { a in
            other.withUnsafeBytes { b in sodium_memcmp(a.baseAddress!, b.baseAddress!, count) == 0 }
        }
    }

    /// Constant-time comparison with plain bytes (tests, known vectors).
    public func equals(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard count == bytes.count else { return false }
        if count == 0 { return true }
        return withUnsafeBytes { a in sodium_memcmp(a.baseAddress!, bytes.baseAddress!, count) == 0 }
    }

    /// A new buffer with bytes `range` of this one.
    public func slice(_ range: Range<Int>) -> SecretBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        return withUnsafeBytes { SecretBytes(copying: UnsafeRawBufferPointer(rebasing: $0[range])) }
    }
}

/// A growable guarded buffer, for building documents that contain secrets.
public struct SecretBuilder: ~Copyable {
    private var storage: SecretBytes
    public private(set) var count: Int = 0
    /// The storage stays writable while the builder lives (one mprotect pair, not
    /// one per append); `finish` closes it. A builder dropped without `finish` is
    /// freed (and wiped) with its storage. (No deinit here: a ~Copyable struct
    /// with a deinit was miscompiled across modules by Swift 6.3.)
    private var restore: UInt8

    public init(capacity: Int = 4096) {
        storage = SecretBytes(count: Swift.max(capacity, 16))
        restore = storage.beginWriting()
    }

    private mutating func reserve(_ extra: Int) {
        guard count + extra > storage.count else { return }
        var newCapacity = storage.count * 2
        while newCapacity < count + extra { newCapacity *= 2 }
        var bigger = SecretBytes(count: newCapacity)
        let used = count
        storage.withUnsafeBytes { old in
            bigger.withUnsafeMutableBytes { new in
                if used > 0 { new.baseAddress!.copyMemory(from: old.baseAddress!, byteCount: used) }
            }
        }
        storage.endWriting(restore)
        storage = bigger
        restore = storage.beginWriting()
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count)
        let at = count
        storage.withUnsafeMutableBytes { dst in
            (dst.baseAddress! + at).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        count += bytes.count
    }

    public mutating func append(_ byte: UInt8) {
        withUnsafeBytes(of: byte) { append($0) }
    }

    /// Appends non-secret text (JSON punctuation, names, timestamps).
    public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    public mutating func append(_ secret: borrowing SecretBytes) {
        secret.withUnsafeBytes { append($0) }
    }

    /// Appends `count` bytes produced in place by `fill`, which returns how many it wrote.
    public mutating func appendInPlace(maxCount: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) rethrows {
        reserve(maxCount)
        let at = count
        let written = try storage.withUnsafeMutableBytes { dst in
            try fill(UnsafeMutableRawBufferPointer(rebasing: dst[at..<(at + maxCount)]))
        }
        precondition(written >= 0 && written <= maxCount)
        count += written
    }

    /// The bytes appended so far, in a buffer of exactly that size.
    public consuming func finish() -> SecretBytes {
        let out = storage.slice(0..<count)
        storage.endWriting(restore)
        return out
    }
}
