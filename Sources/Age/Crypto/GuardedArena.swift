import CSodium
import Glibc

/// Where `SecretBytes` live: guarded arenas.
///
/// An arena is one anonymous mapping: a PROT_NONE guard page, `arenaBytes` of
/// slots, a PROT_NONE guard page. The slots are `mlock`ed (where
/// RLIMIT_MEMLOCK allows), excluded from core dumps (MADV_DONTDUMP) and zeroed
/// in forked children (MADV_WIPEONFORK). An allocation larger than a quarter
/// of an arena gets a mapping of its own, built the same way. Slots are wiped
/// (`sodium_memzero`) when freed.
///
/// Protection is per arena: an arena is readable and writable while the
/// launch window is open (`openLaunchWindow`), or while some secret in it is
/// inside a `with…` call; otherwise PROT_NONE. So a launch makes a handful of
/// mprotect calls instead of two per secret access, and an idle supervisor
/// (the window closed before it waits) has every secret in a PROT_NONE page.
///
/// The trade-off against one `sodium_malloc` per secret: guard pages sit
/// around arenas, not around each secret, so an overrun from one secret runs
/// into its neighbours in the same arena, not into a guard page; and there is
/// no canary. While one secret is open, so are the others in its arena.
enum GuardedArena {
    /// Usable bytes per shared arena (4 pages of 4 KiB): small, so that a low
    /// RLIMIT_MEMLOCK (64 KiB in some containers) still locks several arenas.
    static let arenaBytes = 16 * 1024
    /// A secret over this many bytes gets a mapping of its own.
    static let largeBytes = 8 * 1024
    /// Slot granularity; every slot starts 16-byte aligned.
    static let quantum = 16

    final class Arena {
        let base: UnsafeMutableRawPointer   // first usable byte (after the low guard page)
        let size: Int
        let mapping: UnsafeMutableRawPointer
        let mappingSize: Int
        /// Free (offset, length) runs, sorted by offset, coalesced.
        var free: [(Int, Int)]
        var live = 0
        /// Secrets of this arena inside a `with…` call.
        var open = 0
        var readable: Bool
        /// A mapping for one large allocation, unmapped when it is freed.
        let dedicated: Bool

        init(size: Int, dedicated: Bool, readable: Bool) {
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let usable = (size + page - 1) / page * page
            mappingSize = usable + 2 * page
            guard let m = mmap(nil, mappingSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), m != MAP_FAILED else {
                fatalError("run-with-keys: out of guarded memory (mmap of \(mappingSize) bytes)")
            }
            mapping = m
            base = m + page
            self.size = usable
            self.dedicated = dedicated
            self.readable = readable
            free = [(0, usable)]
            if readable { mprotect(base, usable, PROT_READ | PROT_WRITE) }
            let failed = rwk_guard_region(base, usable)
            if failed & RWK_GUARD_NO_WIPEONFORK != 0 { GuardedArena.wipeOnForkFailed = true }
            if failed & RWK_GUARD_NO_MLOCK != 0 { GuardedArena.lockFailed = true }
        }

        /// A slot of `count` bytes (rounded up to the quantum), or nil when full.
        func allocate(_ count: Int) -> UnsafeMutableRawPointer? {
            let need = (count + GuardedArena.quantum - 1) / GuardedArena.quantum * GuardedArena.quantum
            guard let i = free.firstIndex(where: { $0.1 >= need }) else { return nil }
            let (at, length) = free[i]
            if length == need { free.remove(at: i) } else { free[i] = (at + need, length - need) }
            live += 1
            return base + at
        }

        /// Returns a slot (already wiped) to the free runs.
        func release(_ p: UnsafeMutableRawPointer, _ count: Int) {
            let need = (count + GuardedArena.quantum - 1) / GuardedArena.quantum * GuardedArena.quantum
            var at = p - base, length = need
            var i = free.firstIndex { $0.0 > at } ?? free.count
            if i > 0, free[i - 1].0 + free[i - 1].1 == at {   // merge with the run before
                at = free[i - 1].0
                length += free[i - 1].1
                free.remove(at: i - 1)
                i -= 1
            }
            if i < free.count, at + length == free[i].0 {      // and the one after
                length += free[i].1
                free.remove(at: i)
            }
            free.insert((at, length), at: i)
            live -= 1
        }

