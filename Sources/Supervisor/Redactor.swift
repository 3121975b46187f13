import Age
import Glibc

// Streaming redaction of secret values in the bot's stdout/stderr.
//
// Matching: every occurrence of every pattern is replaced with
// `[redacted:NAME]`; where patterns overlap, the earliest start wins, and at
// one start the longest pattern wins (leftmost-longest, non-overlapping). The
// result does not depend on how the stream is cut into `feed` calls, as long
// as `flush` is only called when the writer has gone quiet.
//
// Scanning is Wu–Manber: a window of m bytes (m = the shortest pattern, at
// most 255) slides over the text, and a shift table indexed by a 12-bit hash
// of the window's last two bytes (its last byte when m = 1) says how far it
// may jump without skipping a possible match start. On ordinary output most
// windows jump by nearly m, so the expected cost is well under one table
// look-up per byte; only starts with a shift of 0 are compared against the
// patterns. The worst case (output built to resemble the secrets) is
// O(n · Σ|pattern|).
//
// The shift table and the first-byte table are derived from the secrets, so
// they live in the same guarded `SecretBytes` as the pattern bytes and the
// hold-back buffer: one mprotect pair per `feed`.

/// The secrets to redact, collected before building a `Redactor`.
///
/// For each value three forms are matched, all shown as `[redacted:NAME]`:
/// the raw bytes; their JSON string escape (`"` `\` → `\"` `\\`, control
/// characters → `\n` `\r` `\t` `\b` `\f` or `\u00xx`) when it differs; and,
/// when the value contains `/`, the same escape with `/` → `\/`. Non-ASCII
/// characters escaped as `\uXXXX` (Python's default `ensure_ascii`) are not
/// covered. Empty values are ignored. Very short values (1–3 bytes) are
/// redacted too, but they shrink the scanner's window and will also mask
/// innocent text that happens to contain them.
public struct RedactionPatterns: ~Copyable {
    struct Entry { let name: String; let offset: Int; let count: Int }

    var bytes = SecretBuilder(capacity: 256)
    var entries: [Entry] = []

    public init() {}

    /// Forms stored so far (raw and escaped), duplicates included.
    public var count: Int { entries.count }

    public mutating func add(name: String, value: borrowing SecretBytes) {
        guard value.count > 0 else { return }
        let (escapes, slashes) = value.withUnsafeBytes { jsonEscapeNeeds($0) }
        append(name: name) { $0.append(value) }
        if escapes { appendEscaped(name: name, value: value, escapeSlash: false) }
        if slashes { appendEscaped(name: name, value: value, escapeSlash: true) }
    }

    private mutating func appendEscaped(name: String, value: borrowing SecretBytes, escapeSlash: Bool) {
        append(name: name) { builder in
            builder.appendInPlace(maxCount: value.count * 6) { dst in
                value.withUnsafeBytes { jsonEscape($0, into: dst, escapeSlash: escapeSlash) }
            }
        }
    }

    private mutating func append(name: String, _ write: (inout SecretBuilder) -> Void) {
        let offset = bytes.count
        write(&bytes)
        entries.append(Entry(name: name, offset: offset, count: bytes.count - offset))
    }

    consuming func finish() -> SecretBytes { bytes.finish() }
}

/// Masks secrets in a byte stream, holding back bytes that may be the start
/// of one. Not thread-safe and not re-entrant: call `feed` and `flush` from
/// the supervisor's one thread, and not from inside `emit`.
public final class Redactor {
    /// One guarded region: [shift table | first-byte table | patterns | hold-back buffer].
    private var store: SecretBytes
    /// Per pattern: offset in `store` and length. Lengths and names are not secret.
    private let offsets: UnsafeMutableBufferPointer<Int>
    private let lengths: UnsafeMutableBufferPointer<Int>
    private let replacements: [[UInt8]]
    /// Window length m and hash block (1 or 2 bytes).
    private let window: Int
    private let block: Int
    private let maxLength: Int
    /// Offsets in `store` of the first-byte table and of the hold-back buffer.
    private let firstByteTable: Int
    private let held: Int
    private var pendingCount = 0

