import Profile
import Age
import Glibc
import Launch

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
// patterns whose window ends on the same hash. The worst case (output built
// to resemble the secrets) is O(n · Σ|pattern|).
//
// The shift table, the first-byte table and the window-end hashes are derived
// from the secrets, so they live in the same guarded `SecretBytes` as the
// pattern bytes and the hold-back buffer: one mprotect pair per `feed`.
//
// Each secret is registered in several forms (`RedactionForm`: raw, and the
// escapes JSON serializers print by default); values shorter than
// `RedactionPatterns.minimumLength` are not registered.

/// The secrets to redact, collected before building a `Redactor`.
///
/// Each value is matched in every form in `RedactionForm` (the raw bytes, the
/// JSON string escapes common serializers emit by default, and the pty's
/// `\r\n` rendering of a multi-line value); every form is shown as
/// `[redacted:NAME]`. A form is stored only when its bytes differ from the
/// forms already stored for that value. Values shorter than
/// `minimumLength` bytes (empty ones included) are not registered at all.
public struct RedactionPatterns: ~Copyable {
    struct Entry { let name: String; let offset: Int; let count: Int }

    /// Values shorter than this many bytes are not redacted: a 3-byte value
    /// turns ordinary words in the output into `[redacted:…]` noise, and
    /// shrinks the scanner's window (and so its speed). `run` and `check`
    /// warn about each such key (`shortValueWarning`).
    public static let minimumLength = 6

    /// Whether a value of `count` bytes is too short to be redacted (`minimumLength`).
    public static func isTooShort(_ count: Int) -> Bool { count < minimumLength }

    /// The warning `run` and `check` print for a value that `add` will not
    /// register: the secret's name and its length in bytes, never the value.
    public static func shortValueWarning(name: String, count: Int) -> String {
        "secret \(name) is \(count) bytes, too short to redact without masking ordinary output; it is passed through unredacted"
    }

    /// The hint that goes with `shortValueWarning`.
    public static let shortValueHint =
        "use a value of at least \(minimumLength) bytes, or set redact = false under [output] to say that no redaction is expected"

    var bytes = SecretBuilder(capacity: 256)
    var entries: [Entry] = []

    /// An empty set: `add` each secret, then hand it to `Redactor(patterns:)`.
    public init() {}

    /// Forms stored so far, over all names. Within one value every stored form
    /// is distinct; two names with the same value each store theirs (the
    /// `Redactor` keeps the first).
    public var count: Int { entries.count }

