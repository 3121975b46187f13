#ifndef RWK_LANDLOCK_H
#define RWK_LANDLOCK_H

/*
 * Landlock, for the parent side of Launch (Landlock.swift), which builds the
 * ruleset; the fork child's landlock_restrict_self is a raw syscall in CLaunch. The system's <linux/landlock.h> may be older than the
 * running kernel (no network rules, no scopes), so the values are copied here
 * from the kernel's include/uapi/linux/landlock.h (Linux 6.15, ABI 7).
 * Swift can't call the variadic syscall(2), hence the thin wrappers.
 */

#include <stddef.h>
#include <stdint.h>

/* open(2)'s O_PATH (Swift's Glibc hides it: it needs _GNU_SOURCE). */
#define RWK_O_PATH 010000000

/* landlock_create_ruleset(2) flags */
#define RWK_LL_CREATE_RULESET_VERSION (1U << 0)

/* enum landlock_rule_type */
#define RWK_LL_RULE_PATH_BENEATH 1
#define RWK_LL_RULE_NET_PORT 2 /* ABI 4 */

/* Filesystem rights (handled_access_fs, allowed_access of a path rule). */
#define RWK_LL_FS_EXECUTE (1ULL << 0)
#define RWK_LL_FS_WRITE_FILE (1ULL << 1)
#define RWK_LL_FS_READ_FILE (1ULL << 2)
#define RWK_LL_FS_READ_DIR (1ULL << 3)
#define RWK_LL_FS_REMOVE_DIR (1ULL << 4)
#define RWK_LL_FS_REMOVE_FILE (1ULL << 5)
#define RWK_LL_FS_MAKE_CHAR (1ULL << 6)
#define RWK_LL_FS_MAKE_DIR (1ULL << 7)
#define RWK_LL_FS_MAKE_REG (1ULL << 8)
#define RWK_LL_FS_MAKE_SOCK (1ULL << 9)
#define RWK_LL_FS_MAKE_FIFO (1ULL << 10)
#define RWK_LL_FS_MAKE_BLOCK (1ULL << 11)
#define RWK_LL_FS_MAKE_SYM (1ULL << 12)
#define RWK_LL_FS_REFER (1ULL << 13)     /* ABI 2 */
#define RWK_LL_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define RWK_LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */

/* Network rights (handled_access_net, allowed_access of a port rule), ABI 4. */
#define RWK_LL_NET_BIND_TCP (1ULL << 0)
#define RWK_LL_NET_CONNECT_TCP (1ULL << 1)

/* Scopes (scoped), ABI 6. */
#define RWK_LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define RWK_LL_SCOPE_SIGNAL (1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6. An older kernel accepts the
 * larger struct as long as the fields it doesn't know are zero. */
struct rwk_ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

/* struct landlock_path_beneath_attr (packed in the kernel's header too). */
struct rwk_ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

/* struct landlock_net_port_attr */
struct rwk_ll_net_port_attr {
    uint64_t allowed_access;
    uint64_t port;
};

/* The running kernel's Landlock ABI version (>= 1), or -errno: -ENOSYS when
 * the kernel has no Landlock, -EOPNOTSUPP when it is built in but disabled. */
int rwk_landlock_abi(void);

/* A new ruleset fd (close-on-exec), or -errno. */
int rwk_landlock_create_ruleset(uint64_t handled_fs, uint64_t handled_net, uint64_t scoped);

/* Adds a path-beneath rule for the file or directory open at parent_fd: 0 or -errno. */
int rwk_landlock_add_path_rule(int ruleset_fd, uint64_t allowed, int parent_fd);

/* Whether an entry of a directory is one to skip: nonzero to skip. `name` is
 * the entry's name, `len` its length in bytes (rwk_landlock_add_entries). */
typedef int (*rwk_name_test)(void *context, const char *name, size_t len);

/* "Every entry of a directory but these": adds one path-beneath rule for each
 * entry of the directory at `dir` (an absolute, canonical path), granting
 * `dir_access` on a directory and `file_access` on anything else, except "."
 * and "..", symlinks (they get no rule: their targets have their own, or are
 * hidden) and the entries to skip. An entry is skipped when, with `ascii` set
 * (every name in `skip` is ASCII) and its own name ASCII, it equals one of the
 * `nskip` names; otherwise when `test(context, name, len)` says so. Entries are
 * read with getdents64 and opened with openat(O_PATH|O_NOFOLLOW) relative to
 * the directory, their type taken from d_type (fstat only when the filesystem
 * doesn't say): two syscalls per entry. A directory or an entry that can't be
 * opened (gone, EACCES, …) gets no rule: hidden, the safe side; one that turned
 * from a directory into something else gets `file_access`.
 * Returns the number of rules added, or -errno (EMFILE, ENFILE, ENOMEM, or
 * landlock_add_rule's error). */
int rwk_landlock_add_entries(int ruleset_fd, const char *dir, const char *const *skip, int nskip, int ascii,
                             rwk_name_test test, void *context, uint64_t dir_access, uint64_t file_access);

/* Adds a TCP port rule: 0 or -errno. */
int rwk_landlock_add_port_rule(int ruleset_fd, uint64_t allowed, uint64_t port);

#endif
