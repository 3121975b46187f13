// The age header parser (with armor): a header that parses marshals back to
// exactly the bytes it came from; armor round-trips; decryption with an
// unrelated identity fails cleanly.
import Age

func fuzzTarget(_ bytes: [UInt8]) {
    if let armored = try? Armor.decode(bytes) {
        check((try? Armor.decode(Armor.encode(armored))) == armored, "armor round trip")
    }
    guard let (header, offset) = try? HeaderFormat.parse(bytes) else { return }
    check(HeaderFormat.marshal(header.stanzas, mac: header.mac) == Array(bytes[0..<offset]), "header round trip")
    // Decryption with a random identity must fail cleanly (no match or a typed error).
    _ = try? AgeFile.decrypt(bytes, identities: [X25519Identity.generate()], armored: false)
}
