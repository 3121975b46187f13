/// "Did you mean" for misspelt keys.
enum Suggest {
    /// The closest of `candidates` to `word`: an edit distance of at most 2, or one being a prefix of
    /// the other (case-insensitively). Nil when nothing is close.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let w = Array(word.lowercased().unicodeScalars)
        var best: (distance: Int, candidate: String)?
        for candidate in candidates {
            let c = Array(candidate.lowercased().unicodeScalars)
            var d = distance(w, c)
            let shorter = min(w.count, c.count)
            if d > 2, shorter >= 3, w.starts(with: c) || c.starts(with: w) { d = 2 }
            if d <= 2, d < (best?.distance ?? .max) { best = (d, candidate) }
        }
        return best?.candidate
    }

    /// Levenshtein distance.
    static func distance<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
