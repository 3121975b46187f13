import Common

/// JSON text for non-secret output.
enum JSONText {
    static func string(_ s: String) -> String { StringEscape.quoted(s, .json) }

    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}
