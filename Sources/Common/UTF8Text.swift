extension String {
    /// `bytes` as a String when they are valid UTF-8 (The Unicode Standard, §3.9,
    /// D92), else nil: what `String(validating:as: UTF8.self)` returns.
    ///
    /// The launch path reads the profile through this one: the standard
    /// library's `String(validating:as:)` runs its generic `_validate` unspecialized
    /// and instantiates type metadata the first time a process calls it, about
    /// 0.03 ms (bench/analysis.md). Decoding repairs every invalid sequence with
    /// U+FFFD, which changes the bytes: equal bytes back mean valid input.
    @inlinable
    public init?(validUTF8 bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.utf8.elementsEqual(bytes) else { return nil }
        self = text
    }
}
