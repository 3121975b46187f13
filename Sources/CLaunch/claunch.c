/*
 * fork, a fixed checklist in the child, execve. See claunch.h.
 *
 * Everything the child calls is async-signal-safe: raw syscalls, or glibc
 * wrappers that are thin syscalls. The child never allocates, never copies
 * envp (it holds secrets, in the caller's guarded memory) and never returns.
 * glibc's set*id wrappers are avoided on purpose: they synchronise all threads
 * through glibc's thread list, which is meaningless in a child forked from a
 * multi-threaded parent; the raw syscalls change only this (only) thread.
 */
#define _GNU_SOURCE
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the child writes to the report pipe when a stage fails. */
struct report {
    int32_t stage;
    int32_t error;
    int32_t index;
};

static const char *const stage_names[RWK_STAGE_COUNT] = {
    [RWK_STAGE_NONE] = "none",
    [RWK_STAGE_CONFIG] = "config",
    [RWK_STAGE_PIPE] = "pipe",
    [RWK_STAGE_FORK] = "fork",
    [RWK_STAGE_PID_NAMESPACE] = "pid namespace",
    [RWK_STAGE_TREE_INIT] = "tree init",
    [RWK_STAGE_SETSID] = "setsid",
    [RWK_STAGE_CTTY] = "controlling tty",
    [RWK_STAGE_SETPGID] = "setpgid",
    [RWK_STAGE_SIGNALS] = "signals",
    [RWK_STAGE_PDEATHSIG] = "parent-death signal",
    [RWK_STAGE_FD_MAP] = "fd map",
    [RWK_STAGE_RLIMIT] = "rlimit",
    [RWK_STAGE_BOUNDING_SET] = "capability bounding set",
    [RWK_STAGE_SETGROUPS] = "setgroups",
    [RWK_STAGE_SETGID] = "setgid",
    [RWK_STAGE_SETUID] = "setuid",
    [RWK_STAGE_DROP_CHECK] = "drop check",
    [RWK_STAGE_CAPABILITIES] = "capabilities",
    [RWK_STAGE_CHDIR] = "chdir",
    [RWK_STAGE_CLOSE_FDS] = "close fds",
    [RWK_STAGE_NO_NEW_PRIVS] = "no_new_privs",
    [RWK_STAGE_LANDLOCK] = "landlock",
    [RWK_STAGE_SECCOMP] = "seccomp",
    [RWK_STAGE_SECCOMP_NOTIFY] = "seccomp notify",
    [RWK_STAGE_SEND_LISTENER] = "send listener",
    [RWK_STAGE_EXECVE] = "execve",
    [RWK_STAGE_PIDFD] = "pidfd_open",
    [RWK_STAGE_RECV_LISTENER] = "recv listener",
};

const char *rwk_stage_name(int stage) {
    if (stage < 0 || stage >= RWK_STAGE_COUNT || stage_names[stage] == NULL) return "unknown";
    return stage_names[stage];
}

/* ---- the child ---------------------------------------------------------- */

static void write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        len -= (size_t)n;
    }
}

void rwk_child_fail(struct child *c, int stage, int error, int index) {
    if (c->in_place) {
        /* Before the filter, Swift reports the failure with its context. After
         * it (an allowlist may refuse what Swift's error path needs), one line
         * from here, with write(2) and exit_group, which every policy allows. */
        if (stage < RWK_STAGE_SECCOMP) {
            c->failed_stage = stage;
            c->failed_error = error;
            c->failed_index = index;
            longjmp(*c->in_place, 1);
        }
        const char *parts[] = { "run-with-keys: error: ", rwk_stage_name(stage), " failed: ", strerror(error), "\n" };
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) write_all(2, parts[i], strlen(parts[i]));
    }
    struct report r = { stage, error, index };
    write_all(c->report_fd, &r, sizeof r);
    if (stage == RWK_STAGE_EXECVE) _exit(error == ENOENT ? 127 : 126);
    _exit(125);
}

