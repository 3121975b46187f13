// The vault document reader: a document that parses serializes to a document
// that parses to the same names, values and metadata.
import Age
import Vault

func fuzzTarget(_ bytes: [UInt8]) {
    var input = SecretBytes(count: bytes.count)
    input.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
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
