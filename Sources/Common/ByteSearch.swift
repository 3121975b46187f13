/// Byte-for-byte substring search over UTF-8 views.
///
/// Used where a marker must be found as bytes (template `{{ }}`, the command's
/// `{file:NAME}`): a String search matches Characters, and a combining mark after
/// a brace would make it part of another Character. The standard library's
/// `firstRange(of:)` does find bytes, but through `_StringProcessing`'s generic
/// searcher, whose first use in a process resolves its metadata at run time
/// (about 0.04 ms on the launch path). Markers are a few bytes long, so the plain
/// O(n·m) scan is the fast one.
extension Collection where Element == UInt8 {
    /// The range of the first occurrence of `needle`'s UTF-8 bytes, or nil.
    /// An empty needle is found at `startIndex`.
    @inlinable
    public func firstRange(ofBytes needle: StaticString) -> Range<Index>? {
        needle.withUTF8Buffer { n -> Range<Index>? in
            guard let first = n.first else { return startIndex..<startIndex }
            var i = startIndex
            while i != endIndex {
                if self[i] == first {
                    var j = index(after: i)
                    var k = 1
                    while k < n.count, j != endIndex, self[j] == n[k] { formIndex(after: &j); k += 1 }
                    if k == n.count { return i..<j }
                }
                formIndex(after: &i)
            }
            return nil
        }
    }
}