static void step_session(struct child *c) {
    const struct rwk_spawn_config *cfg = c->cfg;
    if (cfg->session == RWK_SESSION_NEW) {
        if (setsid() < 0) rwk_child_fail(c, RWK_STAGE_SETSID, errno, 0);
        if (cfg->ctty_fd >= 0 && ioctl(cfg->ctty_fd, TIOCSCTTY, 0) < 0)
            rwk_child_fail(c, RWK_STAGE_CTTY, errno, 0);
    } else if (cfg->session == RWK_SESSION_PGRP || cfg->session == RWK_SESSION_FOREGROUND) {
        if (setpgid(0, 0) < 0) rwk_child_fail(c, RWK_STAGE_SETPGID, errno, 0);
        /* Every signal is still blocked, SIGTTOU too: no stop. Best effort: a
         * terminal that is gone or no longer ours leaves the bot in the background. */
        if (cfg->session == RWK_SESSION_FOREGROUND && cfg->ctty_fd >= 0)
            (void)tcsetpgrp(cfg->ctty_fd, getpgrp());
    }
}

/* Raw syscalls: glibc's sigaction and sigprocmask skip its internal signals 32
 * and 33, which the parent may have ignored or blocked as well. */
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

void rwk_default_dispositions(void) {
    struct kernel_sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.handler = SIG_DFL;
    for (int sig = 1; sig <= 64; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        (void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
    }
}

/* The parent blocked every signal around fork; handlers it installed must not
 * run here, and ignored signals would stay ignored across execve. */
static void step_signals(void) {
    rwk_default_dispositions();
    uint64_t none = 0;
    (void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
}

/* Also called after the uid change: the kernel clears the parent-death signal
 * whenever the credentials change (commit_creds), so it is armed again. */
static void step_pdeathsig(struct child *c) {
    int sig = c->cfg->pdeath_signal;
    if (sig <= 0) return;
    if (prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0) < 0)
        rwk_child_fail(c, RWK_STAGE_PDEATHSIG, errno, 0);
    /* The parent may have died before the prctl: then nobody will signal us. */
    if (getppid() != c->parent) rwk_child_fail(c, RWK_STAGE_PDEATHSIG, ESRCH, 0);
}

static void step_chdir(struct child *c) {
    if (c->cfg->workdir && chdir(c->cfg->workdir) < 0) rwk_child_fail(c, RWK_STAGE_CHDIR, errno, 0);
}

/* Moves one of the child's own fds above `floor` so that no dst overwrites it. */
static int move_above(struct child *c, int fd, int floor) {
    if (fd < 0 || fd > floor) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, floor + 1);
    if (moved < 0) rwk_child_fail(c, RWK_STAGE_FD_MAP, errno, -1);
    close(fd);
    return moved;
}

/* Pair i of the virtual list: stdin/stdout/stderr first, then cfg->fds. */
static int pair_at(const struct rwk_spawn_config *cfg, size_t i, int *src, int *dst) {
    if (i < 3) {
        *src = i == 0 ? cfg->stdin_fd : i == 1 ? cfg->stdout_fd : cfg->stderr_fd;
        *dst = (int)i;
        return *src >= 0;
    }
    *src = cfg->fds[i - 3].src;
    *dst = cfg->fds[i - 3].dst;
    return 1;
}

/* Classic two-phase dup: first every src goes above the highest dst (so no dup2
 * can clobber a src that is still needed), then each lands on its dst. dup2
 * leaves the dst without FD_CLOEXEC. */
static void step_fd_map(struct child *c) {
    const struct rwk_spawn_config *cfg = c->cfg;
    size_t n = cfg->nfds + 3;
    int tmp[RWK_MAX_FD_PAIRS + 3];
    int src, dst, top = 2;

    for (size_t i = 0; i < n; i++)
        if (pair_at(cfg, i, &src, &dst) && dst > top) top = dst;
    /* One more pair under reload = "signal": the init's fd directory. */
    int kd_dst = c->key_dir_fd >= 0 ? cfg->key_dir_target : -1;
    if (kd_dst > top) top = kd_dst;
    c->report_fd = move_above(c, c->report_fd, top);
    c->sock_fd = move_above(c, c->sock_fd, top);
    /* Not closed by move_above's close() in the parent: this is the child's copy. */
    c->landlock_fd = move_above(c, c->landlock_fd, top);

    for (size_t i = 0; i < n; i++) {
        tmp[i] = -1;
        if (!pair_at(cfg, i, &src, &dst)) continue;
        tmp[i] = fcntl(src, F_DUPFD_CLOEXEC, top + 1);
        if (tmp[i] < 0) rwk_child_fail(c, RWK_STAGE_FD_MAP, errno, (int)i - 3);
    }
    int kd_tmp = -1;
    if (kd_dst >= 0 && (kd_tmp = fcntl(c->key_dir_fd, F_DUPFD_CLOEXEC, top + 1)) < 0)
        rwk_child_fail(c, RWK_STAGE_FD_MAP, errno, -4);
    c->nkept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!pair_at(cfg, i, &src, &dst)) continue;
        if (dup2(tmp[i], dst) < 0) rwk_child_fail(c, RWK_STAGE_FD_MAP, errno, (int)i - 3);
        close(tmp[i]);
        if (dst >= 3) c->kept[c->nkept++] = dst;
    }
    if (kd_dst >= 0) {
        if (dup2(kd_tmp, kd_dst) < 0) rwk_child_fail(c, RWK_STAGE_FD_MAP, errno, -4);
        close(kd_tmp);
        c->kept[c->nkept++] = kd_dst;
    }
}

