extension Sequence where Element == String {
    /// The elements with `separator` between them, like `joined(separator:)`.
    ///
    /// The launch path uses this one: the standard library's `joined(separator:)`
    /// is not specialized into its callers and resolves an associated type at run
    /// time, about 0.08 ms the first time a process calls it (BENCHMARKS.md).
    @inlinable
    public func joined(by separator: String) -> String {
        var out = ""
        var first = true
        for part in self {
            if !first { out += separator }
            out += part
            first = false
        }
        return out
    }
}
