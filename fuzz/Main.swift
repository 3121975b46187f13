// libFuzzer targets for the age header parser (with armor) and the vault
// document reader (with the dotenv reader). Built by fuzz/run.sh with
// `swiftc -sanitize=fuzzer,address`; not part of the Swift package.
//
// Beyond "does not crash", each target checks a round-trip property:
// - a header that parses marshals back to exactly the bytes it came from;
// - a document that parses serializes to a document that parses to the same
//   names, values and metadata.
import Age
import Vault

@inline(never) func check(_ ok: Bool, _ what: StaticString) { if !ok { fatalError("fuzz property failed: \(what)") } }

func fuzzHeader(_ bytes: [UInt8]) {
    if let armored = try? Armor.decode(bytes) {
        check((try? Armor.decode(Armor.encode(armored))) == armored, "armor round trip")
    }
    guard let (header, offset) = try? HeaderFormat.parse(bytes) else { return }
    check(HeaderFormat.marshal(header.stanzas, mac: header.mac) == Array(bytes[0..<offset]), "header round trip")
    // Decryption with a random identity must fail cleanly (no match or a typed error).
    _ = try? AgeFile.decrypt(bytes, identities: [X25519Identity.generate()], armored: false)
}

func fuzzDocument(_ bytes: [UInt8]) {
    var input = SecretBytes(count: bytes.count)
    input.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
    try? Dotenv.parse(input) { (_: String, _: consuming SecretBytes) throws(VaultError) in }
    guard let doc = try? VaultDocument.parse(input) else { return }
    let again: VaultDocument
    do { again = try VaultDocument.parse(doc.serialize()) } catch { fatalError("serialized document does not parse: \(error)") }
    check(again.names == doc.names && again.recipients == doc.recipients, "document names")
    for name in doc.names {
        let a = doc.secrets[name]!, b = again.secrets[name]!
        check(a.value.constantTimeEquals(b.value), "document value")
        check(a.created == b.created && a.updated == b.updated && a.scopes == b.scopes && a.note == b.note
              && a.expires == b.expires, "document metadata")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    #if FUZZ_DOCUMENT
    fuzzDocument(bytes)
    #else
    fuzzHeader(bytes)
    #endif
    return 0
}