static void step_rlimits(struct child *c) {
    for (size_t i = 0; i < c->cfg->nrlimits; i++) {
        const struct rwk_rlimit *l = &c->cfg->rlimits[i];
        struct rlimit r = { .rlim_cur = l->soft, .rlim_max = l->hard };
        if (setrlimit(l->resource, &r) < 0) rwk_child_fail(c, RWK_STAGE_RLIMIT, errno, (int)i);
    }
}

/* capabilities(7). Root's capabilities go before the bot starts, but for the
 * ones the profile keeps ([sandbox] capabilities): a root bot can't then mount,
 * load modules, bypass file modes (CAP_DAC_OVERRIDE) or trace other processes.
 * Bit N of a set is capability N, in two 32-bit words (_LINUX_CAPABILITY_VERSION_3). */
static int capabilities(struct __user_cap_data_struct d[2]) {
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    return (int)syscall(SYS_capget, &h, d);
}

/* Before the ids change, while CAP_SETPCAP may still be ours. With no_new_privs
 * (the profile's, set later in this checklist, or inherited) no execve can add a
 * capability (capabilities(7): the permitted set is capped at the one before),
 * so the bounding set is left as it is: about 40 PR_CAPBSET_DROP calls, each a
 * new set of credentials, 0.05 ms. Without it, every capability not kept leaves
 * the bounding set, or root's next execve, or a set-user-ID-root program's, would
 * get it back; where that can't be done (no CAP_SETPCAP) and the bounding set
 * holds more, the spawn fails (the plan refuses it first). Ambient capabilities
 * are cleared, and kept ones survive a change to a user other than root
 * (PR_SET_KEEPCAPS) for step_capabilities. */
