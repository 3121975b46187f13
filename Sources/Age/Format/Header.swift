import Common

// The age v1 header: parsing and marshalling, no cryptography.
//
//     age-encryption.org/v1
//     -> X25519 <base64 share>
//     <base64 body, 64 columns per line, ending with a short line>
//     --- <base64 MAC>

/// One recipient stanza (age v1 spec, 'Header'): the `-> type args…` line and its body.
public struct Stanza: Equatable, Sendable {
    /// The recipient type: the first argument on the `->` line (`X25519`, `scrypt`).
    public var type: String
    /// The arguments after the type; `HeaderFormat.parse` accepts only non-empty VCHAR (printable ASCII) ones.
    public var args: [String]
    /// The decoded body (unpadded base64 in 64-column lines in the file); 32 bytes for X25519 and scrypt.
    public var body: [UInt8]

    /// A stanza as given, not validated; `HeaderFormat.marshal` writes it as is.
    public init(type: String, args: [String], body: [UInt8]) {
        self.type = type
        self.args = args
        self.body = body
    }
}

/// A parsed age v1 header (age v1 spec, 'Header'): the recipient stanzas and the header MAC.
public struct Header: Equatable, Sendable {
    /// The recipient stanzas, in file order.
    public var stanzas: [Stanza]
    /// The 32-byte MAC from the `---` line: HMAC-SHA-256 (RFC 2104) of `macInput` under
    /// HKDF-SHA-256(file key, salt empty, info "header") (age v1 spec, 'Header MAC').
    public var mac: [UInt8]
    /// The bytes the MAC covers: everything up to and including "---".
    public var macInput: [UInt8]
}

/// Parsing and marshalling of the age v1 header (age v1 spec, 'Header'), with limits on untrusted input.
public enum HeaderFormat {
    /// The v1 version line, without its LF (age v1 spec, 'Version line').
    public static let versionLine = Array("age-encryption.org/v1".utf8)
    static let stanzaPrefix = Array("-> ".utf8)
    static let macPrefix = Array("---".utf8)
    /// Base64 columns per stanza body line: every line but the last has exactly 64, the last fewer (maybe 0).
    public static let columns = 64
    /// Caps on untrusted input.
    public static let maxStanzas = 1024
    /// At most this many stanza arguments after the type.
    public static let maxArgs = 32
    /// At most this many decoded bytes per stanza body: 64 KiB.
    public static let maxBodyBytes = 64 * 1024
    /// Every header line must end (its LF) before this byte offset: 16 MiB.
    public static let maxHeaderBytes = 16 * 1024 * 1024

    /// Parses the header at the start of `data`. Returns the header and the
    /// offset at which the payload (nonce, then STREAM) starts.
    public static func parse(_ data: [UInt8]) throws(AgeError) -> (header: Header, payloadOffset: Int) {
        var pos = 0
        func nextLine() throws(AgeError) -> ArraySlice<UInt8> {
            guard pos < data.count else { throw .header("unexpected end of header") }
            guard let nl = data[pos...].firstIndex(of: 0x0a) else {
                throw .header("unexpected end of header (no newline)")
            }
            guard nl < maxHeaderBytes else { throw .header("header is too large") }
            let line = data[pos..<nl]
            pos = nl + 1
            return line
        }

        // Check the prefix before looking for a newline: a file that is not age
        // at all (even one without any newline) is "not age", not "truncated".
        guard data.starts(with: Array("age-encryption.org/".utf8)), try nextLine().elementsEqual(versionLine) else {
            throw .unsupportedVersion
        }
        var stanzas: [Stanza] = []
        while true {
            let lineStart = pos
            let line = try nextLine()
            if line.starts(with: macPrefix) {
                // "--- " + base64(32-byte MAC)
                let rest = line.dropFirst(3)
                guard rest.first == 0x20, let mac = Base64.decode(rest.dropFirst()), mac.count == 32 else {
                    throw .header("malformed MAC line")
                }
                let macInput = Array(data[0..<(lineStart + 3)])
                return (Header(stanzas: stanzas, mac: mac, macInput: macInput), pos)
            }
            guard line.starts(with: stanzaPrefix) else { throw .header("malformed stanza opening line") }
            guard stanzas.count < maxStanzas else { throw .header("too many stanzas") }
            let fields = line.dropFirst(3).split(separator: 0x20, omittingEmptySubsequences: false)
            guard !fields.isEmpty, fields.count <= maxArgs + 1 else { throw .header("bad number of stanza arguments") }
            for f in fields {
                guard !f.isEmpty, f.allSatisfy({ $0 >= 33 && $0 <= 126 }) else {
                    throw .header("invalid stanza argument")
                }
            }
            var body: [UInt8] = []
            while true {
                let bodyLine = try nextLine()
                guard bodyLine.count <= columns, let chunk = Base64.decode(bodyLine) else {
                    throw .header("malformed stanza body")
                }
                body += chunk
                guard body.count <= maxBodyBytes else { throw .header("stanza body is too large") }
                if bodyLine.count < columns { break }
            }
            let strings = fields.map { String(decoding: $0, as: UTF8.self) }
            stanzas.append(Stanza(type: strings[0], args: Array(strings.dropFirst()), body: body))
        }
    }

    /// The header bytes up to and including "---", which the MAC covers.
    public static func marshalWithoutMAC(_ stanzas: [Stanza]) -> [UInt8] {
        var out = versionLine
        out.append(0x0a)
        for s in stanzas {
            out += stanzaPrefix
            out += Array(([s.type] + s.args).joined(separator: " ").utf8)
            out.append(0x0a)
            let encoded = Base64.encode(s.body)
            var i = 0
            // Full lines of 64 columns, then a final short (possibly empty) line.
            while encoded.count - i >= columns {
                out += encoded[i..<(i + columns)]
                out.append(0x0a)
                i += columns
            }
            out += encoded[i...]
            out.append(0x0a)
        }
        out += macPrefix
        return out
    }

    /// The complete header given the MAC.
    public static func marshal(_ stanzas: [Stanza], mac: [UInt8]) -> [UInt8] {
        var out = marshalWithoutMAC(stanzas)
        out.append(0x20)
        out += Base64.encode(mac)
        out.append(0x0a)
        return out
    }
}
