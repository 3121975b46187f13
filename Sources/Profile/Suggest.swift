/// "Did you mean" for misspelt keys, subcommands and options: the one home of the
/// edit-distance rule, for profiles and for the command line.
public enum Suggest {
    /// The closest of `candidates` to `word` (case-insensitively): an edit distance (`distance`) of at
    /// most 2, or 1 when `word` has 4 characters or fewer (so "bot" is not taken for "set"), or one
    /// being a prefix of the other when both have at least 3 characters. Nil when nothing is close;
    /// on a tie, the first candidate.
    ///
    /// Example: `closest(to: "lsit", in: ["init", "list"])` is `"list"`.
    public static func closest(to word: String, in candidates: [String]) -> String? {
        let w = Array(word.lowercased().unicodeScalars)
        let limit = w.count <= 4 ? 1 : 2
        var best: (distance: Int, candidate: String)?
        for candidate in candidates {
            let c = Array(candidate.lowercased().unicodeScalars)
            var d = distance(w, c)
            let shorter = min(w.count, c.count)
            if d > limit, shorter >= 3, w.starts(with: c) || c.starts(with: w) { d = limit }
            if d <= limit, d < (best?.distance ?? .max) { best = (d, candidate) }
        }
        return best?.candidate
    }

    /// The closest long option to `option` (`--dry-rn` → `--dry-run`), by `closest(to:in:)` on the
    /// names without their leading dashes, so that `--` never counts as a shared prefix.
    /// `option` may carry a value (`--log-formt=json`); it is ignored. Nil when nothing is close.
    public static func closestOption(to option: String, in options: [String]) -> String? {
        func bare(_ s: String) -> String {
            String((s.split(separator: "=", maxSplits: 1).first ?? "").drop { $0 == "-" })
        }
        let word = bare(option)
        guard !word.isEmpty else { return nil }
        let long = options.filter { $0.hasPrefix("--") }
        return closest(to: word, in: long.map(bare)).flatMap { match in long.first { bare($0) == match } }
    }

    /// The `did you mean "X"?` hint line, or nil.
    public static func hint(_ suggestion: String?) -> String? {
        suggestion.map { "did you mean \"\($0)\"?" }
    }

    /// Edit distance counting an insertion, a deletion, a substitution or a swap of two adjacent
    /// elements as one edit (the optimal string alignment distance; "lsit" is 1 from "list").
    public static func distance<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        // d[i][j]: distance between a[..<i] and b[..<j]; three rows are enough for the swap.
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = Swift.min(current[j], before[j - 2] + 1)
                }
            }
            before = previous
            previous = current
        }
        return previous[b.count]
    }
}
