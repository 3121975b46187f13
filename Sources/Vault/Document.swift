import Common
import Age

/// A decrypted document kept (in guarded memory) for the entries that still
/// point into it: values are decoded from it only when someone asks for them,
/// so `list` and `audit` never decode a value.
final class Plaintext {
    let bytes: SecretBytes
    init(_ bytes: consuming SecretBytes) { self.bytes = bytes }
}

/// One secret: its value in guarded memory, and bookkeeping that is not secret.
public final class SecretEntry {
    private var stored: SecretBytes
    /// Where the value's escaped JSON string sits in the document it was read from.
    private var source: (document: Plaintext, range: Range<Int>)?

    /// The value, as a new guarded buffer. Setting it records nothing else;
    /// use `VaultDocument.set` for a rotation.
    public var value: SecretBytes {
        get {
            guard let (document, range) = source else { return stored.slice(0..<stored.count) }
            return document.bytes.withUnsafeBytes { buf in
                let reader = JSONReader(buf)
                let out = SecretBytes(count: reader.decode(range, into: nil))
                out.withUnsafeMutableBytesUnchecked { _ = reader.decode(range, into: $0) }
                return out
            }
        }
        set {
            stored = newValue
            source = nil
            holdsNUL = false
        }
    }

    /// Appends the value as a JSON string literal.
    func appendJSONValue(to out: inout SecretBuilder) {
        if let (document, range) = source {
            // Already a valid JSON string body: copy it as it was written.
            document.bytes.withUnsafeBytes { buf in
                out.append(UInt8(ascii: "\""))
                out.append(UnsafeRawBufferPointer(rebasing: buf[range]))
                out.append(UInt8(ascii: "\""))
            }
        } else {
            stored.withUnsafeBytes { JSONWriter.appendEscaped($0, to: &out) }
        }
    }

    /// An entry read from `document`, its value still the escaped string at `range`.
    convenience init(document: Plaintext, range: Range<Int>, created: Timestamp?, updated: Timestamp?, scopes: [String],
                     note: String?, expires: Timestamp?) {
        self.init(value: SecretBytes(count: 0), created: created, updated: updated, scopes: scopes, note: note, expires: expires)
        source = (document, range)
    }
    /// True when the value read from a hand-written document holds a NUL byte
    /// (`\u0000`), which no environment variable or C string can carry: a launch
    /// that uses the secret is refused (`list`, `set` and `rm` still work).
    public internal(set) var holdsNUL = false
    /// When the name was first set; kept across rotations.
    public var created: Timestamp?
    /// When the value last changed (the last rotation).
    public var updated: Timestamp?
    /// What the key may do at its issuer (`set --scope`: `view`, `trade`, …), in the order given; bookkeeping
    /// that `[policy] forbid_scopes` and `audit` check (case-insensitively).
    public var scopes: [String]
    /// Free text from `set --note`; nil when none.
    public var note: String?
    /// When the key stops being valid (`--expires`); nil when it does not. Launches and `audit` flag it from then on.
    public var expires: Timestamp?
    /// The value before the last rotation, kept for a grace period (`rotate --keep-previous`).
    public var previous: SecretBytes?
    /// When the grace period of `previous` ends: launches offer `<VAR>_PREVIOUS` only before it, and the first
    /// write after it drops `previous`. With nil, `previous` is not offered and the next write drops it.
    public var previousUntil: Timestamp?

    /// An entry holding `value`; nothing is validated (`VaultDocument.set` checks names and values).
    public init(value: consuming SecretBytes, created: Timestamp?, updated: Timestamp?, scopes: [String] = [],
                note: String? = nil, expires: Timestamp? = nil) {
        self.stored = value
        self.created = created
        self.updated = updated
        self.scopes = scopes
        self.note = note
        self.expires = expires
    }
}

/// The vault's plaintext: `{"format":"run-with-keys/v1","recipients":[…],"secrets":{NAME:{…}}}`.
public struct VaultDocument {
    /// The `format` string every document must carry.
    public static let format = "run-with-keys/v1"
    /// The secrets by name (`[A-Za-z0-9_./-]{1,128}` when parsed or `set`).
    public var secrets: [String: SecretEntry] = [:]
    /// The X25519 recipients the vault is encrypted to (`age1…`). Empty means
    /// "the recipient of the identity that decrypted it".
    public var recipients: [String] = []

    /// An empty document: no secrets, no recipients.
    public init() {}

    /// The secret names, sorted ascending (the order `serialize` writes them in).
    public var names: [String] { secrets.keys.sorted() }

