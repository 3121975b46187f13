#include <sodium.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* Marks the pages under [p, p+len) MADV_WIPEONFORK (Linux 4.14): a child
 * forked from us sees zeros there, not a copy of the secret (madvise(2)).
 * keep = 1 undoes it (MADV_KEEPONFORK). 0, or -1 and errno. */
static inline int rwk_wipe_on_fork(void *p, size_t len, int keep) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p & ~(page - 1);
    uintptr_t hi = ((uintptr_t)p + len + page - 1) & ~(page - 1);
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#endif
    return madvise((void *)lo, hi - lo, keep ? MADV_KEEPONFORK : MADV_WIPEONFORK);
}

#define RWK_GUARD_NO_MLOCK 1
#define RWK_GUARD_NO_DONTDUMP 2
#define RWK_GUARD_NO_WIPEONFORK 4

/* For a guarded arena's usable pages [p, p+len) (page-aligned): mlock (best
 * effort: RLIMIT_MEMLOCK), MADV_DONTDUMP (never in a core dump) and
 * MADV_WIPEONFORK (zeros in a forked child). Returns the RWK_GUARD_NO_* bits
 * of what failed; 0 when all held. */
static inline int rwk_guard_region(void *p, size_t len) {
#ifndef MADV_DONTDUMP
#define MADV_DONTDUMP 16
#endif
    int failed = 0;
    if (mlock(p, len) != 0) failed |= RWK_GUARD_NO_MLOCK;
    if (madvise(p, len, MADV_DONTDUMP) != 0) failed |= RWK_GUARD_NO_DONTDUMP;
    if (rwk_wipe_on_fork(p, len, 0) != 0) failed |= RWK_GUARD_NO_WIPEONFORK;
    return failed;
}
