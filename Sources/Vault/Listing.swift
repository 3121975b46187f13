import Glibc
import Common
import Age

/// What `list` shows of a vault: each secret's name, times, scopes and note, in
/// name order, and never a value. Read straight from the decrypted document by
/// `scan` (no `SecretEntry`, no dictionary, no String per field; values are
/// validated where they lie and never copied), or, for a document `scan` leaves
/// to the full reader, made from the `VaultDocument` it gives.
///
/// The names, scopes and notes are decoded UTF-8 bytes, one after another in
/// `text`; an `Entry` gives ranges into it.
public struct VaultListing {
    /// One secret: byte ranges into `text`, and its times.
    public struct Entry {
        /// The name's bytes in `text`.
        public var name: Range<Int>
        /// When the name was first set, the value last changed, the key expires (`SecretEntry`'s
        /// fields); nil when missing or null.
        public var created: Timestamp?
        /// When the value last changed; nil when missing or null.
        public var updated: Timestamp?
        /// When the key expires; nil when missing or null.
        public var expires: Timestamp?
        /// Indices of its scopes for `scope(_:)`, in document order.
        public var scopes: Range<Int>
        /// The note's bytes in `text`; nil when missing or null.
        public var note: Range<Int>?
    }

    /// Names, scopes and notes, decoded, as UTF-8 bytes (valid UTF-8: what
    /// a `String` of each holds).
    public private(set) var text: [UInt8] = []
    /// `stride` Ints per secret, in document order: name start and end, created,
    /// updated, expires (seconds, `none` for null), first and end scope index,
    /// note start and end (start `none` for null). Flat `Int`s: no new generic
    /// type to instantiate at run time (a linear scan of conformances in a static binary).
    private var records: [Int] = []
    /// Start and end in `text` of each scope.
    private var scopeBounds: [Int] = []
    /// Secret numbers in name order.
    private var order: [Int] = []
    private static let stride = 9
    private static let none = Int.min

    /// How many secrets.
    public var count: Int { order.count }

    /// The `i`-th secret in name order.
    public subscript(i: Int) -> Entry {
        let b = order[i] * Self.stride
        func time(_ v: Int) -> Timestamp? { v == Self.none ? nil : Timestamp(seconds: Int64(v)) }
        return Entry(name: records[b]..<records[b + 1], created: time(records[b + 2]), updated: time(records[b + 3]),
                     expires: time(records[b + 4]), scopes: records[b + 5]..<records[b + 6],
                     note: records[b + 7] == Self.none ? nil : records[b + 7]..<records[b + 8])
    }

    /// The bytes range in `text` of scope `k` (an index from `Entry.scopes`).
    public func scope(_ k: Int) -> Range<Int> { scopeBounds[2 * k]..<scopeBounds[2 * k + 1] }

    private init() {}

    /// The `i`-th name in name order, as a String.
    public func name(_ i: Int) -> String { String(decoding: text[self[i].name], as: UTF8.self) }

    /// The scopes of the `i`-th secret in name order, as Strings.
    public func scopes(_ i: Int) -> [String] { self[i].scopes.map { String(decoding: text[scope($0)], as: UTF8.self) } }