static void step_bounding_set(struct child *c) {
    const struct rwk_spawn_config *cfg = c->cfg;
    if (!cfg->no_new_privs && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
        struct __user_cap_data_struct d[2];
        if (capabilities(d) < 0) rwk_child_fail(c, RWK_STAGE_BOUNDING_SET, errno, -1);
        int can_drop = (d[0].effective >> CAP_SETPCAP) & 1;
        for (int cap = 0; cap < 64; cap++) {
            if ((cfg->keep_caps >> cap) & 1) continue;
            if (can_drop) {
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
                if (errno == EINVAL) break;   /* past the kernel's last capability */
                rwk_child_fail(c, RWK_STAGE_BOUNDING_SET, errno, cap);
            }
            int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
            if (in < 0) break;
            if (in) rwk_child_fail(c, RWK_STAGE_BOUNDING_SET, EPERM, cap);
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        rwk_child_fail(c, RWK_STAGE_BOUNDING_SET, errno, -1);
    if (cfg->keep_caps && cfg->set_ids && cfg->uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        rwk_child_fail(c, RWK_STAGE_BOUNDING_SET, errno, -1);
}

/* After the ids change (which needed CAP_SETUID and CAP_SETGID): the permitted
 * set becomes the kept capabilities we still hold, and so do the effective,
 * inheritable and ambient sets. A root bot's execve then grants exactly those
 * (no_new_privs, or a bounding set that holds no other); a bot of another user
 * keeps them through its execve as ambient capabilities, as systemd's
 * AmbientCapabilities= does. */
static void step_capabilities(struct child *c) {
    struct __user_cap_data_struct d[2];
    if (capabilities(d) < 0) rwk_child_fail(c, RWK_STAGE_CAPABILITIES, errno, 0);
    for (int i = 0; i < 2; i++) {
        d[i].permitted &= (uint32_t)(c->cfg->keep_caps >> (32 * i));
        d[i].effective = d[i].permitted;
        d[i].inheritable = d[i].permitted;
    }
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    if (syscall(SYS_capset, &h, d) < 0) rwk_child_fail(c, RWK_STAGE_CAPABILITIES, errno, 1);
    for (int cap = 0; cap < 64; cap++) {
        if (!((d[cap / 32].permitted >> (cap % 32)) & 1)) continue;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            rwk_child_fail(c, RWK_STAGE_CAPABILITIES, errno, 2 + cap);
    }
}

static void step_ids(struct child *c) {
    const struct rwk_spawn_config *cfg = c->cfg;
    if (!cfg->set_ids) return;
    if (syscall(SYS_setgroups, cfg->ngroups, cfg->groups) < 0) rwk_child_fail(c, RWK_STAGE_SETGROUPS, errno, 0);
    if (syscall(SYS_setresgid, cfg->gid, cfg->gid, cfg->gid) < 0) rwk_child_fail(c, RWK_STAGE_SETGID, errno, 0);
    if (syscall(SYS_setresuid, cfg->uid, cfg->uid, cfg->uid) < 0) rwk_child_fail(c, RWK_STAGE_SETUID, errno, 0);
    /* Never leave privileges half-dropped: getting root back must be impossible. */
    if (cfg->uid != 0 && syscall(SYS_setuid, 0) == 0) rwk_child_fail(c, RWK_STAGE_DROP_CHECK, EPERM, 0);
    if (getuid() != cfg->uid || geteuid() != cfg->uid || getgid() != cfg->gid)
        rwk_child_fail(c, RWK_STAGE_DROP_CHECK, EPERM, 0);
    step_pdeathsig(c);
}

/* Every fd that is not 0-2 or a dst becomes close-on-exec; that includes the
 * report pipe and the socket, which the next steps still need. */
static void step_close_fds(struct child *c) {
    int *k = c->kept;
    for (int i = 1; i < c->nkept; i++)           /* insertion sort; nkept is small */
        for (int j = i; j > 0 && k[j - 1] > k[j]; j--) { int t = k[j]; k[j] = k[j - 1]; k[j - 1] = t; }
    unsigned int from = 3;
    for (int i = 0; i <= c->nkept; i++) {
        unsigned int next = i < c->nkept ? (unsigned int)k[i] : ~0U;
        if (next > from && syscall(SYS_close_range, from, next == ~0U ? ~0U : next - 1,
                                   CLOSE_RANGE_CLOEXEC) < 0)
            rwk_child_fail(c, RWK_STAGE_CLOSE_FDS, errno, 0);
        if (next != ~0U && next + 1 > from) from = next + 1;
    }
}

#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

int rwk_child_landlock_restrict_self(int ruleset_fd) {
    return syscall(SYS_landlock_restrict_self, ruleset_fd, 0U) < 0 ? -errno : 0;
}

static void step_no_new_privs(struct child *c) {
    if (c->cfg->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        rwk_child_fail(c, RWK_STAGE_NO_NEW_PRIVS, errno, 0);
}

/* Needs no_new_privs (or CAP_SYS_ADMIN); the parent built the whole ruleset.
 * The domain is inherited by every descendant and can't be lifted. */
static void step_landlock(struct child *c) {
    if (c->landlock_fd < 0) return;
    int r = rwk_child_landlock_restrict_self(c->landlock_fd);
    if (r < 0) rwk_child_fail(c, RWK_STAGE_LANDLOCK, -r, 0);
}

static long load_filter(const void *insns, size_t len, unsigned int flags) {
    struct sock_fprog prog = { .len = (unsigned short)len, .filter = (struct sock_filter *)insns };
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static void step_seccomp(struct child *c) {
    if (c->cfg->seccomp_filter && load_filter(c->cfg->seccomp_filter, c->cfg->seccomp_len, 0) < 0)
        rwk_child_fail(c, RWK_STAGE_SECCOMP, errno, 0);
}

/* The no_exec filter goes last, after the deny filter and no_new_privs. Its
 * listener goes to the parent, which lets exactly our own execve continue. */
static void step_exec_notify(struct child *c) {
    if (!c->cfg->no_exec) return;
    long lfd = load_filter(c->cfg->exec_notify_filter, c->cfg->exec_notify_len,
                           SECCOMP_FILTER_FLAG_NEW_LISTENER);
    if (lfd < 0) rwk_child_fail(c, RWK_STAGE_SECCOMP_NOTIFY, errno, 0);

    char byte = 'L';
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    int fd = (int)lfd;
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    ssize_t n;
    do n = sendmsg(c->sock_fd, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
    if (n != 1) rwk_child_fail(c, RWK_STAGE_SEND_LISTENER, n < 0 ? errno : EIO, 0);
    close(fd);
    close(c->sock_fd);
    c->sock_fd = -1;
}

/* The child's own PATH, not the parent's: like execvpe, without malloc. */
static const char *env_path(const char *const *envp) {
    for (; envp && *envp; envp++)
        if (strncmp(*envp, "PATH=", 5) == 0) return *envp + 5;
    return RWK_DEFAULT_PATH;
}

__attribute__((noreturn))
static void step_execve(struct child *c) {
    const struct rwk_spawn_config *cfg = c->cfg;
    char *const *argv = (char *const *)cfg->argv;
    char *const *envp = (char *const *)cfg->envp;
    if (cfg->path[0] == '\0') rwk_child_fail(c, RWK_STAGE_EXECVE, ENOENT, 0);
    if (strchr(cfg->path, '/')) {
        execve(cfg->path, argv, envp);
        rwk_child_fail(c, RWK_STAGE_EXECVE, errno, 0);
    }
    size_t namelen = strlen(cfg->path);
    int saw_eacces = 0;
    char buf[4096];
    for (const char *p = env_path(cfg->envp);; p++) {
        const char *end = strchrnul(p, ':');
        size_t dirlen = (size_t)(end - p);
        if (dirlen + 1 + namelen + 1 <= sizeof buf) {
            if (dirlen == 0) { buf[0] = '.'; dirlen = 1; } else memcpy(buf, p, dirlen);
            buf[dirlen] = '/';
            memcpy(buf + dirlen + 1, cfg->path, namelen + 1);
            execve(buf, argv, envp);
            if (errno == EACCES) saw_eacces = 1;
            else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV
                     && errno != ETIMEDOUT)
                rwk_child_fail(c, RWK_STAGE_EXECVE, errno, 0);
        }
        if (*end == '\0') break;
        p = end;
    }
    rwk_child_fail(c, RWK_STAGE_EXECVE, saw_eacces ? EACCES : ENOENT, 0);
}

void rwk_child_main(struct child *c) {
    step_session(c);
    step_signals();
    step_pdeathsig(c);
    step_fd_map(c);
    step_rlimits(c);
    step_bounding_set(c);
    step_ids(c);
    step_capabilities(c);
    /* After the drop, as systemd does: the bot starts only in a directory it may
     * enter itself, and root never walks a path the bot user could have swapped. */
    step_chdir(c);
    step_close_fds(c);
    step_no_new_privs(c);
    step_landlock(c);
    step_seccomp(c);
    step_exec_notify(c);
    step_execve(c);
}

/* ---- the parent --------------------------------------------------------- */

static int set_failure(struct rwk_spawn_result *out, int stage, int error) {
    out->stage = stage;
    out->error = error;
    return -1;
}

static int validate(const struct rwk_spawn_config *cfg) {
    if (!cfg->path || !cfg->argv || !cfg->envp || cfg->nfds > RWK_MAX_FD_PAIRS) return -1;
    if (cfg->nfds && !cfg->fds) return -1;
    if (cfg->nrlimits && !cfg->rlimits) return -1;
    if (cfg->set_ids && cfg->ngroups && !cfg->groups) return -1;
    if (cfg->seccomp_filter && (cfg->seccomp_len == 0 || cfg->seccomp_len > BPF_MAXINSNS)) return -1;
    if (cfg->no_exec && (!cfg->exec_notify_filter || cfg->exec_notify_len == 0
                         || cfg->exec_notify_len > BPF_MAXINSNS)) return -1;
    if (cfg->ctty_fd >= 0 && cfg->session != RWK_SESSION_NEW && cfg->session != RWK_SESSION_FOREGROUND) return -1;
    if (cfg->tree < RWK_TREE_NONE || cfg->tree > RWK_TREE_USERNS) return -1;
    if (cfg->landlock_fd < -1) return -1;
    if (cfg->ns_fd < -1 || (cfg->ns_fd >= 0 && (cfg->tree || cfg->ninit_fds))) return -1;
    if (cfg->ninit_fds && (!cfg->tree || !cfg->init_fds || cfg->ninit_fds > RWK_MAX_FD_PAIRS
                           || cfg->key_dir_target < 3 || !cfg->init_filter || cfg->init_filter_len == 0
                           || cfg->init_filter_len > BPF_MAXINSNS)) return -1;
    for (size_t i = 0; cfg->ninit_fds && i < cfg->nfds; i++)
        if (cfg->fds[i].dst == cfg->key_dir_target) return -1;
    /* Each dst at most once, counting stdin/stdout/stderr as dsts 0-2. */
    for (size_t i = 0; i < cfg->nfds; i++) {
        int dst = cfg->fds[i].dst;
        if (dst < 0 || cfg->fds[i].src < 0) return -1;
        if ((dst == 0 && cfg->stdin_fd >= 0) || (dst == 1 && cfg->stdout_fd >= 0)
            || (dst == 2 && cfg->stderr_fd >= 0)) return -1;
        for (size_t j = 0; j < i; j++) if (cfg->fds[j].dst == dst) return -1;
    }
    return 0;
}

/* The listener fd; -1 when the child closed the socket (it failed and wrote a
 * report), -2 when something else arrived. */
static int recv_listener(int sock) {
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
    ssize_t n;
    do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
    if (n == 0) return -1;
    if (n != 1) return -2;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS
        || cm->cmsg_len != CMSG_LEN(sizeof(int))) return -2;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

static void close_if_open(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static void reap(struct rwk_spawn_result *out) {
    int status = 0;
    while (waitpid(out->pid, &status, 0) < 0 && errno == EINTR) {}
    out->wait_status = status;
    close_if_open(&out->pidfd);
    close_if_open(&out->listener_fd);
    close_if_open(&out->bot_pidfd);
    close_if_open(&out->control_fd);
}

/* The clone flags for a tree mode. */
static unsigned long tree_flags(int tree) {
    switch (tree) {
    case RWK_TREE_PIDNS: return CLONE_NEWPID;
    case RWK_TREE_USERNS: return CLONE_NEWUSER | CLONE_NEWPID;
    default: return 0;
    }
}

/* The vfork-style path (see vfork_spawn): what the child starts from. */
struct vfork_start {
    struct child c;    /* copied onto the child's own stack before any step runs */
    int close_fd[2];   /* fds of the parent's the child closes first (-1: none) */
};

static int vfork_child(void *arg) {
    const struct vfork_start *start = arg;
    /* The steps update their struct child (moved fds, the kept list): work on a
     * copy, so that nothing in the suspended parent's frame changes under it. */
    struct child c = start->c;
    for (int i = 0; i < 2; i++) if (start->close_fd[i] >= 0) close(start->close_fd[i]);
    rwk_child_main(&c);
}

/* Size of a clone child's stack: the checklist's deepest frame (fd tables, the
 * PATH buffer) is under 8 KiB; the rest is margin for glibc's thin wrappers. */
#define VFORK_STACK (64 * 1024)

char *rwk_clone_stack(void) {
    /* One per thread that clones (the supervisor's main thread; a test's
     * threads), mapped at its first clone and kept: a vfork-style child is
     * done with it once clone returns (it has exec'd or exited), so the next
     * one may run on it. What a child leaves there is the checklist's own
     * data (fds, paths, pointers into the config), never a secret's bytes. */
    static __thread char *top;
    if (top) return top;
    /* VFORK_STACK usable bytes above one guard page of the system's page size
     * (4 KiB on x86_64, up to 64 KiB on arm64): an overflow faults instead of
     * writing into our heap. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = VFORK_STACK + page;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (stack == MAP_FAILED) return NULL;
    if (mprotect(stack, page, PROT_NONE) < 0) {
        int e = errno;
        munmap(stack, size);
        errno = e;
        return NULL;
    }
    return top = stack + size;
}

/*
 * clone(CLONE_VM | CLONE_VFORK) on a stack of its own, as posix_spawn does: no
 * page tables are copied, and we are suspended until the child execs or exits.
 * The child shares our memory, so it only reads the config (every write goes
 * to its own stack) and makes async-signal-safe calls; it has its own fd table
 * and signal handlers (no CLONE_FILES, no CLONE_SIGHAND), so its dup2s and
 * sigactions don't touch ours. MADV_WIPEONFORK does not apply to a shared
 * address space: the child can read every page that is readable in the
 * parent, the guarded arena included while the launch window keeps it open.
 * It runs only our checklist before execve replaces its address space, and it
 * holds no copy of anything afterwards (a fork would have had a copy-on-write
 * view until its exec); see docs/ARCHITECTURE.md, "The child checklist".
 */
static pid_t vfork_spawn(struct vfork_start *start) {
    char *stack = rwk_clone_stack();
    if (!stack) return -1;
    return clone(vfork_child, stack, CLONE_VM | CLONE_VFORK | SIGCHLD, start);
}

pid_t rwk_vfork_child(const struct child *c, int close_a, int close_b) {
    struct vfork_start start = { .c = *c, .close_fd = { close_a, close_b } };
    return vfork_spawn(&start);
}

int rwk_spawn(const struct rwk_spawn_config *cfg, struct rwk_spawn_result *out) {
    memset(out, 0, sizeof *out);
    out->pid = -1;
    out->pidfd = out->report_fd = out->listener_fd = out->bot_pidfd = out->control_fd = -1;
    if (validate(cfg) < 0) return set_failure(out, RWK_STAGE_CONFIG, EINVAL);

    int report[2], sock[2] = { -1, -1 }, ctl[2] = { -1, -1 };
    if (pipe2(report, O_CLOEXEC) < 0) return set_failure(out, RWK_STAGE_PIPE, errno);
    if ((cfg->no_exec && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0)
        || (cfg->tree && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0)) {
        int e = errno;
        close(report[0]);
        close(report[1]);
        close_if_open(&sock[0]);
        close_if_open(&sock[1]);
        return set_failure(out, RWK_STAGE_PIPE, e);
    }

    struct child c = { .cfg = cfg, .report_fd = report[1], .sock_fd = sock[1], .landlock_fd = cfg->landlock_fd,
                       .key_dir_fd = -1,
                       .parent = getpid(), .outer_uid = geteuid(), .outer_gid = getegid() };
    /* Into an init's namespace: our next child (only) is born there. The bot
     * is still ours; from inside, its parent is outside: getppid() is 0. */
    int self_pidfd = -1;
    if (cfg->ns_fd >= 0) {
        self_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        if (self_pidfd < 0 || setns(cfg->ns_fd, CLONE_NEWPID) < 0) {
            int e = errno;
            close_if_open(&self_pidfd);
            close(report[0]);
            close(report[1]);
            close_if_open(&sock[0]);
            close_if_open(&sock[1]);
            return set_failure(out, RWK_STAGE_PID_NAMESPACE, e);
        }
        c.parent = 0;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid;
    if (cfg->tree || cfg->no_exec) {
        /* A real fork, which copies the address space: the namespace's init
         * outlives the exec and must have memory of its own; and under no_exec
         * the child waits in its execve for us to answer the notification, so
         * we must not be suspended until it execs, as vfork would have us.
         * A raw clone for the namespaces; glibc's fork otherwise (its atfork
         * handlers keep malloc usable in the child, which we don't need). */
        pid = cfg->tree ? rwk_raw_clone(tree_flags(cfg->tree)) : fork();
        if (pid == 0) {
            close(report[0]);
            close_if_open(&sock[0]);
            close_if_open(&ctl[0]);
            if (cfg->tree) rwk_tree_init(&c, ctl[1]);
            rwk_child_main(&c);
        }
    } else {
        pid = rwk_vfork_child(&c, report[0], -1);
        /* The child shared our mm: its privilege drop (commit_creds) set the
         * shared mm's dumpable flag to fs.suid_dumpable, which may be 2. The
         * supervisor stays not dumpable (main.swift sets it first thing). */
        int e = errno;
        (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        errno = e;
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (self_pidfd >= 0) {
        /* Back to our own namespace for every later child. This can't fail
         * where joining the init's could not; if it did, no child of ours may
         * start in the bot's namespace unasked: the spawn fails. */
        int back = setns(self_pidfd, CLONE_NEWPID);
        int e = errno;
        close(self_pidfd);
        if (back < 0) {
            if (pid > 0) {
                kill(pid, SIGKILL);
                out->pid = pid;
                reap(out);
            }
            close(report[0]);
            close(report[1]);
            close_if_open(&sock[0]);
            close_if_open(&sock[1]);
            return set_failure(out, RWK_STAGE_PID_NAMESPACE, e);
        }
    }
    close(report[1]);
    close_if_open(&sock[1]);
    close_if_open(&ctl[1]);
    if (pid < 0) {
        close(report[0]);
        close_if_open(&sock[0]);
        close_if_open(&ctl[0]);
        /* Into an init's namespace, ENOMEM is the namespace refusing new
         * processes (its init is gone: alloc_pid); anything else is the fork's. */
        int ns_refused = cfg->tree || (cfg->ns_fd >= 0 && fork_errno == ENOMEM);
        return set_failure(out, ns_refused ? RWK_STAGE_PID_NAMESPACE : RWK_STAGE_FORK, fork_errno);
    }
    out->pid = pid;
    out->report_fd = report[0];
    out->control_fd = ctl[0];

    /* Our unreaped child cannot be recycled, so this pidfd is the right process. */
    out->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (out->pidfd < 0) {
        int e = errno;
        kill(pid, SIGKILL);
        close_if_open(&sock[0]);
        close_if_open(&out->report_fd);
        reap(out);
        return set_failure(out, RWK_STAGE_PIDFD, e);
    }
    if (cfg->tree) {
        /* The init forks the bot and sends its pidfd, or fails and reports why. */
        struct rwk_tree_msg m;
        int bot_pidfd = -1;
        int got = rwk_tree_recv_fd(out->control_fd, &m, &bot_pidfd);
        if (got <= 0 || m.type != RWK_TREE_MSG_BOT || bot_pidfd < 0) {
            int e = errno;
            if (bot_pidfd >= 0) close(bot_pidfd);
            close_if_open(&sock[0]);
            if (got <= 0 && rwk_spawn_report(out, -1) < 0) return -1; /* the init's report says why */
            kill(pid, SIGKILL);
            close_if_open(&out->report_fd);
            reap(out);
            return set_failure(out, RWK_STAGE_TREE_INIT, got < 0 && e ? e : EPROTO);
        }
        out->bot_pidfd = bot_pidfd;
    }
    if (cfg->no_exec) {
        int lfd = recv_listener(sock[0]);
        int e = errno;
        close_if_open(&sock[0]);
        if (lfd >= 0) {
            out->listener_fd = lfd;
            return 0; /* the caller serves the listener and polls the report */
        }
        if (lfd == -2) { /* the child would wait in execve forever */
            kill(pid, SIGKILL);
            close_if_open(&out->report_fd);
            reap(out);
            return set_failure(out, RWK_STAGE_RECV_LISTENER, e ? e : EPROTO);
        }
    }
    return rwk_spawn_report(out, -1) < 0 ? -1 : 0;
}

int rwk_exec_in_place(const struct rwk_spawn_config *cfg, struct rwk_spawn_result *out) {
    memset(out, 0, sizeof *out);
    out->pid = -1;
    out->pidfd = out->report_fd = out->listener_fd = out->bot_pidfd = out->control_fd = -1;
    if (validate(cfg) < 0 || cfg->tree || cfg->ns_fd >= 0 || cfg->no_exec || cfg->ninit_fds)
        return set_failure(out, RWK_STAGE_CONFIG, EINVAL);
    jmp_buf back;
    /* volatile: read after longjmp */
    struct child *volatile c = &(struct child){ .cfg = cfg, .report_fd = -1, .sock_fd = -1,
                                                .landlock_fd = cfg->landlock_fd, .key_dir_fd = -1,
                                                .parent = getppid(), .outer_uid = geteuid(), .outer_gid = getegid(),
                                                .in_place = &back };
    if (setjmp(back) == 0) rwk_child_main(c);
    out->stage = c->failed_stage;
    out->error = c->failed_error;
    out->index = c->failed_index;
    return -1;
}

int rwk_spawn_report(struct rwk_spawn_result *out, int timeout_ms) {
    if (out->report_fd < 0) return out->stage == RWK_STAGE_NONE ? 0 : -1;
    struct pollfd p = { .fd = out->report_fd, .events = POLLIN };
    int r;
    do r = poll(&p, 1, timeout_ms); while (r < 0 && errno == EINTR);
    if (r == 0) return 1;

    struct report rep;
    size_t got = 0;
    while (got < sizeof rep) {
        ssize_t n = read(out->report_fd, (char *)&rep + got, sizeof rep - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close_if_open(&out->report_fd);
    if (got == 0) return 0; /* EOF: the pipe closed in a successful execve */
    if (got == sizeof rep) {
        out->stage = rep.stage;
        out->error = rep.error;
        out->index = rep.index;
    } else {
        out->stage = RWK_STAGE_PIPE;
        out->error = EIO;
    }
    reap(out);
    return -1;
}
