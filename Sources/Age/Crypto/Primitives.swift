import CSodium

/// Every cryptographic call of the package goes through here.
enum Primitives {
    /// HMAC-SHA-256 (RFC 2104) under `key` of `parts`, concatenated, into `out` (32 bytes).
    static func hmac(key: UnsafeRawBufferPointer, _ parts: UnsafeRawBufferPointer..., into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count == 32)
        Sodium.ready
        var state = crypto_auth_hmacsha256_state()
        defer { sodium_memzero(&state, MemoryLayout<crypto_auth_hmacsha256_state>.size) }
        var empty: UInt8 = 0
        if let k = key.baseAddress, key.count > 0 {
            crypto_auth_hmacsha256_init(&state, k.assumingMemoryBound(to: UInt8.self), key.count)
        } else {
            crypto_auth_hmacsha256_init(&state, &empty, 0)
        }
        for p in parts where p.count > 0 {
            crypto_auth_hmacsha256_update(&state, p.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(p.count))
        }
        crypto_auth_hmacsha256_final(&state, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }

    /// HKDF-SHA-256 (RFC 5869), built on HMAC-SHA-256: libsodium 1.0.18 has no HKDF.
    static func hkdf(ikm: UnsafeRawBufferPointer, salt: UnsafeRawBufferPointer, info: UnsafeRawBufferPointer,
                     into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count <= 255 * 32)
        let prk = SecretBytes(count: 32)
        prk.withUnsafeMutableBytesUnchecked { prk in
            // An absent salt is HashLen zero bytes; HMAC pads a short key with zeros anyway.
            hmac(key: salt, ikm, into: prk)
        }
        let block = SecretBytes(count: 32)
        var produced = 0
        var counter: UInt8 = 1
        prk.withUnsafeBytes { prk in
            block.withUnsafeMutableBytesUnchecked { t in
                while produced < out.count {
                    let previous = UnsafeRawBufferPointer(start: t.baseAddress, count: counter == 1 ? 0 : 32)
                    withUnsafeBytes(of: counter) { c in
                        // hmac reads `previous` fully before it writes `t`.
                        hmac(key: prk, previous, info, c, into: t)
                    }
                    let n = min(32, out.count - produced)
                    (out.baseAddress! + produced).copyMemory(from: t.baseAddress!, byteCount: n)
                    produced += n
                    counter &+= 1
                }
            }
        }
    }

    /// HKDF into a fresh guarded key.
    static func hkdf(ikm: borrowing SecretBytes, salt: [UInt8], info: String, count: Int = 32) -> SecretBytes {
        let key = SecretBytes(count: count)
        var info = info
        info.withUTF8 { infoBytes in
            ikm.withUnsafeBytes { i in
                salt.withUnsafeBytes { s in
                    key.withUnsafeMutableBytesUnchecked { hkdf(ikm: i, salt: s, info: UnsafeRawBufferPointer(infoBytes), into: $0) }
                }
            }
        }
        return key
    }

    /// ChaCha20-Poly1305 (IETF) seal; `out` is plaintext.count + 16 bytes.
    static func seal(key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, _ plaintext: UnsafeRawBufferPointer,
                     into out: UnsafeMutableRawBufferPointer) {
        precondition(key.count == 32 && nonce.count == 12 && out.count == plaintext.count + 16)
        var written: UInt64 = 0
        crypto_aead_chacha20poly1305_ietf_encrypt(
            out.baseAddress!.assumingMemoryBound(to: UInt8.self), &written,
            plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
            nil, 0, nil,
            nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), key.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }

    /// ChaCha20-Poly1305 (IETF) open; false when the tag does not verify.
    static func open(key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, _ ciphertext: UnsafeRawBufferPointer,
                     into out: UnsafeMutableRawBufferPointer) -> Bool {
        precondition(key.count == 32 && nonce.count == 12 && ciphertext.count >= 16 && out.count == ciphertext.count - 16)
        var written: UInt64 = 0
        // libsodium wants a non-null output pointer even for an empty plaintext.
        var scratch: UInt8 = 0
        let dst = out.count > 0 ? out.baseAddress!.assumingMemoryBound(to: UInt8.self) : withUnsafeMutablePointer(to: &scratch) { $0 }
        return crypto_aead_chacha20poly1305_ietf_decrypt(
            dst, &written, nil,
            ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(ciphertext.count),
            nil, 0,
            nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), key.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
    }

    /// X25519; false when the result is the all-zero point (low-order input).
    static func x25519(scalar: UnsafeRawBufferPointer, point: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Bool {
        precondition(scalar.count == 32 && point.count == 32 && out.count == 32)
        return crypto_scalarmult(out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                 scalar.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                 point.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
    }

    static func x25519Base(scalar: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        crypto_scalarmult_base(&out, scalar.baseAddress!.assumingMemoryBound(to: UInt8.self))
        return out
    }

    /// scrypt with r = 8, p = 1 and N = 2^logN.
    static func scrypt(passphrase: UnsafeRawBufferPointer, salt: [UInt8], logN: Int, into out: UnsafeMutableRawBufferPointer) -> Bool {
        scrypt(passphrase: passphrase, salt: salt, n: UInt64(1) << UInt64(logN), r: 8, p: 1, into: out)
    }

    static func scrypt(passphrase: UnsafeRawBufferPointer, salt: [UInt8], n: UInt64, r: UInt32, p: UInt32,
                       into out: UnsafeMutableRawBufferPointer) -> Bool {
        Sodium.ready
        var empty: UInt8 = 0
        return withUnsafeMutablePointer(to: &empty) { emptyPointer in
            salt.withUnsafeBufferPointer { s in
                crypto_pwhash_scryptsalsa208sha256_ll(
                    passphrase.count > 0 ? passphrase.baseAddress!.assumingMemoryBound(to: UInt8.self) : UnsafePointer(emptyPointer),
                    passphrase.count, s.count > 0 ? s.baseAddress! : UnsafePointer(emptyPointer), s.count, n, r, p,
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count) == 0
            }
        }
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        Sodium.ready
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf(&out, count)
        return out
    }

    /// Constant-time equality of two 32-byte values.
    static func equal32(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == 32 && b.count == 32 && crypto_verify_32(a, b.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
    }
}

/// Test hooks for the RFC vectors; these are the same functions the format uses.
public enum KDF {
    /// HKDF-SHA-256 (RFC 5869): `count` bytes of output key material, at most 255 × 32 = 8160 (more traps).
    /// An empty `salt` acts as 32 zero bytes, as RFC 5869 says of an absent one.
    public static func hkdfSHA256(ikm: [UInt8], salt: [UInt8], info: [UInt8], count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        ikm.withUnsafeBytes { i in salt.withUnsafeBytes { s in info.withUnsafeBytes { inf in
            out.withUnsafeMutableBytes { Primitives.hkdf(ikm: i, salt: s, info: inf, into: $0) }
        } } }
        return out
    }

    /// scrypt (RFC 7914) with cost `n`, block size `r` and parallelism `p`: `count` bytes, or nil when
    /// libsodium's `crypto_pwhash_scryptsalsa208sha256_ll` fails (parameters it refuses, or out of memory).
    public static func scrypt(passphrase: [UInt8], salt: [UInt8], n: UInt64, r: UInt32, p: UInt32, count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        let ok = passphrase.withUnsafeBytes { pw in
            out.withUnsafeMutableBytes { Primitives.scrypt(passphrase: pw, salt: salt, n: n, r: r, p: p, into: $0) }
        }
        return ok ? out : nil
    }

    /// SHA-256 (FIPS 180-4) of `bytes`: 32 bytes.
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Sodium.ready
        var out = [UInt8](repeating: 0, count: 32)
        crypto_hash_sha256(&out, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
        return out
    }
}
