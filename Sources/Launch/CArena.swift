import Glibc

/// malloc'd copies of strings and tables handed to C (argv and the spawn
/// config, a Landlock rule's names), freed together when the arena goes.
/// Nothing secret goes in here: the environment stays in the caller's memory.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    func string(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        blocks.append(UnsafeMutableRawPointer(p))
        return UnsafePointer(p)
    }

    func stringArray(_ strings: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        array(strings.map { Optional(string($0)) } + [nil])!
    }

    /// For trivial types only (ints, C structs, pointers).
    func array<T>(_ values: [T]) -> UnsafePointer<T>? {
        guard !values.isEmpty else { return nil }
        let raw = malloc(MemoryLayout<T>.stride * values.count)!
        blocks.append(raw)
        let p = raw.bindMemory(to: T.self, capacity: values.count)
        p.initialize(from: values, count: values.count)
        return UnsafePointer(p)
    }

    deinit { blocks.forEach { free($0) } }
}
