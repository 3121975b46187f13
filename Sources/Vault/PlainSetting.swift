/// The rule `import --profile` uses to tell a plain setting (`LOG_LEVEL=debug`,
/// `PORT=8080`) from a secret. A plain setting goes to the profile's `[env] set`,
/// in the clear; everything else goes to the vault. The rule is deliberately
/// small and errs on the side of "secret":
///
/// 1. A name containing a credential word (KEY, SECRET, TOKEN, PASS, PWD, AUTH,
///    CRED, PRIVATE, SIGN, SALT, CERT, SESSION, COOKIE, PIN, SEED, MNEMONIC, in
///    any case) is always a secret.
/// 2. Otherwise the value is a plain setting when it is
///    - a boolean: true, false, yes, no, on, off (any case);
///    - an integer of at most 6 digits, optionally signed;
///    - a log level: trace, debug, info, notice, warn, warning, error, critical, fatal (any case);
///    - or the name is a setting name (PORT, HOST, TZ, DEBUG, NODE_ENV, ENV, or ends
///      in _LEVEL, _PORT, _HOST, _URL, _ENV, _MODE, _REGION) and the value is at
///      most 256 bytes of printable ASCII without spaces, `@`, `?` or `#`
///      (so a URL with a user, password or query string stays secret).
/// Anything else, multi-line values included, is a secret.
public enum PlainSetting {
    static let credentialWords = ["KEY", "SECRET", "TOKEN", "PASS", "PWD", "AUTH", "CRED", "PRIVATE", "SIGN",
                                  "SALT", "CERT", "SESSION", "COOKIE", "PIN", "SEED", "MNEMONIC"]
    static let settingNames: Set<String> = ["PORT", "HOST", "TZ", "DEBUG", "NODE_ENV", "ENV"]
    static let settingSuffixes = ["_LEVEL", "_PORT", "_HOST", "_URL", "_ENV", "_MODE", "_REGION"]
    static let words: Set<String> = ["true", "false", "yes", "no", "on", "off", "trace", "debug", "info", "notice",
                                     "warn", "warning", "error", "critical", "fatal"]

    /// The value as text when `key = value` is a plain setting under the rule above, else nil.
    public static func classify(key: String, value: UnsafeRawBufferPointer) -> String? {
        let upper = key.uppercased()
        for word in credentialWords where upper.firstRange(of: word) != nil { return nil }
        guard !value.isEmpty, value.count <= 256,
              value.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        let text = String(decoding: value, as: UTF8.self)
        if words.contains(text.lowercased()) { return text }
        var digits = Substring(text)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        if (1...6).contains(digits.count), digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return text }
        let settingName = settingNames.contains(upper) || settingSuffixes.contains { upper.hasSuffix($0) }
        if settingName, !value.contains(where: { $0 == UInt8(ascii: "@") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
            return text
        }
        return nil
    }
}