    public init(patterns: consuming RedactionPatterns) {
        let entries = patterns.entries
        let raw = patterns.finish()
        let kept = raw.withUnsafeBytes { Redactor.distinct(entries, in: $0) }

        window = min(kept.map(\.count).min() ?? 1, 255)
        block = window >= 2 ? 2 : 1
        maxLength = kept.map(\.count).max() ?? 0
        firstByteTable = block == 2 ? Redactor.pairTableSize : 256
        var at = firstByteTable + 256
        offsets = .allocate(capacity: kept.count)
        lengths = .allocate(capacity: kept.count)
        for (i, entry) in kept.enumerated() {
            offsets[i] = at
            lengths[i] = entry.count
            at += entry.count
        }
        held = at
        replacements = kept.map { Array("[redacted:\($0.name)]".utf8) }

        // Matches starting in the held bytes (< maxLength) end within maxLength more.
        store = SecretBytes(count: held + 2 * maxLength)
        store.withUnsafeMutableBytes { dst in
            raw.withUnsafeBytes { src in
                for (i, entry) in kept.enumerated() {
                    (dst.baseAddress! + offsets[i]).copyMemory(from: src.baseAddress! + entry.offset,
                                                               byteCount: entry.count)
                }
            }
            buildTables(dst.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    deinit {
        offsets.deallocate()
        lengths.deallocate()
    }

    /// Whether bytes are held back, waiting for more input or a `flush`.
    public var hasPending: Bool { pendingCount > 0 }
    /// How many bytes are held back because they could begin a secret.
    public var pendingBytes: Int { pendingCount }

    /// Feeds bytes read from the bot; `emit` receives, in order, the bytes
    /// safe to write now (the pointer is valid only during the call). Bytes
    /// that may be the start of a secret are held back until the next `feed`
    /// or `flush`.
    public func feed(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) -> Void) {
        guard input.count > 0 else { return }
        guard lengths.count > 0 else { return emit(input) }
        let text = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        store.withUnsafeMutableBytes { raw in
            let mem = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let held = mem + self.held
            var start = 0
            if pendingCount > 0 {
                // Matches starting in the held bytes end at most maxLength bytes later.
                let k = min(input.count, maxLength)
                (held + pendingCount).initialize(from: text, count: k)
                let n = pendingCount + k
                switch scan(mem, held, n, from: 0, limit: pendingCount, final: false, emit) {
                case .hold(let p):
                    precondition(k == input.count, "redactor: hold-back beyond the longest secret")
                    keep(held, from: p, count: n)
                    return
                case .resume(let s):
                    explicit_bzero(held, n)
                    pendingCount = 0
                    start = s - (n - k)
                }
            }
            if case .hold(let p) = scan(mem, text, input.count, from: start, limit: input.count, final: false, emit) {
                held.initialize(from: text + p, count: input.count - p)
                pendingCount = input.count - p
            }
        }
    }

    /// Emits the held-back bytes, redacting any complete secret among them and
    /// passing a partial prefix through unchanged (a prefix is not the secret).
    /// Call it when the bot has gone quiet (a few ms after the last `feed`)
    /// and at end of file. A bot that pauses longer than that in the middle
    /// of writing a secret gets it printed in pieces: the redactor sees only
    /// bytes, not the bot's intent.
    public func flush(emit: (UnsafeRawBufferPointer) -> Void) {
        guard pendingCount > 0 else { return }
        store.withUnsafeMutableBytes { raw in
            let mem = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let held = mem + self.held
            _ = scan(mem, held, pendingCount, from: 0, limit: pendingCount, final: true, emit)
            explicit_bzero(held, pendingCount)
            pendingCount = 0
        }
    }

    // MARK: - Scanning

    private enum Outcome { case resume(Int), hold(Int) }
    private enum Candidate { case none, match(Int), undecided }

    /// Scans `t[from..<n]`, emitting plain bytes and replacements, for match
    /// starts below `limit`. Returns `.resume(s)` once everything before `s`
    /// is emitted and no start below `limit` remains, or `.hold(p)` when the
    /// bytes from `p` on may begin a secret that continues past `n` (never
    /// when `final`).
    private func scan(_ mem: UnsafeMutablePointer<UInt8>, _ t: UnsafePointer<UInt8>, _ n: Int,
                      from: Int, limit: Int, final: Bool,
                      _ emit: (UnsafeRawBufferPointer) -> Void) -> Outcome {
        let m = window
        let shift = UnsafePointer(mem)
        var s = from
        var emitted = from
        func flushPlain(to end: Int) {
            if end > emitted { emit(UnsafeRawBufferPointer(start: t + emitted, count: end - emitted)) }
        }
        while s < limit && s + m <= n {
            let j = s + m - 1
            let h = block == 2 ? Redactor.pairHash(t[j - 1], t[j]) : Int(t[j])
            let jump = Int(shift[h])
            if jump != 0 { s += jump; continue }
            switch candidate(mem, t, n, at: s, final: final) {
            case .none:
                s += 1
            case .match(let i):
                flushPlain(to: s)
                replacements[i].withUnsafeBytes(emit)
                s += lengths[i]
                emitted = s
            case .undecided:
                flushPlain(to: s)
                return .hold(s)
            }
        }
        if s >= limit || final {
            // Past `limit`, or fewer than m bytes left at the end of the stream.
            let end = s >= limit ? s : n
            flushPlain(to: end)
            return .resume(end)
        }
        // Fewer than m bytes left: hold from the first one that begins a prefix.
        let first = mem + firstByteTable
        for p in s..<n where first[Int(t[p])] != 0 && isPrefix(mem, t + p, n - p) {
            flushPlain(to: p)
            return .hold(p)
        }
        flushPlain(to: n)
        return .resume(n)
    }

    /// The longest pattern at `t[s...]`, or `.undecided` if a longer one may
    /// still match once more bytes arrive.
    private func candidate(_ mem: UnsafeMutablePointer<UInt8>, _ t: UnsafePointer<UInt8>, _ n: Int,
                           at s: Int, final: Bool) -> Candidate {
        let available = n - s
        let here = t + s
        var best = -1
        var bestLength = 0
        for i in 0..<lengths.count {
            let pattern = mem + offsets[i]
            let length = lengths[i]
            guard pattern[0] == here[0] else { continue }
            if length <= available {
                if length > bestLength && memcmp(here, pattern, length) == 0 {
                    best = i
                    bestLength = length
                }
            } else if !final && memcmp(here, pattern, available) == 0 {
                return .undecided
            }
        }
        return best >= 0 ? .match(best) : .none
    }

    /// Whether the `count` bytes at `p` begin some pattern longer than `count`.
    private func isPrefix(_ mem: UnsafeMutablePointer<UInt8>, _ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        for i in 0..<lengths.count where lengths[i] > count && memcmp(p, mem + offsets[i], count) == 0 {
            return true
        }
        return false
    }

    /// Moves `held[from..<count]` to the front and wipes the rest.
    private func keep(_ held: UnsafeMutablePointer<UInt8>, from: Int, count: Int) {
        let kept = count - from
        if from > 0 {
            memmove(held, held + from, kept)
            explicit_bzero(held + kept, count - kept)
        }
        pendingCount = kept
    }

    // MARK: - Building

    /// Two bytes hashed to 12 bits, as in Wu–Manber's paper. A 4 KiB table
    /// instead of 64 KiB keeps the guarded region to a few pages, which is
    /// what each `feed`'s mprotect pair costs.
    private static let pairTableSize = 4096
    @inline(__always)
    private static func pairHash(_ a: UInt8, _ b: UInt8) -> Int { (Int(a) << 4 ^ Int(b)) & 0xFFF }

    /// Entries with distinct bytes, first occurrence kept (its name wins).
    private static func distinct(_ entries: [RedactionPatterns.Entry],
                                 in bytes: UnsafeRawBufferPointer) -> [RedactionPatterns.Entry] {
        var kept: [RedactionPatterns.Entry] = []
        for e in entries where e.count > 0 {
            let duplicate = kept.contains {
                $0.count == e.count && memcmp(bytes.baseAddress! + $0.offset, bytes.baseAddress! + e.offset, e.count) == 0
            }
            if !duplicate { kept.append(e) }
        }
        return kept
    }

    /// Wu–Manber shift table over each pattern's first `window` bytes, and the
    /// first-byte table used for the last, partial window.
    private func buildTables(_ mem: UnsafeMutablePointer<UInt8>) {
        let (m, b) = (window, block)
        mem.initialize(repeating: UInt8(m - b + 1), count: firstByteTable)
        for i in 0..<offsets.count {
            let p = mem + offsets[i]
            mem[firstByteTable + Int(p[0])] = 1
            for q in (b - 1)..<m {
                let h = b == 2 ? Redactor.pairHash(p[q - 1], p[q]) : Int(p[q])
                mem[h] = min(mem[h], UInt8(m - 1 - q))
            }
        }
    }
}

// MARK: - JSON escaping

/// Whether JSON would escape anything in `value` besides `/`, and whether it contains `/`.
func jsonEscapeNeeds(_ value: UnsafeRawBufferPointer) -> (escapes: Bool, slashes: Bool) {
    var escapes = false
    var slashes = false
    for byte in value {
        if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { escapes = true }
        if byte == UInt8(ascii: "/") { slashes = true }
    }
    return (escapes, slashes)
}

/// Writes the JSON string escape of `value` (without quotes) into `dst`,
/// which holds at least 6 bytes per input byte; returns the bytes written.
func jsonEscape(_ value: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, escapeSlash: Bool) -> Int {
    let hex: StaticString = "0123456789abcdef"
    var n = 0
    func put(_ byte: UInt8) { dst[n] = byte; n += 1 }
    for byte in value {
        let short: UInt8?
        switch byte {
        case UInt8(ascii: "\""): short = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): short = UInt8(ascii: "\\")
        case UInt8(ascii: "/") where escapeSlash: short = UInt8(ascii: "/")
        case 0x08: short = UInt8(ascii: "b")
        case 0x0C: short = UInt8(ascii: "f")
        case 0x0A: short = UInt8(ascii: "n")
        case 0x0D: short = UInt8(ascii: "r")
        case 0x09: short = UInt8(ascii: "t")
        default: short = nil
        }
        if let short {
            put(UInt8(ascii: "\\")); put(short)
        } else if byte < 0x20 {
            for c in "\\u00".utf8 { put(c) }
            put(hex.utf8Start[Int(byte >> 4)]); put(hex.utf8Start[Int(byte & 0xF)])
        } else {
            put(byte)
        }
    }
    return n
}
