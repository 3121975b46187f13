import Age

/// Test-only: a SecretBytes holding a test value. Production code never
/// builds secrets from Strings.
func secret(_ text: String) -> SecretBytes { secret(Array(text.utf8)) }

func secret(_ bytes: [UInt8]) -> SecretBytes {
    var s = SecretBytes(count: bytes.count)
    s.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
    return s
}

/// Test-only: the bytes of a SecretBytes, to compare with expected test values.
func bytes(_ s: borrowing SecretBytes) -> [UInt8] { s.withUnsafeBytes { Array($0) } }