    /// Registers `value` under `name` in each form of `RedactionForm` that
    /// applies to it, skipping duplicates. Does nothing for values shorter
    /// than `minimumLength` bytes. The forms are written straight into guarded
    /// memory: a scratch `SecretBytes` (wiped when `add` returns), then the
    /// pattern store.
    public mutating func add(name: String, value: borrowing SecretBytes) {
        guard !Self.isTooShort(value.count) else { return }
        let forms = RedactionForm.allCases
        let slot = value.count * RedactionForm.maxExpansion
        var scratch = SecretBytes(count: slot * forms.count)
        scratch.withUnsafeMutableBytes { out in
            value.withUnsafeBytes { v in
                var written: [(offset: Int, count: Int)] = []   // lengths only, in `scratch`
                for (k, form) in forms.enumerated() {
                    let dst = UnsafeMutableRawBufferPointer(rebasing: out[(k * slot)..<((k + 1) * slot)])
                    guard let n = form.write(v, into: dst) else { continue }
                    let duplicate = written.contains {
                        $0.count == n && memcmp(out.baseAddress! + $0.offset, dst.baseAddress!, n) == 0
                    }
                    if duplicate { continue }
                    written.append((k * slot, n))
                    append(name: name) { $0.append(UnsafeRawBufferPointer(rebasing: dst[0..<n])) }
                }
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

extension RedactionPatterns {
    /// The injected secrets of `plan` that are too short to redact
    /// (`isTooShort`): one entry per secret name, in the profile's order, with
    /// the value's length in bytes. Empty when the profile has `redact = false`.
    public static func tooShort(in plan: LaunchPlan) -> [(name: String, count: Int)] {
        guard plan.profile.output.redact else { return [] }
        var found: [(name: String, count: Int)] = []
        for s in plan.secrets where isTooShort(s.value.count) && !found.contains(where: { $0.name == s.secret }) {
            found.append((s.secret, s.value.count))
        }
        return found
    }
}

/// Masks secrets in a byte stream, holding back bytes that may be the start
/// of one. Not thread-safe and not re-entrant: call `feed` and `flush` from
/// the supervisor's one thread, and not from inside `emit`.
public final class Redactor {
    /// One guarded region: [shift table | first-byte table | window-end hashes | patterns | hold-back buffer].
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
    /// Offset in `store` of the window-end index: per pattern, the shift-table
    /// index its first `window` bytes end on and the pattern's number (two
    /// UInt16s), sorted by the former. A start with shift 0 is compared only
    /// against the patterns whose hash is the window's, found by binary search.
    private let endHashes: Int
    private let held: Int
    private var pendingCount = 0

    /// Builds the scanner, consuming `patterns`: their bytes are copied into the redactor's own guarded
    /// store and theirs freed. A form two names share is shown with the first name; with no patterns,
    /// `feed` passes every byte through.
    public init(patterns: consuming RedactionPatterns) {
        let entries = patterns.entries
        let raw = patterns.finish()
        let kept = raw.withUnsafeBytes { Redactor.distinct(entries, in: $0) }

        window = min(kept.map(\.count).min() ?? 1, 255)
        block = window >= 2 ? 2 : 1
        maxLength = kept.map(\.count).max() ?? 0
        firstByteTable = block == 2 ? Redactor.pairTableSize : 256
        endHashes = firstByteTable + 256
        precondition(kept.count <= Int(UInt16.max), "redactor: too many patterns")
        var at = endHashes + 4 * kept.count
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
            switch candidate(mem, t, n, at: s, hash: h, final: final) {
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
                           at s: Int, hash: Int, final: Bool) -> Candidate {
        let available = n - s
        let here = t + s
        var best = -1
        var bestLength = 0
        let ends = UnsafeRawPointer(mem + endHashes)
        func endHash(_ k: Int) -> Int { Int(ends.loadUnaligned(fromByteOffset: 4 * k, as: UInt16.self)) }
        var (k, upper) = (0, lengths.count)
        while k < upper {   // first entry with endHash >= hash
            let mid = (k + upper) / 2
            if endHash(mid) < hash { k = mid + 1 } else { upper = mid }
        }
        while k < lengths.count && endHash(k) == hash {
            let i = Int(ends.loadUnaligned(fromByteOffset: 4 * k + 2, as: UInt16.self))
            k += 1
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
        for i in 0..<lengths.count where lengths[i] > count && mem[offsets[i]] == p[0] && memcmp(p, mem + offsets[i], count) == 0 {
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

    /// Two bytes hashed to 12 bits, as in Wu–Manber's paper: the first byte's
    /// low 6 bits shifted over the second byte (xor), so pairs of printable
    /// ASCII reach the whole table (a shift of 4 left two thirds of it unused
    /// and doubled the compares at shift-0 windows). A 4 KiB table instead of
    /// 64 KiB keeps the guarded region to a few pages, which is what each
    /// `feed`'s mprotect pair costs.
    private static let pairTableSize = 4096
    @inline(__always)
    private static func pairHash(_ a: UInt8, _ b: UInt8) -> Int { (Int(a) << 6 ^ Int(b)) & 0xFFF }

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

    /// Wu–Manber shift table over each pattern's first `window` bytes, the
    /// first-byte table used for the last, partial window, and the sorted
    /// window-end index.
    private func buildTables(_ mem: UnsafeMutablePointer<UInt8>) {
        let (m, b) = (window, block)
        mem.initialize(repeating: UInt8(m - b + 1), count: firstByteTable)
        for i in 0..<offsets.count {
            let p = mem + offsets[i]
            mem[firstByteTable + Int(p[0])] = 1
            for q in (b - 1)..<m {
                let h = b == 2 ? Redactor.pairHash(p[q - 1], p[q]) : Int(p[q])
                mem[h] = min(mem[h], UInt8(m - 1 - q))
                if q == m - 1 { insertEnd(UnsafeMutableRawPointer(mem + endHashes), UInt16(h), pattern: UInt16(i), count: i) }
            }
        }
    }

    /// Inserts (hash, pattern) into the sorted window-end index `ends`, which holds `count` entries.
    private func insertEnd(_ ends: UnsafeMutableRawPointer, _ hash: UInt16, pattern: UInt16, count: Int) {
        var k = count
        while k > 0 && ends.loadUnaligned(fromByteOffset: 4 * (k - 1), as: UInt16.self) > hash {
            ends.storeBytes(of: ends.loadUnaligned(fromByteOffset: 4 * (k - 1), as: UInt32.self), toByteOffset: 4 * k, as: UInt32.self)
            k -= 1
        }
        ends.storeBytes(of: hash, toByteOffset: 4 * k, as: UInt16.self)
        ends.storeBytes(of: pattern, toByteOffset: 4 * k + 2, as: UInt16.self)
    }
}

// MARK: - Forms

/// The shapes in which a secret value can reach the bot's output. Each form
/// of a value is its own pattern. The JSON forms are the contents of a JSON
/// string (RFC 8259 §7) without the surrounding quotes, as the named
/// serializers write them with their default settings.
public enum RedactionForm: CaseIterable, Sendable {
    /// The value's bytes as they are.
    case raw
    /// Minimal JSON escaping (RFC 8259 §7): `"` `\` → `\"` `\\`; backspace,
    /// form feed, LF, CR, tab → `\b` `\f` `\n` `\r` `\t`; the other controls
    /// below U+0020 → `\u00xx` with lowercase hex; everything else, `/` and
    /// non-ASCII included, as it is. JavaScript's `JSON.stringify`, Python's
    /// `json.dumps(…, ensure_ascii=False)`, Rust's serde_json.
    case json
    /// `json` with uppercase hex in `\u00XX` (Java's Jackson).
    case jsonUppercaseHex
    /// Python's `json.dumps` default (`ensure_ascii=True`, see the `json`
    /// module docs): `json`, plus every character outside U+0020…U+007E (DEL
    /// and all non-ASCII) as `\uxxxx` with lowercase hex, characters above
    /// U+FFFF as a UTF-16 surrogate pair (`😀` → `\ud83d\ude00`). Not made
    /// for a value that is not valid UTF-8.
    case pythonASCII
    /// Go's `encoding/json` default (HTML-safe; see `HTMLEscape` in its docs):
    /// `json`, plus `<` `>` `&` → `\u003c` `\u003e` `\u0026` and U+2028,
    /// U+2029 → `\u2028` `\u2029`; other non-ASCII as it is; each byte that
    /// is not part of valid UTF-8 → `\ufffd`, as Go writes it. (Go before
    /// 1.22 wrote backspace and form feed as `\u0008` `\u000c`; not covered.)
    case goHTMLSafe
    /// `json` with `/` → `\/` (Swift's `JSONEncoder` default); non-ASCII as it is.
    case jsonEscapedSlash
    /// PHP's `json_encode` default: `json` with `/` → `\/`, and non-ASCII as
    /// `\uxxxx` lowercase (surrogate pairs above U+FFFF); DEL as it is. Not
    /// made for a value that is not valid UTF-8 (`json_encode` fails on it).
    case phpDefault
    /// The raw bytes with each LF written as CR LF: what a pty prints when
    /// its output processing (`OPOST|ONLCR`) is on. The supervisor's pty has
    /// it off, but the bot can switch it back on.
    case ptyCRLF

    /// The most bytes any form writes per byte of the value (`\u00XX` for a
    /// control byte; 12 for a 4-byte UTF-8 character as a surrogate pair).
    public static let maxExpansion = 6

    /// Writes this form of `value` into `dst` (at least `maxExpansion` bytes
    /// per byte of `value`) and returns the number of bytes written, or nil
    /// when the form does not exist for this value (invalid UTF-8).
    func write(_ value: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer) -> Int? {
        switch self {
        case .raw:
            if value.count > 0 { dst.baseAddress!.copyMemory(from: value.baseAddress!, byteCount: value.count) }
            return value.count
        case .ptyCRLF:
            var n = 0
            for byte in value {
                if byte == 0x0A { dst[n] = 0x0D; n += 1 }
                dst[n] = byte; n += 1
            }
            return n
        case .json: return jsonEscape(value, into: dst, JSONStyle())
        case .jsonUppercaseHex: return jsonEscape(value, into: dst, JSONStyle(uppercaseHex: true))
        case .pythonASCII:
            return jsonEscape(value, into: dst, JSONStyle(asciiOnly: true, escapeDEL: true, invalidUTF8: .noForm))
        case .goHTMLSafe: return jsonEscape(value, into: dst, JSONStyle(htmlSafe: true, invalidUTF8: .replacementCharacter))
        case .jsonEscapedSlash: return jsonEscape(value, into: dst, JSONStyle(escapeSlash: true))
        case .phpDefault: return jsonEscape(value, into: dst, JSONStyle(escapeSlash: true, asciiOnly: true, invalidUTF8: .noForm))
        }
    }
}

// MARK: - JSON escaping

/// What a JSON serializer escapes beyond RFC 8259's minimum.
struct JSONStyle {
    /// What happens to bytes that are not part of valid UTF-8.
    enum Invalid { case passThrough, replacementCharacter, noForm }
    /// `/` → `\/`.
    var escapeSlash = false
    /// `\u00XX` instead of `\u00xx`.
    var uppercaseHex = false
    /// Non-ASCII → `\uxxxx` (UTF-16 code units).
    var asciiOnly = false
    /// DEL (0x7F) → `\u007f`.
    var escapeDEL = false
    /// `<` `>` `&` U+2028 U+2029 → `\u003c` `\u003e` `\u0026` `\u2028` `\u2029`.
    var htmlSafe = false
    var invalidUTF8 = Invalid.passThrough
}

/// Writes the JSON string escape of `value` (without quotes) in `style` into
/// `dst`, which holds at least `RedactionForm.maxExpansion` bytes per input
/// byte; returns the bytes written, or nil for invalid UTF-8 when the style
/// says `.noForm`.
func jsonEscape(_ value: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, _ style: JSONStyle) -> Int? {
    let hex: StaticString = style.uppercaseHex ? "0123456789ABCDEF" : "0123456789abcdef"
    let decodes = style.asciiOnly || style.htmlSafe || style.invalidUTF8 != .passThrough
    var n = 0
    func put(_ byte: UInt8) { dst[n] = byte; n += 1 }
    func putUnit(_ unit: UInt32) {
        put(UInt8(ascii: "\\")); put(UInt8(ascii: "u"))
        for shift in stride(from: 12, through: 0, by: -4) { put(hex.utf8Start[Int(unit >> UInt32(shift) & 0xF)]) }
    }
    var i = 0
    while i < value.count {
        let byte = value[i]
        if byte < 0x80 {
            let short: UInt8?
            switch byte {
            case UInt8(ascii: "\""): short = UInt8(ascii: "\"")
            case UInt8(ascii: "\\"): short = UInt8(ascii: "\\")
            case UInt8(ascii: "/") where style.escapeSlash: short = UInt8(ascii: "/")
            case 0x08: short = UInt8(ascii: "b")
            case 0x0C: short = UInt8(ascii: "f")
            case 0x0A: short = UInt8(ascii: "n")
            case 0x0D: short = UInt8(ascii: "r")
            case 0x09: short = UInt8(ascii: "t")
            default: short = nil
            }
            if let short {
                put(UInt8(ascii: "\\")); put(short)
            } else if byte < 0x20 || (byte == 0x7F && style.escapeDEL)
                        || (style.htmlSafe && (byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "&"))) {
                putUnit(UInt32(byte))
            } else {
                put(byte)
            }
            i += 1
            continue
        }
        guard decodes else { put(byte); i += 1; continue }
        guard let (scalar, length) = decodeUTF8(value, at: i) else {
            switch style.invalidUTF8 {
            case .noForm: return nil
            case .replacementCharacter: putUnit(0xFFFD)
            case .passThrough: put(byte)
            }
            i += 1
            continue
        }
        if style.asciiOnly {
            if scalar >= 0x10000 {
                putUnit(0xD800 + ((scalar - 0x10000) >> 10))
                putUnit(0xDC00 + ((scalar - 0x10000) & 0x3FF))
            } else {
                putUnit(scalar)
            }
        } else if style.htmlSafe && (scalar == 0x2028 || scalar == 0x2029) {
            putUnit(scalar)
        } else {
            for k in 0..<length { put(value[i + k]) }
        }
        i += length
    }
    return n
}

/// The Unicode scalar encoded at `value[i...]` and its length in bytes, or nil
/// if the bytes there are not valid UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF, no truncated sequence).
func decodeUTF8(_ value: UnsafeRawBufferPointer, at i: Int) -> (scalar: UInt32, length: Int)? {
    let lead = value[i]
    let length: Int, minimum: UInt32
    var scalar: UInt32
    switch lead {
    case 0x00...0x7F: return (UInt32(lead), 1)
    case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(lead & 0x1F)
    case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(lead & 0x0F)
    case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(lead & 0x07)
    default: return nil
    }
    guard i + length <= value.count else { return nil }
    for k in 1..<length {
        let next = value[i + k]
        guard next & 0xC0 == 0x80 else { return nil }
        scalar = scalar << 6 | UInt32(next & 0x3F)
    }
    guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return nil }
    return (scalar, length)
}
