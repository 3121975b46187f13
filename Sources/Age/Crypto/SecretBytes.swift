import CSodium
import Glibc

/// libsodium must be initialised once before any other call.
enum Sodium {
    static let ready: Void = {
        if sodium_init() < 0 { fatalError("run-with-keys: libsodium failed to initialise") }
    }()
}

/// Bytes that must never leak: keys, passphrases, decrypted vault payloads,
/// secret values.
///
/// The memory comes from a guarded arena (`GuardedArena`): guard pages around
/// the arena, `mlock`ed where the rlimit allows, excluded from core dumps, and
/// zeroed in forked children (MADV_WIPEONFORK; see `inheritedByChildren`). The
/// arena is PROT_NONE while no secret in it is inside `withUnsafeBytes`/
/// `withUnsafeMutableBytes`, except during a launch window
/// (`GuardedMemory.openLaunchWindow`). Freeing wipes the bytes. The type is
/// non-copyable, so the bytes exist exactly once; there is deliberately no way
/// to turn it into a `String`, `Array` or `Data`.
public struct SecretBytes: ~Copyable {
    private let base: UnsafeMutableRawPointer
    /// The arena holding the bytes; nil for an empty value.
    private let arena: GuardedArena.Arena?
    /// The length in bytes, fixed for the value's life.
    public let count: Int

    /// Stands in for the buffer of an empty value: nothing to guard, no pages to spend.
    nonisolated(unsafe) private static let emptyBase = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16)

    /// `count` zero bytes, in a shared guarded arena. An empty value allocates no guarded memory.
    public init(count: Int) { self.init(count: count, ownPages: false) }

    /// `ownPages`: in a mapping of its own, which nothing else shares.
    init(count: Int, ownPages: Bool) {
        precondition(count >= 0)
        self.count = count
        if count == 0 { base = Self.emptyBase; arena = nil; return }
        Sodium.ready
        (base, arena) = GuardedArena.allocate(count, ownPages: ownPages)
    }

    /// True once guarded memory could not be marked MADV_WIPEONFORK (a kernel
    /// before 4.14): forked children then hold copies of guarded memory.
    public static var wipeOnForkFailed: Bool { GuardedArena.wipeOnForkFailed }
    /// True once some guarded memory could not be locked (`mlock` failed, mlock(2):
    /// RLIMIT_MEMLOCK too small): secrets there may reach swap.
    public static var lockFailed: Bool { GuardedArena.lockFailed }

    /// A copy of these bytes in pages of their own that a forked child inherits
    /// after all (MADV_KEEPONFORK): only for what the child itself must read
    /// before its exec, the bot's environment block (the PID namespace's init
    /// forks the bot, then unmaps those pages).
    public consuming func inheritedByChildren() -> SecretBytes {
        let copy = withUnsafeBytes { bytes in
            var own = SecretBytes(count: bytes.count, ownPages: true)
            own.withUnsafeMutableBytes { if bytes.count > 0 { $0.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) } }
            return own
        }
        if copy.count > 0 { _ = rwk_wipe_on_fork(copy.base, copy.count, 1) }
        return copy
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
        // Wiped, then the slot goes back to its arena.
        if let arena { GuardedArena.free(base, count, in: arena) }
    }

    private func enter(_ wanted: UInt8) -> UInt8 {
        if let arena { GuardedArena.enter(arena) }
        return wanted
    }

    private func leave(_ previous: UInt8) {
        if let arena { GuardedArena.leave(arena) }
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

    /// Starts with room for `capacity` bytes (at least 16); appends beyond that double the storage,
    /// copying into a new guarded buffer and freeing (wiping) the old one.
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

    /// Appends a copy of `bytes`, growing the storage as needed.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count)
        let at = count
        storage.withUnsafeMutableBytes { dst in
            (dst.baseAddress! + at).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        count += bytes.count
    }

    /// Appends one byte.
    public mutating func append(_ byte: UInt8) {
        withUnsafeBytes(of: byte) { append($0) }
    }

    /// Appends non-secret text (JSON punctuation, names, timestamps).
    public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends a copy of `secret`'s bytes; `secret` itself is left as it was.
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
