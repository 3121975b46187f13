import Testing
@testable import Age

@Suite struct RoundTripTests {
    static let sizes = [0, 1, 47, 65535, 65536, 65537, 131072, 200000]

    func payload(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    @Test(arguments: sizes) func x25519(_ n: Int) throws {
        let id = X25519Identity.generate()
        let data = payload(n)
        let file = try AgeFile.encrypt(secret(data), to: [id.recipient])
        #expect(bytes(try AgeFile.decrypt(file, identities: [id])) == data)
        // Size: header + 16-byte nonce + plaintext + 16 bytes per chunk.
        let chunks = max(1, (n + 65535) / 65536)
        let (_, binary, offset) = try AgeFile.inspect(file)
        #expect(binary.count - offset == 16 + n + 16 * chunks)
    }

    @Test func armoredAndSeveralRecipients() throws {
        let a = X25519Identity.generate(), b = X25519Identity.generate(), c = X25519Identity.generate()
        let file = try AgeFile.encrypt(secret("hello"), to: [a.recipient, b.recipient], armor: true)
        #expect(Armor.isArmored(file))
        #expect(bytes(try AgeFile.decrypt(file, identities: [b])) == Array("hello".utf8))
        #expect(bytes(try AgeFile.decrypt(file, identities: [c, a])) == Array("hello".utf8))
        #expect(throws: AgeError.noMatch) { _ = try AgeFile.decrypt(file, identities: [c]) }
    }

    @Test func scryptRoundTripAndAloneRule() throws {
        let file = try AgeFile.encrypt(secret("s3"), to: [ScryptRecipient(passphrase: secret("pw"), workFactor: 10)])
        #expect(bytes(try AgeFile.decrypt(file, identities: [ScryptIdentity(passphrase: secret("pw"))])) == Array("s3".utf8))
        #expect(throws: AgeError.noMatch) { _ = try AgeFile.decrypt(file, identities: [ScryptIdentity(passphrase: secret("nope"))]) }
        #expect(throws: AgeError.self) {
            _ = try AgeFile.encrypt(secret("x"), to: [ScryptRecipient(passphrase: secret("pw")), X25519Identity.generate().recipient])
        }
    }

    @Test func tamperingIsDetected() throws {
        let id = X25519Identity.generate()
        let file = try AgeFile.encrypt(secret(payload(1000)), to: [id.recipient])
        let (_, _, offset) = try AgeFile.inspect(file)
        var payloadFlip = file; payloadFlip[file.count - 20] ^= 1
        #expect(throws: AgeError.self) { _ = try AgeFile.decrypt(payloadFlip, identities: [id]) }
        var macFlip = file; macFlip[offset - 5] ^= 1  // inside the base64 MAC
        #expect(throws: AgeError.self) { _ = try AgeFile.decrypt(macFlip, identities: [id]) }
        let truncated = Array(file.dropLast(1))
        #expect(throws: AgeError.self) { _ = try AgeFile.decrypt(truncated, identities: [id]) }
        #expect(throws: AgeError.self) { _ = try AgeFile.decrypt(Array("not an age file\n".utf8), identities: [id]) }
    }

    @Test func identityEncodingRoundTrips() throws {
        let id = X25519Identity.generate()
        let text = id.encoded()
        #expect(bytes(text).starts(with: Array("AGE-SECRET-KEY-1".utf8)))
        let parsed = try X25519Identity.parseFile(text)
        #expect(parsed.count == 1 && parsed[0].recipient == id.recipient)
        let r = try X25519Recipient(parsing: id.recipient.description)
        #expect(r == id.recipient && r.description.hasPrefix("age1"))
        #expect(throws: AgeError.self) { _ = try X25519Recipient(parsing: "age1qqqq") }
        // Comments and blank lines in identity files are skipped; garbage is refused.
        let file = "# created: today\n\n" + String(decoding: bytes(text), as: UTF8.self) + "\n"
        #expect(try X25519Identity.parseFile(secret(file)).count == 1)
        #expect(throws: AgeError.self) { _ = try X25519Identity.parseFile(secret("garbage\n")) }
    }

    @Test func headerMarshalIsCanonical() throws {
        let id = X25519Identity.generate()
        let file = try AgeFile.encrypt(secret("x"), to: [id.recipient, X25519Identity.generate().recipient])
        let (header, binary, offset) = try AgeFile.inspect(file)
        #expect(HeaderFormat.marshal(header.stanzas, mac: header.mac) == Array(binary[0..<offset]))
    }

    @Test func base64IsStrict() {
        #expect(Base64.decode(Array("AA".utf8)) == [0])
        #expect(Base64.decode(Array("AB".utf8)) == nil)       // non-canonical trailing bits
        #expect(Base64.decode(Array("AA==".utf8)) == nil)     // padding in raw mode
        #expect(Base64.decode(Array("AA==".utf8), padded: true) == [0])
        #expect(Base64.decode(Array("A A".utf8)) == nil)
        #expect(Base64.encode([1, 2, 3, 4]) == Array("AQIDBA".utf8))
    }
}
