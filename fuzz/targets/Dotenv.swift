// The dotenv parser (`import`): every key it yields is a well-formed name;
// warnings and errors carry a line number and a fixed text, never input bytes
// (the input may be key material); and what it accepts round-trips: written
// back with double quotes, or with single quotes and `export`, it parses to
// the same keys and values, without warnings.

func fuzzTarget(_ bytes: [UInt8]) {
    let first = parseDotenv(bytes)
    for w in first.warnings {
        check(isLineMessage(w, prefix: "dotenv line ", texts: dotenvMessages), "warning shape: \(w)")
    }
    if let e = first.error {
        check(isLineMessage(e.message, prefix: "dotenv line ", texts: dotenvMessages), "error shape: \(e.message)")
        return
    }
    for e in first.entries { check(isDotenvKey(e.key), "bad key accepted: \(e.key)") }
    for single in [false, true] {
        let again = parseDotenv(serializeDotenv(first.entries, singleQuotes: single))
        check(again.error == nil && again.warnings.isEmpty, "written-back entries do not parse cleanly")
        check(again.entries.map(\.key) == first.entries.map(\.key), "round trip keys")
        check(again.entries.map(\.value) == first.entries.map(\.value), "round trip values (single quotes: \(single))")
    }
}
