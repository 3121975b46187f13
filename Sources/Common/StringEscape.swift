/// The one string escaper for JSON strings (RFC 8259 §7) and TOML basic strings
/// (TOML 1.0, "String"): `"` and `\` and the control characters U+0000–U+001F
/// are escaped, with the short forms `\" \\ \n \r \t \b \f` where they exist and
/// `\u00xx` (lowercase hex) otherwise; TOML also escapes DEL (U+007F). `/` is never
/// escaped (TOML has no `\/`), and neither is non-ASCII.
///
/// Callers: the vault document and the launch log (Vault), templates (Launch),
/// `--json` output and generated profiles (CLI). The vault's bytes are those it
/// always had: lowercase hex, short forms (a test pins them).
public enum StringEscape {
    /// The grammar: `json` (RFC 8259 §7) or `toml` (TOML 1.0 basic string, which also escapes DEL).
    public enum Flavor: Sendable { case json, toml }

    /// Calls `emit` with the escaped form of `bytes`, in order: runs of bytes that
    /// need no escape, and escape sequences. No quotes are added. Secret bytes go
    /// from the caller's buffer to `emit` without a copy into a Swift collection.
    public static func escape(_ bytes: UnsafeRawBufferPointer, _ flavor: Flavor,
                              emit: (UnsafeRawBufferPointer) -> Void) {
        var runStart = 0
        for i in 0..<bytes.count {
            let c = bytes[i]
            guard c < 0x20 || c == 0x22 || c == 0x5c || (c == 0x7f && flavor == .toml) else { continue }
            if i > runStart { emit(UnsafeRawBufferPointer(rebasing: bytes[runStart..<i])) }
            runStart = i + 1
            let letter: UInt8
            switch c {
            case 0x22: letter = 0x22            // \"
            case 0x5c: letter = 0x5c            // \\
            case 0x0a: letter = UInt8(ascii: "n")
            case 0x0d: letter = UInt8(ascii: "r")
            case 0x09: letter = UInt8(ascii: "t")
            case 0x08: letter = UInt8(ascii: "b")
            case 0x0c: letter = UInt8(ascii: "f")
            default: letter = 0
            }
            if letter != 0 {
                withUnsafeBytes(of: (UInt8(0x5c), letter)) { emit($0) }
            } else {
                let u = (UInt8(0x5c), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                         hexDigits[Int(c >> 4)], hexDigits[Int(c & 15)])
                withUnsafeBytes(of: u) { emit($0) }
            }
        }
        if runStart < bytes.count { emit(UnsafeRawBufferPointer(rebasing: bytes[runStart...])) }
    }

    /// `s` as a quoted JSON string or TOML basic string, e.g. `"a\"b\n"`. For text
    /// that is not secret (names, paths, messages).
    public static func quoted(_ s: String, _ flavor: Flavor) -> String {
        var out: [UInt8] = [0x22]
        var s = s
        s.withUTF8 { escape(UnsafeRawBufferPointer($0), flavor) { out += $0 } }
        out.append(0x22)
        return String(decoding: out, as: UTF8.self)
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
