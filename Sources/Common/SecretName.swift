/// The secret-name rule: what the vault stores under and what profiles may name.
/// One home, because the vault (`VaultDocument.validateName`) and the profile
/// parser (`[keys]`, templates) must agree on it.
public enum SecretName {
    /// The rule in words, for hints.
    public static let rule = "1 to 128 characters of A-Z a-z 0-9 _ . / -"

    /// True when `name` matches `[A-Za-z0-9_./-]{1,128}`.
    public static func isValid(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count) && name.utf8.allSatisfy { c in
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
                || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") || c == UInt8(ascii: "/") || c == UInt8(ascii: "-")
        }
    }
}
