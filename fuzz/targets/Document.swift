// The vault document reader: a document that parses serializes to a document
// that parses to the same names, values and metadata. `list`'s reader
// (VaultListing) takes exactly the documents the full reader takes, and lists
// the same names, times, scopes and notes.
import Age
import Vault

func fuzzTarget(_ bytes: [UInt8]) {
    var input = SecretBytes(count: bytes.count)
    input.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
    let listing = try? VaultListing(plaintext: input)
    guard let doc = try? VaultDocument.parse(input) else {
        check(listing == nil, "listing of a document the full reader refuses")
        return
    }
    check(listing.map(describe) == describe(VaultListing(doc)), "listing")
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

func describe(_ l: VaultListing) -> [String] {
    (0..<l.count).map { i in
        let e = l[i]
        let scopes = e.scopes.map { Array(l.text[l.scope($0)]) }
        return "\(Array(l.text[e.name]))|\(String(describing: e.created))|\(String(describing: e.updated))|"
            + "\(String(describing: e.expires))|\(scopes)|\(e.note.map { Array(l.text[$0]) } ?? [])|\(e.note == nil)"
    }
}