    /// Who the vault is encrypted to: the listed recipients, or, when the document
    /// lists none, the recipients of the identity that opened it.
    public func recipientList(openedWith key: UnlockedKey) -> [String] {
        recipients.isEmpty ? key.ownRecipients.map(\.description) : recipients
    }

    /// Names follow `SecretName`'s rule, `[A-Za-z0-9_./-]{1,128}`.
    /// - Throws: `VaultError` `.invalidName`; the message shows the name only up to its first
    ///   invalid character (``SecretName/describeInvalid(_:)``): the rest may be a value.
    public static func validateName(_ name: String) throws(VaultError) {
        guard SecretName.isValid(name) else {
            throw VaultError(.invalidName, "invalid secret name: \(SecretName.describeInvalid(name))",
                             hints: ["names are \(SecretName.rule), e.g. coinbase/api-key"])
        }
    }

    /// The empty-value rule: a secret has at least one byte.
    /// - Throws: `VaultError` `.emptyValue` when `count` is 0.
    public static func refuseEmpty(_ count: Int, name: String) throws(VaultError) {
        guard count > 0 else {
            throw VaultError(.emptyValue, "refusing to store an empty value for \"\(name)\"",
                             hints: ["pipe the value in, use --from-file FILE, or type it at the prompt"])
        }
    }


    // MARK: Reading

    /// `parse(taking:)` on a copy of `plaintext`, which the caller keeps.
    /// - Throws: `VaultError` `.format` when the JSON is malformed, a key is unknown or duplicated, a secret
    ///   name is invalid, a time is not RFC 3339, a secret has no `value`, or `format` is not `run-with-keys/v1`.
    public static func parse(_ plaintext: borrowing SecretBytes) throws(VaultError) -> VaultDocument {
        try parse(taking: plaintext.slice(0..<plaintext.count))
    }

    /// Parses and keeps `plaintext`: entries decode their values from it on demand.
    public static func parse(taking plaintext: consuming SecretBytes) throws(VaultError) -> VaultDocument {
        let document = Plaintext(plaintext)
        return try document.bytes.withUnsafeBytes { (buf: UnsafeRawBufferPointer) throws(VaultError) -> VaultDocument in
            var r = JSONReader(buf)
            var doc = VaultDocument()
            var format: String?
            try r.object { (r: inout JSONReader, key: String) throws(VaultError) in
                switch key {
                case "format": format = try r.string()
                case "recipients": doc.recipients = try r.stringArray()
                case "secrets":
                    // Duplicate names are found by the dictionary: no second set of 1,000 names.
                    var index = 0
                    try r.object(checkDuplicates: false) { (r: inout JSONReader, name: String) throws(VaultError) in
                        index += 1
                        guard doc.secrets[name] == nil else { throw r.fail("duplicate key", at: r.keyEnd) }
                        // A hand-written document may have a value where a name should be:
                        // name the position, never echo the text (issue 13, fault 7).
                        guard SecretName.isValid(name) else {
                            throw VaultError(.format, "vault document: secret #\(index) in \"secrets\" (the key ending at byte \(r.keyEnd)) is not a valid secret name",
                                             hints: ["names are \(SecretName.rule); the key is not shown, as it may be a value written in the wrong place"])
                        }
                        doc.secrets[name] = try parseEntry(&r, name: name, document: document)
                    }
                default: throw r.fail("unknown key (expected format, recipients, secrets)")
                }
            }
            guard r.peek() == nil else { throw r.fail("trailing data after the document") }
            guard format == Self.format else {
                throw VaultError(.format, "vault document: \"format\" must be \"\(Self.format)\"")
            }
            return doc
        }
    }

    static func parseEntry(_ r: inout JSONReader, name: String, document: Plaintext) throws(VaultError) -> SecretEntry {
        var value: Range<Int>? = nil
        var previous: SecretBytes? = nil
        var created, updated, expires, previousUntil: Timestamp?
        var scopes: [String] = []
        var note: String?
        func time(_ r: inout JSONReader, _ field: String) throws(VaultError) -> Timestamp? {
            if r.acceptNull() { return nil }
            guard let t = try r.timestamp() else {
                throw VaultError(.format, "vault document: secret \"\(name)\": \(field) is not an RFC 3339 time")
            }
            return t
        }
        try r.object { (r: inout JSONReader, key: String) throws(VaultError) in
            switch key {
            case "value": value = try r.stringRange()
            case "previous": previous = r.acceptNull() ? nil : try r.secret()
            case "created": created = try time(&r, key)
            case "updated": updated = try time(&r, key)
            case "expires": expires = try time(&r, key)
            case "previous_until": previousUntil = try time(&r, key)
            case "scopes": scopes = try r.stringArray()
            case "note": note = r.acceptNull() ? nil : try r.string()
            default: throw r.fail("secret \"\(name)\": unknown key (expected value, created, updated, scopes, note, expires, previous, previous_until)")
            }
        }
        guard let range = value else {
            throw VaultError(.format, "vault document: secret \"\(name)\" has no \"value\"")
        }
        let entry = SecretEntry(document: document, range: range, created: created, updated: updated, scopes: scopes,
                                note: note, expires: expires)
        entry.holdsNUL = r.containsNUL(range) || (previous?.withUnsafeBytes { $0.contains(0) } ?? false)
        entry.previous = previous.take()
        entry.previousUntil = previousUntil
        return entry
    }

