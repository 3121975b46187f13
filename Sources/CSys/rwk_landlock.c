/* Raw Landlock syscalls. See rwk_landlock.h. */
#define _GNU_SOURCE
#include "rwk_landlock.h"

#include <errno.h>
#include <stddef.h>
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
