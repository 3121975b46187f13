import Age

/// An `exec --env-file` file: dotenv text (read by `Dotenv`, the parser of
/// `import`) whose values are plain settings, or references `rwk://NAME` to
/// secrets in the vault. The file holds no secret, so values become Strings.
///
/// A value must reach the child exactly as written: one that is not UTF-8 or
/// holds a NUL byte (which `execve` would cut the variable at) is refused,
/// naming the line, never the value.
public enum EnvFile {
    /// The prefix of a value that refers to a secret.
    public static let referencePrefix = "rwk://"

    /// One `KEY=VALUE` of the file.
    public struct Entry: Sendable, Equatable {
        /// The variable the child gets.
        public var variable: String
        /// The value as written (for a reference, `rwk://NAME`).
        public var value: String
        /// For a reference, the secret's name (not yet checked against the vault's name rule).
        public var secret: String?
        /// The 1-based line the key is on.
        public var line: Int
    }

    /// The entries of `text`, in file order.
    /// - Throws: `VaultError` (`.input`) for a dotenv syntax error, or a value
    ///   that is not UTF-8 or holds a NUL byte; the message names the line.
    public static func parse(_ text: borrowing SecretBytes, warn: (String) -> Void = { _ in }) throws(VaultError) -> [Entry] {
        var entries: [Entry] = []
        try Dotenv.parseLines(text, warn: warn) { (key: String, value: consuming SecretBytes, line: Int) throws(VaultError) in
            let plain = try value.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(VaultError) -> String in
                guard !b.contains(0) else {
                    throw VaultError(.input, "line \(line): the value of \(key) contains a NUL byte")
                }
                guard let s = String(validating: b, as: UTF8.self) else {
                    throw VaultError(.input, "line \(line): the value of \(key) is not UTF-8 text")
                }
                return s
            }
            var entry = Entry(variable: key, value: plain, secret: nil, line: line)
            if plain.hasPrefix(referencePrefix) { entry.secret = String(plain.dropFirst(referencePrefix.count)) }
            entries.append(entry)
        }
        return entries
    }
}
