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
    /// The decision is made on the bytes: a value that stays secret never becomes a Swift string.
    public static func classify(key: String, value: UnsafeRawBufferPointer) -> String? {
        let upper = key.uppercased()
        for word in credentialWords where upper.firstRange(of: word) != nil { return nil }
        guard !value.isEmpty, value.count <= 256,
              value.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        let plain = isWord(value) || isSmallInteger(value)
            || (settingNames.contains(upper) || settingSuffixes.contains { upper.hasSuffix($0) })
                && !value.contains(where: { $0 == UInt8(ascii: "@") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") })
        return plain ? String(decoding: value, as: UTF8.self) : nil
    }

    /// One of `words`, in any case (the value is printable ASCII).
    static func isWord(_ value: UnsafeRawBufferPointer) -> Bool {
        words.contains { word in
            word.utf8.count == value.count
                && zip(word.utf8, value).allSatisfy { w, v in w == (v >= 0x41 && v <= 0x5A ? v | 0x20 : v) }
        }
    }

    /// An integer of 1 to 6 digits, optionally signed.
    static func isSmallInteger(_ value: UnsafeRawBufferPointer) -> Bool {
        var digits = value[...]
        if digits.first == UInt8(ascii: "-") || digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        return (1...6).contains(digits.count) && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
