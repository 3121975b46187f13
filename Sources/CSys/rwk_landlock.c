/* Raw Landlock syscalls. See rwk_landlock.h. */
#define _GNU_SOURCE
#include "rwk_landlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef SYS_landlock_add_rule
#define SYS_landlock_add_rule 445
#endif

static int result(long r) { return r < 0 ? -errno : (int)r; }

int rwk_landlock_abi(void) {
    return result(syscall(SYS_landlock_create_ruleset, NULL, (size_t)0, RWK_LL_CREATE_RULESET_VERSION));
}

int rwk_landlock_create_ruleset(uint64_t handled_fs, uint64_t handled_net, uint64_t scoped) {
    struct rwk_ll_ruleset_attr attr = {
        .handled_access_fs = handled_fs, .handled_access_net = handled_net, .scoped = scoped };
    return result(syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0U));
}

int rwk_landlock_add_path_rule(int ruleset_fd, uint64_t allowed, int parent_fd) {
    struct rwk_ll_path_beneath_attr attr = { .allowed_access = allowed, .parent_fd = parent_fd };
    return result(syscall(SYS_landlock_add_rule, ruleset_fd, RWK_LL_RULE_PATH_BENEATH, &attr, 0U));
}

int rwk_landlock_add_port_rule(int ruleset_fd, uint64_t allowed, uint64_t port) {
    struct rwk_ll_net_port_attr attr = { .allowed_access = allowed, .port = port };
    return result(syscall(SYS_landlock_add_rule, ruleset_fd, RWK_LL_RULE_NET_PORT, &attr, 0U));
}

/* struct linux_dirent64, getdents64(2) */
struct rwk_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Running out of fds or memory is an error; anything else about one entry or
 * directory (gone, EACCES, ELOOP, …) leaves it without a rule. */
static int fatal(int e) { return e == EMFILE || e == ENFILE || e == ENOMEM; }

static int is_ascii(const char *s, size_t *len) {
    size_t i = 0;
    int ascii = 1;
    for (; s[i]; i++)
        if ((unsigned char)s[i] >= 0x80) ascii = 0;
    *len = i;
    return ascii;
}

static int skipped(const char *name, const char *const *skip, int nskip, int ascii,
                   rwk_name_test test, void *context) {
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) return 1;
    size_t len;
    if (ascii && is_ascii(name, &len)) {
        for (int i = 0; i < nskip; i++)
            if (strcmp(name, skip[i]) == 0) return 1;
        return 0;
    }
    if (!ascii) is_ascii(name, &len);
    return test(context, name, len) != 0;
}

/* One entry's rule: 1 added, 0 none, or -errno. */
static int add_entry(int ruleset_fd, int dirfd, const char *name, unsigned char type,
                     uint64_t dir_access, uint64_t file_access) {
    int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return fatal(errno) ? -errno : 0;
    if (type == DT_UNKNOWN) {
        struct stat st;
        if (fstat(fd, &st) < 0) { int e = errno; close(fd); return fatal(e) ? -e : 0; }
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
    }
    int r = 0;
    uint64_t access = type == DT_DIR ? dir_access : file_access;
    if (type != DT_LNK && access != 0) {
        r = rwk_landlock_add_path_rule(ruleset_fd, access, fd);
        /* Swapped for a non-directory since getdents: only the file rights fit. */
        if (r == -EINVAL && type == DT_DIR && file_access != 0)
            r = rwk_landlock_add_path_rule(ruleset_fd, file_access, fd);
        if (r == 0) r = 1;
    }
    close(fd);
    return r;
}

int rwk_landlock_add_entries(int ruleset_fd, const char *dir, const char *const *skip, int nskip, int ascii,
                             rwk_name_test test, void *context, uint64_t dir_access, uint64_t file_access) {
    /* The path is canonical: a last component swapped for a symlink since is refused (no rules). */
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirfd < 0) return fatal(errno) ? -errno : 0;
    char buf[32768] __attribute__((aligned(8)));
    int added = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, dirfd, buf, sizeof buf);
        if (n < 0) { int e = errno; close(dirfd); return fatal(e) ? -e : added; }
        if (n == 0) break;
        for (long off = 0; off < n;) {
            struct rwk_dirent64 *d = (struct rwk_dirent64 *)(buf + off);
            off += d->d_reclen;
            if (d->d_type == DT_LNK || skipped(d->d_name, skip, nskip, ascii, test, context)) continue;
            int r = add_entry(ruleset_fd, dirfd, d->d_name, d->d_type, dir_access, file_access);
            if (r < 0) { close(dirfd); return r; }
            added += r;
        }
    }
    close(dirfd);
    return added;
}
