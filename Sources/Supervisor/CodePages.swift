import Glibc

/// Gives back the supervisor's resident code pages once the bot has started.
///
/// Start-up (TOML, decryption, the plan, seccomp, the spawn) touches several MiB
/// of the binary's code that the idle supervisor loop never runs again; in a
/// static executable they stay mapped and count as the supervisor's RSS.
///
/// Why `MADV_DONTNEED` on these pages is safe (madvise(2)):
/// - only mappings that are executable, not writable, private and backed by our
///   own executable file (`/proc/self/exe`) are touched. A private file mapping
///   that was never written has no private copy to lose: dropping the page table
///   entries leaves the page in the page cache, and the next instruction fetch
///   maps it again (a minor fault). A static non-PIE executable has no text
///   relocations, so its code pages are never written.
/// - writable or once-written mappings (.data, .bss, the GOT and the RELRO
///   pages, which start-up relocated before making them read-only; the heap;
///   guarded secret memory) are never touched: dropping those would lose data.
/// - `MADV_DONTNEED` is not `MADV_PAGEOUT`: it doesn't evict the page cache, so
///   other processes and our own next fault stay cheap (no I/O, so no
///   voluntary context switch for an idle supervisor).
/// The cost: the first restart after the trim faults its code back in (minor
/// faults, tens of microseconds once). Hence the trim waits `settle` ms.
enum CodePages {
    /// How long after the start the supervisor trims, in milliseconds: long
    /// enough that a bot failing at once or a short job doesn't pay the faults
    /// back, short enough to be done before anyone measures an idle supervisor.
    /// One timed wake-up, once per supervisor.
    static let settle: Int64 = 1000

    /// Bytes released, or 0 when nothing could be read or advised.
    @discardableResult
    static func trim() -> Int {
        var exe = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &exe, exe.count - 1)
        guard n > 0 else { return 0 }
        let exePath = String(decoding: exe[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let maps = readMaps() else { return 0 }
        var released = 0
        for line in maps.split(separator: 0x0a) {
            // start-end perms offset dev inode path
            let fields = line.split(separator: 0x20, maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, Array(fields[1]) == Array("r-xp".utf8) else { continue }
            let path = String(decoding: fields[5].drop { $0 == 0x20 }, as: UTF8.self)
            guard path == exePath else { continue }
            let range = fields[0].split(separator: UInt8(ascii: "-"))
            guard range.count == 2,
                  let start = UInt(String(decoding: range[0], as: UTF8.self), radix: 16),
                  let end = UInt(String(decoding: range[1], as: UTF8.self), radix: 16), end > start,
                  let address = UnsafeMutableRawPointer(bitPattern: start) else { continue }
            if madvise(address, Int(end - start), MADV_DONTNEED) == 0 { released += Int(end - start) }
        }
        return released
    }

    private static func readMaps() -> [UInt8]? {
        let fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while out.count < 4 << 20 {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += buf[..<n]
        }
        return out
    }
}