    // MARK: Writing

    /// The document as JSON, built in guarded memory.
    public func serialize() -> SecretBytes {
        var out = SecretBuilder(capacity: 4096)
        out.append("{\"format\":\"\(Self.format)\"")
        if !recipients.isEmpty {
            out.append(",\"recipients\":[")
            for (i, r) in recipients.enumerated() {
                if i > 0 { out.append(",") }
                JSONWriter.appendEscaped(r, to: &out)
            }
            out.append("]")
        }
        out.append(",\"secrets\":{")
        for (i, name) in names.enumerated() {
            let e = secrets[name]!
            out.append(i == 0 ? "\n" : ",\n")
            JSONWriter.appendEscaped(name, to: &out)
            out.append(":{\"value\":")
            e.appendJSONValue(to: &out)
            if let c = e.created { out.append(",\"created\":\"\(c)\"") }
            if let u = e.updated { out.append(",\"updated\":\"\(u)\"") }
            out.append(",\"scopes\":[")
            for (j, s) in e.scopes.enumerated() {
                if j > 0 { out.append(",") }
                JSONWriter.appendEscaped(s, to: &out)
            }
            out.append("]")
            if let n = e.note { out.append(",\"note\":"); JSONWriter.appendEscaped(n, to: &out) }
            if let x = e.expires { out.append(",\"expires\":\"\(x)\"") }
            if e.previous != nil {
                out.append(",\"previous\":")
                e.previous!.withUnsafeBytes { JSONWriter.appendEscaped($0, to: &out) }
                if let pu = e.previousUntil { out.append(",\"previous_until\":\"\(pu)\"") }
            }
            out.append("}")
        }
        out.append(names.isEmpty ? "}}\n" : "\n}}\n")
        return out.finish()
    }

    /// Drops previous values whose grace period (`previous_until`) has ended, or
    /// that have none; every vault write does this (VaultStore).
    public mutating func pruneExpiredPrevious(now: Timestamp) {
        for (_, e) in secrets where e.previous != nil {
            if let until = e.previousUntil, now < until { continue }
            e.previous = nil
            e.previousUntil = nil
        }
    }

    /// Sets `name` to `value`. On an existing name this is a rotation:
    /// `created` stays, `updated` moves, and a previous value is dropped.
    public mutating func set(_ name: String, value: borrowing SecretBytes, now: Timestamp,
                             scopes: [String]? = nil, note: String? = nil) throws(VaultError) {
        try Self.validateName(name)
        try Self.refuseEmpty(value.count, name: name)
        let hasNUL = value.withUnsafeBytes { $0.contains(0) }
        guard !hasNUL else {
            throw VaultError(.undeliverable, "the value for \"\(name)\" contains a NUL byte, which no environment variable can hold",
                             hints: ["store binary keys base64-encoded (base64 -w0 FILE | run-with-keys set \(name))"])
        }
        let valid = value.withUnsafeBytes { isValidUTF8($0) }
        guard valid else {
            throw VaultError(.input, "the value for \"\(name)\" is not UTF-8 text",
                             hints: ["store binary keys base64-encoded (base64 -w0 FILE | run-with-keys set \(name))"])
        }
        let value = value.slice(0..<value.count)
        if let e = secrets[name] {
            e.value = value
            e.updated = now
            // A new value replaces the old one outright: a previous value kept by an
            // earlier `rotate --keep-previous` belongs to the value it replaced, and
            // must not reach bots as <VAR>_PREVIOUS next to an unrelated value.
            e.previous = nil
            e.previousUntil = nil
            if let scopes { e.scopes = scopes }
            if let note { e.note = note }
        } else {
            secrets[name] = SecretEntry(value: value, created: now, updated: now, scopes: scopes ?? [], note: note)
        }
    }
}
