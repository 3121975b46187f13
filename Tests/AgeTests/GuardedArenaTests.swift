import Glibc
import Testing
@testable import Age

/// The guarded arenas behind SecretBytes: PROT_NONE when idle, open in the
/// launch window, wiped on free, excluded from core dumps and wiped on fork.
/// Serialized: the launch window is process-wide.
@Suite(.serialized) struct GuardedArenaTests {
    /// The permissions ("rw-p", "---p") and VmFlags of the mapping holding `address`.
    static func mapping(of address: UInt) -> (perms: String, flags: [String])? {
        guard let smaps = try? String(decoding: readFile("/proc/self/smaps"), as: UTF8.self) else { return nil }
        var current: String?
        for line in smaps.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = parts.first, range.contains("-"), parts.count >= 2, !range.hasSuffix(":") {
                let ends = range.split(separator: "-").map { UInt($0, radix: 16) ?? 0 }
                current = ends.count == 2 && ends[0] <= address && address < ends[1] ? String(parts[1]) : nil
            } else if let perms = current, parts.first == "VmFlags:" {
                return (perms, parts.dropFirst().map(String.init))
            }
        }
        return nil
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Errno(errno) }
        defer { close(fd) }
        var out: [UInt8] = [], buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    struct Errno: Error { let code: Int32; init(_ c: Int32) { code = c } }

    static func address(of s: borrowing SecretBytes) -> UInt {
        s.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
    }

    /// A secret in a mapping of its own: tests running in parallel open the
    /// shared arenas whenever they touch a secret of their own.
    static func privateSecret(_ count: Int) -> SecretBytes {
        var s = SecretBytes(count: count, ownPages: true)
        s.withUnsafeMutableBytes { for i in $0.indices { $0[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) } }
        return s
    }

    @Test func idleSecretsAreUnreadableAndGuarded() throws {
        let s = Self.privateSecret(32)
        let at = Self.address(of: s)
        let m = try #require(Self.mapping(of: at))
        #expect(m.perms == "---p", "an idle arena must be PROT_NONE")
        #expect(m.flags.contains("dd"), "arenas are excluded from core dumps (MADV_DONTDUMP)")
        #expect(m.flags.contains("wf"), "arenas are wiped in forked children (MADV_WIPEONFORK)")
        s.withUnsafeBytes { _ in
            #expect(Self.mapping(of: at)?.perms == "rw-p", "open while in use")
        }
        #expect(Self.mapping(of: at)?.perms == "---p")
    }

    @Test func launchWindowKeepsArenasOpenUntilClosed() throws {
        let s = Self.privateSecret(48)
        let at = Self.address(of: s)
        GuardedMemory.openLaunchWindow()
        #expect(Self.mapping(of: at)?.perms == "rw-p")
        let t = Self.privateSecret(5000)   // allocated in the window: open too
        let tat = Self.address(of: t)
        #expect(Self.mapping(of: tat)?.perms == "rw-p")
        GuardedMemory.closeLaunchWindow()
        #expect(Self.mapping(of: at)?.perms == "---p")
        #expect(Self.mapping(of: tat)?.perms == "---p")
        #expect(GuardedMemory.census.readable == 0 || GuardedMemory.census.arenas > 0)
    }

    @Test func freedSlotsAreWipedAndReused() {
        let arena = GuardedArena.Arena(size: 4096, dedicated: false, readable: true)   // private: no other test allocates here
        let p = arena.allocate(64)!
        memset(p, 0xA5, 64)
        GuardedArena.free(p, 64, in: arena)
        mprotect(arena.base, arena.size, PROT_READ | PROT_WRITE)
        #expect((0..<64).allSatisfy { p.load(fromByteOffset: $0, as: UInt8.self) == 0 }, "freed bytes must be wiped")
        #expect(arena.allocate(64) == p, "the freed slot is reused")
        #expect(arena.free.count == 1 && arena.free[0] == (64, arena.size - 64))
    }

    @Test func freeRunsCoalesce() {
        let arena = GuardedArena.Arena(size: 4096, dedicated: false, readable: true)
        let a = arena.allocate(16)!, b = arena.allocate(16)!, c = arena.allocate(16)!
        arena.release(a, 16)
        arena.release(c, 16)
        arena.release(b, 16)
        #expect(arena.live == 0)
        #expect(arena.free.count == 1 && arena.free[0] == (0, arena.size))
    }

    @Test func largeSecretsGetAMappingOfTheirOwn() {
        let big = SecretBytes(count: GuardedArena.arenaBytes)
        let small = SecretBytes(count: 16)
        let bigAt = Self.address(of: big), smallAt = Self.address(of: small)
        #expect(Self.mapping(of: bigAt)?.perms == "---p")
        // Not the same mapping: the big one's page neighbours are its own guard pages.
        #expect(Self.mapping(of: bigAt - 1)?.perms == "---p")
        #expect(bigAt / 4096 != smallAt / 4096)
    }

    @Test func inheritedCopyIsInItsOwnPagesAndKeptOnFork() throws {
        let env = SecretBytes.random(count: 100).inheritedByChildren()
        let at = Self.address(of: env)
        let m = try #require(Self.mapping(of: at))
        #expect(!m.flags.contains("wf"), "the environment block is kept on fork (MADV_KEEPONFORK)")
        #expect(m.flags.contains("dd"))
    }
}
