// What the dotenv and env-file targets share: running `Dotenv.parseLines` on
// bytes and writing entries back as dotenv text.
import Age
import Vault

struct DotenvEntry: Equatable {
    var key: String
    var value: [UInt8]   // copied out of guarded memory: fuzzing only, never in the product
    var line: Int
}

struct DotenvResult {
    var entries: [DotenvEntry] = []
    var warnings: [String] = []
    var error: VaultError?
}

func parseDotenv(_ bytes: [UInt8]) -> DotenvResult {
    var input = SecretBytes(count: bytes.count)
    input.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
    var result = DotenvResult()
    do {
        try Dotenv.parseLines(input, warn: { result.warnings.append($0) }) {
            (key: String, value: consuming SecretBytes, line: Int) throws(VaultError) in
            result.entries.append(DotenvEntry(key: key, value: value.withUnsafeBytes { Array($0) }, line: line))
        }
    } catch {
        result.error = error
    }
    return result
}

/// Errors and warnings name a line number and a fixed text, never input bytes.
let dotenvMessages = ["not a KEY=VALUE line, skipped", "unterminated quoted value",
                      "unexpected characters after the closing quote"]

/// `[A-Za-z_][A-Za-z0-9_.-]*`, the keys the parser accepts.
func isDotenvKey(_ key: String) -> Bool {
    guard let first = key.utf8.first, first == 0x5f || (first | 0x20 >= 0x61 && first | 0x20 <= 0x7a) else { return false }
    return key.utf8.allSatisfy { c in
        c == 0x5f || c == 0x2e || c == 0x2d || (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7a)
    }
}

/// Entries written back as `KEY="value"` (double quotes: `\` and `"` escaped)
/// or `export KEY='value'` (single quotes: `\` and `'` escaped), one per line.
func serializeDotenv(_ entries: [DotenvEntry], singleQuotes: Bool) -> [UInt8] {
    var out: [UInt8] = []
    let quote: UInt8 = singleQuotes ? 0x27 : 0x22
    for e in entries {
        if singleQuotes { out += Array("export ".utf8) }
        out += Array(e.key.utf8) + [0x3d, quote]
        for c in e.value {
            if c == quote || c == 0x5c { out.append(0x5c) }
            out.append(c)
        }
        out += [quote, 0x0a]
    }
    return out
}
