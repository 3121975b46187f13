import Common
import Age
import Vault
import Profile

/// Escaping of secret values inserted into config templates.
///
/// A reference sits *inside* a quoted string of the template
/// (`"key": "{{ rwk://exchange/key }}"`): each escaper escapes the value's
/// characters only and adds no quotes. Bytes go from guarded memory to guarded
/// memory; nothing is copied into Swift strings or arrays.
public enum TemplateEscape {
    /// Appends `value` escaped for `format`.
    public static func append(_ value: UnsafeRawBufferPointer, format: TemplateSpec.Format, to out: inout SecretBuilder) {
        switch format {
        case .json: json(value, to: &out)
        case .yaml: yaml(value, to: &out)
        case .toml: toml(value, to: &out)
        case .raw: out.append(value)
        }
    }

    static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    static func appendASCII(_ s: StaticString, to out: inout SecretBuilder) {
        s.withUTF8Buffer { out.append(UnsafeRawBufferPointer($0)) }
    }

    /// JSON string contents (RFC 8259 §7, by `StringEscape`): `"` `\` and the control
    /// characters U+0000–U+001F are escaped; `/` and non-ASCII are left as they are.
    public static func json(_ value: UnsafeRawBufferPointer, to out: inout SecretBuilder) {
        StringEscape.escape(value, .json) { out.append($0) }
    }

    /// TOML basic-string contents (TOML 1.0, by `StringEscape`): `"` `\` and the control
    /// characters (U+0000–U+001F, U+007F) are escaped; `/` must not be (TOML
    /// has no `\/`), and neither is non-ASCII.
    public static func toml(_ value: UnsafeRawBufferPointer, to out: inout SecretBuilder) {
        StringEscape.escape(value, .toml) { out.append($0) }
    }

    /// YAML double-quoted-scalar contents (YAML 1.1/1.2): `"` `\`, the C0
    /// controls, DEL, the C1 controls (NEL is a line break in YAML) and the line
    /// and paragraph separators U+2028/U+2029 are escaped; other non-ASCII is left as it is.
    public static func yaml(_ value: UnsafeRawBufferPointer, to out: inout SecretBuilder) {
        var i = 0
        while i < value.count {
            let c = value[i]
            switch c {
            case 0x22: appendASCII("\\\"", to: &out)
            case 0x5c: appendASCII("\\\\", to: &out)
            case 0x0a: appendASCII("\\n", to: &out)
            case 0x0d: appendASCII("\\r", to: &out)
            case 0x09: appendASCII("\\t", to: &out)
            case 0x00: appendASCII("\\0", to: &out)
            case 0x07: appendASCII("\\a", to: &out)
            case 0x08: appendASCII("\\b", to: &out)
            case 0x0b: appendASCII("\\v", to: &out)
            case 0x0c: appendASCII("\\f", to: &out)
            case 0x1b: appendASCII("\\e", to: &out)
            case 0..<0x20, 0x7f:
                appendASCII("\\x", to: &out)
                out.append(hex[Int(c >> 4)])
                out.append(hex[Int(c & 15)])
            case 0xc2 where i + 1 < value.count && (0x80...0x9f).contains(value[i + 1]):
                let cp = value[i + 1]
                if cp == 0x85 { appendASCII("\\N", to: &out) } else {
                    appendASCII("\\x", to: &out)
                    out.append(hex[Int(cp >> 4)])
                    out.append(hex[Int(cp & 15)])
                }
                i += 1
            case 0xe2 where i + 2 < value.count && value[i + 1] == 0x80 && (value[i + 2] == 0xa8 || value[i + 2] == 0xa9):
                appendASCII(value[i + 2] == 0xa8 ? "\\L" : "\\P", to: &out)
                i += 2
            default: out.append(c)
            }
            i += 1
        }
    }

    /// The rendered template: its text with each reference replaced by the
    /// escaped value, built in guarded memory. Every reference must be in `document`.
    public static func render(_ template: TemplateSpec, document: VaultDocument) -> SecretBytes {
        var out = SecretBuilder(capacity: 4096)
        for part in template.parts {
            switch part {
            case .text(let t): out.append(t)
            case .secret(let name, _):
                document.secrets[name]!.value.withUnsafeBytes { append($0, format: template.format, to: &out) }
            }
        }
        return out.finish()
    }
}