    /// Whether a secret is named `name` (a binary search of the sorted names).
    public func contains(name: String) -> Bool {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            let n = text[self[mid].name]
            if n.elementsEqual(name.utf8) { return true }
            if n.lexicographicallyPrecedes(name.utf8) { lo = mid + 1 } else { hi = mid }
        }
        return false
    }

    /// The listing of a vault's plaintext.
    /// - Throws: `VaultError` `.format`: exactly what `VaultDocument.parse` throws for it.
    public init(plaintext: borrowing SecretBytes) throws(VaultError) {
        if let fast = plaintext.withUnsafeBytes({ Self.scan($0) }) { self = fast; return }
        self.init(try VaultDocument.parse(plaintext))
    }

    /// The listing of a parsed document.
    public init(_ doc: VaultDocument) {
        for name in doc.names {
            let e = doc.secrets[name]!
            let nameStart = text.count
            text.append(contentsOf: name.utf8)
            let nameEnd = text.count, firstScope = scopeBounds.count / 2
            for s in e.scopes {
                scopeBounds.append(text.count)
                text.append(contentsOf: s.utf8)
                scopeBounds.append(text.count)
            }
            var note = (Self.none, Self.none)
            if let n = e.note { note.0 = text.count; text.append(contentsOf: n.utf8); note.1 = text.count }
            add(nameStart, nameEnd, e.created, e.updated, e.expires, firstScope, note)
        }
        order = Array(0..<(records.count / Self.stride))
    }

    private mutating func add(_ nameStart: Int, _ nameEnd: Int, _ created: Timestamp?, _ updated: Timestamp?,
                              _ expires: Timestamp?, _ firstScope: Int, _ note: (Int, Int)) {
        func time(_ t: Timestamp?) -> Int { t.map { Int($0.seconds) } ?? Self.none }
        records.append(nameStart); records.append(nameEnd)
        records.append(time(created)); records.append(time(updated)); records.append(time(expires))
        records.append(firstScope); records.append(scopeBounds.count / 2)
        records.append(note.0); records.append(note.1)
    }

    /// Reads the document as `VaultDocument.parse` does, with the same checks, for
    /// the usual shape: keys without escapes, valid names, no duplicates, metadata
    /// strings that are valid UTF-8. Nil for anything else (broken or unusual), which
    /// the full reader then parses or explains.
    static func scan(_ buf: UnsafeRawBufferPointer) -> VaultListing? {
        var r = JSONReader(buf)
        var out = VaultListing()
        out.text.reserveCapacity(buf.count / 8 + 64)
        out.records.reserveCapacity(buf.count / 16)
        do {
            var seen = 0
            var formatOK = false
            try r.expect(0x7b)
            if !r.accept(0x7d) {
                repeat {
                    let key = try r.stringRange()
                    try r.expect(0x3a)
                    if r.keyIs(key, "format") && seen & 1 == 0 {
                        seen |= 1
                        formatOK = UnsafeRawBufferPointer(rebasing: r.buf[try r.stringRange()]).elementsEqual(VaultDocument.format.utf8)
                    } else if r.keyIs(key, "recipients") && seen & 2 == 0 {
                        seen |= 2
                        try r.expect(0x5b)
                        if !r.accept(0x5d) {
                            repeat { _ = try r.stringRange() } while r.accept(0x2c)
                            try r.expect(0x5d)
                        }
                    } else if r.keyIs(key, "secrets") && seen & 4 == 0 {
                        seen |= 4
                        guard try out.scanSecrets(&r) else { return nil }
                    } else {
                        return nil
                    }
                } while r.accept(0x2c)
                try r.expect(0x7d)
            }
            guard r.peek() == nil, formatOK else { return nil }
        } catch {
            return nil
        }
        // Name order, as `VaultDocument.names` sorts: names are ASCII, where String's order is the bytes' order.
        let text = out.text, records = out.records
        out.order = Array(0..<(records.count / Self.stride))
        text.withUnsafeBytes { t in
            records.withUnsafeBufferPointer { rec in
                func name(_ i: Int) -> UnsafeRawBufferPointer {
                    UnsafeRawBufferPointer(rebasing: t[rec[i * Self.stride]..<rec[i * Self.stride + 1]])
                }
                out.order = Self.mergeSort(out.order) { a, b in name(a).lexicographicallyPrecedes(name(b)) }
            }
        }
        // A duplicate name is the full reader's to report (it names the byte).
        for i in out.order.indices.dropFirst() {
            let a = out.order[i - 1] * Self.stride, b = out.order[i] * Self.stride
            if text[records[a]..<records[a + 1]].elementsEqual(text[records[b]..<records[b + 1]]) { return nil }
        }
        return out
    }

    /// `items` sorted by `less`, bottom-up, stable. Not the standard library's sort:
    /// its run stack is an array of `Range<Int>`, a generic type whose first use costs
    /// a linear scan of the static binary's conformance records (about 0.05 ms), a
    /// cost `list` pays at every start.
    static func mergeSort(_ items: [Int], by less: (Int, Int) -> Bool) -> [Int] {
        var a = items, b = items
        var width = 1
        while width < a.count {
            var lo = 0
            while lo < a.count {
                let mid = min(lo + width, a.count), hi = min(lo + 2 * width, a.count)
                var i = lo, j = mid, k = lo
                while i < mid && j < hi {
                    if less(a[j], a[i]) { b[k] = a[j]; j += 1 } else { b[k] = a[i]; i += 1 }
                    k += 1
                }
                while i < mid { b[k] = a[i]; i += 1; k += 1 }
                while j < hi { b[k] = a[j]; j += 1; k += 1 }
                lo = hi
            }
            swap(&a, &b)
            width *= 2
        }
        return a
    }

    /// The members of "secrets"; false when the full reader must judge.
    private mutating func scanSecrets(_ r: inout JSONReader) throws(VaultError) -> Bool {
        try r.expect(0x7b)
        if r.accept(0x7d) { return true }
        repeat {
            let key = try r.stringRange()
            let name = UnsafeRawBufferPointer(rebasing: r.buf[key])
            guard SecretName.isValid(name) else { return false }   // escapes included: `\` is not in the rule
            try r.expect(0x3a)
            let nameStart = text.count
            text.append(contentsOf: name)
            guard try scanEntry(&r, nameStart: nameStart) else { return false }
        } while r.accept(0x2c)
        try r.expect(0x7d)
        return true
    }

    /// One secret's object, as `VaultDocument.parseEntry` reads it.
    private mutating func scanEntry(_ r: inout JSONReader, nameStart: Int) throws(VaultError) -> Bool {
        let nameEnd = text.count
        var seen = 0
        var created, updated, expires: Timestamp?
        let firstScope = scopeBounds.count / 2
        var note = (Self.none, Self.none)
        func time(_ r: inout JSONReader) throws(VaultError) -> (ok: Bool, Timestamp?) {
            if r.acceptNull() { return (true, nil) }
            guard let t = try r.timestamp() else { return (false, nil) }
            return (true, t)
        }
        try r.expect(0x7b)
        if !r.accept(0x7d) {
            repeat {
                let k = try r.stringRange()
                try r.expect(0x3a)
                let field = Self.field(r, k)
                guard field >= 0, seen & (1 << field) == 0 else { return false }
                seen |= 1 << field
                switch field {
                case 0, 1:  // value, previous: validated where they lie, never decoded
                    if field == 0 || !r.acceptNull() { _ = try r.stringRange() }
                case 2, 3, 4, 5:
                    let (ok, t) = try time(&r)
                    guard ok else { return false }
                    if field == 2 { created = t } else if field == 3 { updated = t } else if field == 4 { expires = t }
                case 6:
                    try r.expect(0x5b)
                    if !r.accept(0x5d) {
                        repeat {
                            scopeBounds.append(text.count)
                            guard try appendString(&r) else { return false }
                            scopeBounds.append(text.count)
                        } while r.accept(0x2c)
                        try r.expect(0x5d)
                    }
                default:  // note
                    if !r.acceptNull() {
                        note.0 = text.count
                        guard try appendString(&r) else { return false }
                        note.1 = text.count
                    }
                }
            } while r.accept(0x2c)
            try r.expect(0x7d)
        }
        guard seen & 1 != 0 else { return false }   // no "value"
        add(nameStart, nameEnd, created, updated, expires, firstScope, note)
        return true
    }

    /// The index of the key at `k` among value, previous, created, updated, expires,
    /// previous_until, scopes, note; -1 for another key.
    private static func field(_ r: JSONReader, _ k: Range<Int>) -> Int {
        if r.keyIs(k, "value") { return 0 }
        if r.keyIs(k, "previous") { return 1 }
        if r.keyIs(k, "created") { return 2 }
        if r.keyIs(k, "updated") { return 3 }
        if r.keyIs(k, "expires") { return 4 }
        if r.keyIs(k, "previous_until") { return 5 }
        if r.keyIs(k, "scopes") { return 6 }
        if r.keyIs(k, "note") { return 7 }
        return -1
    }

    /// Appends the next string, decoded; false when it is not valid UTF-8 (a
    /// `String` would repair it: the full reader's output, not ours).
    private mutating func appendString(_ r: inout JSONReader) throws(VaultError) -> Bool {
        let range = try r.stringRange()
        let start = text.count
        let raw = UnsafeRawBufferPointer(rebasing: r.buf[range])
        var ascii = true
        for c in raw where c >= 0x80 || c == 0x5c { ascii = false; break }
        if ascii { text.append(contentsOf: raw); return true }
        let n = r.decode(range, into: nil)
        text.append(contentsOf: repeatElement(0, count: n))
        text.withUnsafeMutableBytes { _ = r.decode(range, into: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        return text.withUnsafeBytes { isValidUTF8(UnsafeRawBufferPointer(rebasing: $0[start...])) }
    }
}

extension JSONReader {
    /// Whether the raw bytes at `range` are `word`'s UTF-8 (no escapes: an escaped
    /// key is left to the full reader).
    func keyIs(_ range: Range<Int>, _ word: StaticString) -> Bool {
        guard range.count == word.utf8CodeUnitCount else { return false }
        return memcmp(buf.baseAddress! + range.lowerBound, word.utf8Start, range.count) == 0
    }
}