        /// Readable and writable iff the window is open or a secret in it is in use.
        func settle() {
            let want = GuardedArena.windowOpen || open > 0
            guard want != readable else { return }
            mprotect(base, size, want ? PROT_READ | PROT_WRITE : PROT_NONE)
            readable = want
        }

        deinit { munmap(mapping, mappingSize) }
    }

    nonisolated(unsafe) static var arenas: [Arena] = []
    nonisolated(unsafe) static var windowOpen = false
    /// True once an arena could not be marked MADV_WIPEONFORK (a kernel before 4.14).
    nonisolated(unsafe) static var wipeOnForkFailed = false
    /// Set when an arena could not be `mlock`ed (RLIMIT_MEMLOCK): its secrets may be swapped out.
    nonisolated(unsafe) static var lockFailed = false
    /// One lock for all arenas: secrets are allocated and opened from any thread (tests do).
    nonisolated(unsafe) static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    static func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    /// `count` zero bytes in an arena (a dedicated one for large or `ownPages`
    /// allocations), and the arena that holds them.
    static func allocate(_ count: Int, ownPages: Bool) -> (UnsafeMutableRawPointer, Arena) {
        locked {
            if ownPages || count > largeBytes {
                let a = Arena(size: count, dedicated: true, readable: windowOpen)
                let p = a.allocate(count)!
                arenas.append(a)
                return (p, a)
            }
            for a in arenas where !a.dedicated {
                if let p = a.allocate(count) { return (p, a) }
            }
            let a = Arena(size: arenaBytes, dedicated: false, readable: windowOpen)
            arenas.append(a)
            return (a.allocate(count)!, a)
        }
    }

    /// Wipes and frees a slot; an arena left empty is unmapped (a shared one
    /// stays while it is the only one, for the next allocation).
    static func free(_ p: UnsafeMutableRawPointer, _ count: Int, in arena: Arena) {
        locked {
            if !arena.readable { mprotect(arena.base, arena.size, PROT_READ | PROT_WRITE); arena.readable = true }
            sodium_memzero(p, count)
            arena.release(p, count)
            if arena.live == 0 && (arena.dedicated || arenas.lazy.filter({ !$0.dedicated }).count > 1) {
                arenas.removeAll { $0 === arena }
                return
            }
            arena.settle()
        }
    }

    static func enter(_ arena: Arena) {
        locked {
            arena.open += 1
            arena.settle()
        }
    }

    static func leave(_ arena: Arena) {
        locked {
            arena.open -= 1
            arena.settle()
        }
    }

    /// Opens every arena for the launch window: no mprotect per access until
    /// `closeLaunchWindow`. Only for a process that is about to launch a bot.
    static func openLaunchWindow() {
        locked {
            windowOpen = true
            for a in arenas { a.settle() }
        }
    }

    /// Every arena back to PROT_NONE (but those with a secret in use, which
    /// close when it is done). Before the supervisor waits.
    static func closeLaunchWindow() {
        locked {
            windowOpen = false
            for a in arenas { a.settle() }
        }
    }

    /// Arenas mapped now, and how many of them are readable (tests).
    static var census: (arenas: Int, readable: Int) {
        locked { (arenas.count, arenas.filter(\.readable).count) }
    }
}

/// The launch window of the guarded arenas (see `GuardedArena`).
public enum GuardedMemory {
    /// From here until `closeLaunchWindow`, every arena stays readable and
    /// writable: decrypting, building the plan and spawning make no mprotect
    /// call per secret. Call it only on the launch path.
    public static func openLaunchWindow() { GuardedArena.openLaunchWindow() }

    /// Every arena back to PROT_NONE (a secret still in use closes with its
    /// `with…` call). The supervisor calls it before it first waits.
    public static func closeLaunchWindow() { GuardedArena.closeLaunchWindow() }

    /// (mapped arenas, readable arenas) now: for tests.
    public static var census: (arenas: Int, readable: Int) { GuardedArena.census }
}
