/// The secret-name rule: what the vault stores under and what profiles may name.
/// One home, because the vault (`VaultDocument.validateName`) and the profile
/// parser (`[keys]`, templates) must agree on it.
public enum SecretName {
    /// The rule in words, for hints.
    public static let rule = "1 to 128 characters of A-Z a-z 0-9 _ . / -"

    /// True when `name` matches `[A-Za-z0-9_./-]{1,128}`.
    public static func isValid(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count) && name.utf8.allSatisfy(isNameByte)
    }

    /// True when the UTF-8 bytes `name` match the rule (`list` checks names in the
    /// decrypted document without making Strings).
    public static func isValid(_ name: UnsafeRawBufferPointer) -> Bool {
        (1...128).contains(name.count) && name.allSatisfy(isNameByte)
    }

    private static func isNameByte(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
            || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") || c == UInt8(ascii: "/") || c == UInt8(ascii: "-")
    }

    /// How an invalid `name` is shown in an error without echoing what may be a
    /// value typed in the wrong place (`set api/key=VALUE`, `--key VAR=VALUE`):
    /// the valid characters up to the first one that isn't, and that character
    /// when it is printable ASCII; never anything after it. E.g.
    /// `"api/key" followed by "=" (the rest is not shown)`.
    public static func describeInvalid(_ name: String) -> String {
        let bytes = Array(name.utf8)
        guard let bad = bytes.firstIndex(where: { !isValid(String(decoding: [$0], as: UTF8.self)) }) else {
            return bytes.isEmpty ? "an empty name" : "a name of \(bytes.count) characters (not shown; the limit is 128)"
        }
        let prefix = String(decoding: bytes[..<min(bad, 64)], as: UTF8.self)
        let c = bytes[bad]
        let what = c > 0x20 && c < 0x7f ? "\"" + String(decoding: [c], as: UTF8.self) + "\"" : "a character outside the rule"
        let rest = bad + 1 < bytes.count ? " (the rest is not shown)" : ""
        return (prefix.isEmpty ? "a name starting with " : "\"" + prefix + "\" followed by ") + what + rest
    }
}
