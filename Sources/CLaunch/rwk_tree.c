/*
 * Tree containment: the PID 1 of the bot's own PID namespace. See child.h.
 *
 * Two forms. The long-lived one (rwk_tree_keeper.c) outlives the bot: the
 * supervisor starts each bot into its namespace (setns, so the bot is the
 * supervisor's child), and a restart costs no new namespace and no fork of the
 * supervisor. Where the supervisor can't join the namespace (a user namespace:
 * no CAP_SYS_ADMIN of its own) or the init must be the bot's parent (reload =
 * "signal": the bot inherits the init's Landlock domain and looks into its
 * fds), rwk_tree_init here forks one bot and ends with it. This file also
 * holds the control socket's messaging and the probe.
 *
 * Why: PR_SET_PDEATHSIG reaches only the process that set it, so a bot's
 * forked, setsid'd or double-forked descendants outlive a SIGKILLed supervisor
 * (re-parented to the host's init, keys in their environment). When the init
 * of a PID namespace dies, the kernel SIGKILLs every process in it
 * (pid_namespaces(7)); this init dies with the supervisor. The model is
 * bubblewrap's --unshare-pid --die-with-parent, with tini's duties: reap,
 * pass the bot's status on, never take a signal it has no use for.
 *
 * Runs in the clone child: raw syscalls only, no allocation, never returns.
 */
#define _GNU_SOURCE
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t rwk_raw_clone(unsigned long flags) {
    return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

int rwk_tree_send(int control_fd, int32_t type, int32_t value) {
    struct rwk_tree_msg m = { type, value };
    ssize_t n;
    do n = send(control_fd, &m, sizeof m, MSG_NOSIGNAL | MSG_DONTWAIT); while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof m) return 0;
    if (n >= 0) errno = EIO;
    return -1;
}

int rwk_tree_recv(int control_fd, struct rwk_tree_msg *msg) {
    ssize_t n;
    do n = recv(control_fd, msg, sizeof *msg, MSG_DONTWAIT); while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof *msg) return 1;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n >= 0) errno = n == 0 ? 0 : EPROTO;
    return -1;
}

/* See child.h. */
int rwk_tree_recv_msg(int control, struct rwk_tree_msg *msg, int *fd, int flags) {
    *fd = -1;
    struct iovec iov = { .iov_base = msg, .iov_len = sizeof *msg };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
    ssize_t n;
    do n = recvmsg(control, &mh, MSG_CMSG_CLOEXEC | flags); while (n < 0 && errno == EINTR);
    if (n == 0) { errno = 0; return 0; }
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) && flags ? 0 : -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS
        && cm->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(fd, CMSG_DATA(cm), sizeof *fd);
    if (n != (ssize_t)sizeof *msg) { errno = EPROTO; return -1; }
    return 1;
}

int rwk_tree_recv_fd(int control, struct rwk_tree_msg *msg, int *fd) { return rwk_tree_recv_msg(control, msg, fd, 0); }

int rwk_tree_send_fd(int control, int32_t type, int32_t value, int fd) {
    struct rwk_tree_msg m = { type, value };
    struct iovec iov = { .iov_base = &m, .iov_len = sizeof m };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    ssize_t n;
    do n = sendmsg(control, &mh, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof m ? 0 : -1;
}

/* Writes `text` to a /proc file of our own: 0, or -1 and errno. */
static int write_proc(const char *path, const char *text, size_t len) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, len);
    int e = errno;
    close(fd);
    if (n == (ssize_t)len) return 0;
    errno = n < 0 ? e : EIO;
    return -1;
}

/* "N N 1\n" without snprintf (not async-signal-safe). */
static size_t id_line(char *buf, unsigned long id) {
    char digits[24];
    size_t n = 0, len = 0;
    do { digits[n++] = (char)('0' + id % 10); id /= 10; } while (id);
    for (int copy = 0; copy < 2; copy++) {
        for (size_t i = n; i > 0; i--) buf[len++] = digits[i - 1];
        buf[len++] = ' ';
    }
    buf[len++] = '1';
    buf[len++] = '\n';
    return len;
}

/* The pages of the bot's environment block (secrets, readable while we were
 * cloned) go from our copy of the supervisor's memory: the bot has its own
 * copy until its exec, and the init, which lives as long as the bot, needs
 * none. The block is one guarded buffer, so its pages hold nothing else. */
void rwk_drop_environment(const char *const *envp) {
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (; envp && *envp; envp++) {
        uintptr_t a = (uintptr_t)*envp, b = a + strlen(*envp) + 1;
        if (a < lo) lo = a;
        if (b > hi) hi = b;
    }
    if (hi <= lo) return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    lo &= ~(page - 1);
    hi = (hi + page - 1) & ~(page - 1);
    (void)munmap((void *)lo, hi - lo);
}

/* In a new user namespace: keep our own uid and gid (user_namespaces(7),
 * "Defining user and group ID mappings"; setgroups must be denied before an
 * unprivileged gid_map). The bot then runs as the same user as before, with
 * no capability outside the namespace. */
static int map_own_ids(uid_t uid, gid_t gid) {
    char line[64];
    /* Our /proc files belong to root while we are not dumpable (the supervisor
     * never is), so for the few writes below we are. Callers first close every
     * fd but their own few and unmap the environment block. What stays is the
     * guarded (PROT_NONE) copy of the supervisor's heap: for the microseconds
     * of the window, a same-uid process outside any sandbox that may ptrace
     * (Yama ptrace_scope 0) could attach; such a process can read the
     * identity file of that uid anyway, and a Landlocked bot can't ptrace a
     * process outside its domain. */
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) return -1;
    int r = write_proc("/proc/self/uid_map", line, id_line(line, uid));
    if (r == 0 && write_proc("/proc/self/setgroups", "deny", 4) < 0 && errno != ENOENT) r = -1;
    if (r == 0) r = write_proc("/proc/self/gid_map", line, id_line(line, gid));
    int e = errno;
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    errno = e;
    return r;
}

/* The probe child: it exists, in its namespaces; nothing else to do. */
static int probe_child(void *arg) {
    (void)arg;
    _exit(0);
}

int rwk_tree_probe(int tree) {
    unsigned long flags = tree == RWK_TREE_USERNS ? CLONE_NEWUSER | CLONE_NEWPID
                        : tree == RWK_TREE_PIDNS ? CLONE_NEWPID : 0;
    if (!flags) return EINVAL;
    /* CLONE_VM|CLONE_VFORK on a small stack of its own: no copy of our page
     * tables (a fork of a large process costs far more than the namespaces),
     * nothing of ours duplicated, and the child only exits. Whether the id
     * maps could be written is not probed: they need nothing the clone didn't. */
    size_t size = 64 * 1024;
    void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return errno;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(probe_child, (char *)stack + size, (int)(flags | CLONE_VM | CLONE_VFORK | SIGCHLD), NULL);
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) { munmap(stack, size); return e ? e : EINVAL; }
    int status = 0;
    while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {}
    munmap(stack, size);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return ECHILD;
}

/* Renumbers the init's fds to 0, 1, 2, … (close-on-exec) and closes every
 * other fd; -1 when that fails. Any of them may sit low now, so each is first
 * lifted above the range. A -1 entry stays -1. */
int rwk_keep_only(int *fds, int n) {
    int lifted[RWK_MAX_FD_PAIRS + 5];
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0 && (lifted[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, n)) < 0) return -1;
    for (int i = 0; i < n; i++) {
        if (fds[i] < 0) continue;
        if (syscall(SYS_dup3, lifted[i], i, O_CLOEXEC) < 0) return -1;
        fds[i] = i;
    }
    return (int)syscall(SYS_close_range, (unsigned)n, ~0U, 0U);
}

/* Zeroes 256 KiB of stack below this frame: the init runs on a copy of the
 * supervisor's stack, where deeper calls (a decrypt's working values) left
 * bytes behind. */
__attribute__((noinline)) static void scrub_stack(void) {
    volatile char pad[256 * 1024];
    memset((char *)pad, 0, sizeof pad);
    __asm__ __volatile__("" : : "r"(pad) : "memory");
}

/* reload = "signal": the bot must be able to look into our fd directory.
 * We take the bot's user (with a privilege drop) and become dumpable: nothing
 * secret of the supervisor's is left in our memory (guarded memory is wiped
 * on fork, the environment block unmapped), only the key files the bot may
 * read anyway. A credential change clears the parent-death signal: re-arm it. */
static int become_readable(struct child *c) {
    const struct rwk_spawn_config *cfg = c->cfg;
    if (cfg->set_ids) {
        if (syscall(SYS_setgroups, cfg->ngroups, cfg->groups) < 0) return -1;
        if (syscall(SYS_setresgid, cfg->gid, cfg->gid, cfg->gid) < 0) return -1;
        if (syscall(SYS_setresuid, cfg->uid, cfg->uid, cfg->uid) < 0) return -1;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) return -1;
    }
    /* Readable means reachable: a bot of our uid in our Landlock domain may
     * open /proc/PID/mem of a dumpable process (Yama permitting). So first
     * nothing worth reading stays: the supervisor's environment strings (its
     * own, not the bot's: /proc/PID/environ reads them) and whatever earlier
     * calls left on the stack below us. And nothing worth taking over: no
     * new privileges, and a filter that allows only the loop's syscalls. */
    for (char **e = environ; e && *e; e++) memset(*e, 0, strlen(*e));
    scrub_stack();
    /* As the creator of a user namespace we hold every capability in it, and
     * a process may look into another only if it holds all of that one's
     * capabilities (capabilities(7), ptrace access mode checking): drop them
     * all, or the bot, which has none, is refused. */
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct none[2];
    memset(none, 0, sizeof none);
    if (syscall(SYS_capset, &hdr, none) < 0) return -1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
    struct sock_fprog prog = { .len = (unsigned short)cfg->init_filter_len,
                               .filter = (struct sock_filter *)cfg->init_filter };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) return -1;
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) return -1;
    /* procfs gives /proc/PID its owner when a path walk revalidates it; the
     * bot's jump through its O_PATH handle (opened while we were root and not
     * dumpable) does not. A walk now makes the cached inode ours. */
    struct stat st;
    return stat("/proc/self/fd", &st);
}

int rwk_init_begin(int control) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) return -1;
    (void)prctl(PR_SET_NAME, "rwk-init", 0, 0, 0);   /* how ps and top show it */
    /* A supervisor that died before the prctl can't signal us; its end of
     * the control socket is closed then. */
    struct pollfd hup = { .fd = control, .events = POLLIN };
    if (poll(&hup, 1, 0) > 0 && (hup.revents & (POLLHUP | POLLERR))) _exit(125);

    /* Every signal is blocked (the supervisor blocked them around the clone),
     * and stays blocked here: SIGCHLD is read from a signalfd, anything else
     * sent to PID 1 stays pending and does nothing. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    return signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
}

void rwk_tree_init(struct child *c, int control) {
    const struct rwk_spawn_config *cfg = c->cfg;
    int sfd = rwk_init_begin(control);
    if (sfd < 0) rwk_child_fail(c, RWK_STAGE_TREE_INIT, errno, 0);

    /* reload = "signal": the bot gets a handle on our fd directory, where its
     * key files live, and our Landlock domain, so that it may look in there
     * (Landlock keeps a sandboxed process from ptrace-class access, such as
     * /proc/PID/fd, to processes outside its domain). */
    size_t nkeys = cfg->ninit_fds;
    if (nkeys) {
        c->key_dir_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (c->key_dir_fd < 0) rwk_child_fail(c, RWK_STAGE_TREE_INIT, errno, 0);
        if (c->landlock_fd >= 0) {
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) rwk_child_fail(c, RWK_STAGE_NO_NEW_PRIVS, errno, 0);
            int r = rwk_child_landlock_restrict_self(c->landlock_fd);
            if (r < 0) rwk_child_fail(c, RWK_STAGE_LANDLOCK, -r, 0);
            c->landlock_fd = -1;   /* the bot inherits the domain */
        }
    }

    /* The bot waits (EOF on `go`) for what the init does only after its copy
     * of the secrets is gone: the id maps of a user namespace, and for reload
     * = "signal" becoming readable to the bot. */
    int go[2] = { -1, -1 };
    if ((cfg->tree == RWK_TREE_USERNS || nkeys) && pipe2(go, O_CLOEXEC) < 0)
        rwk_child_fail(c, RWK_STAGE_TREE_INIT, errno, 0);

    /* Without a `go` pipe the bot needs nothing of us after the clone, so it
     * runs its checklist vfork-style in our memory (no page-table copy of this
     * copy of the supervisor); we resume when it has exec'd. With one, the bot
     * must wait while we run on: a real fork. Under no_exec too: the bot's
     * execve waits for the supervisor's answer, and the supervisor waits for
     * our report of the bot's pid, which a vfork would hold back (deadlock). */
    pid_t bot;
    if (go[0] < 0 && !c->cfg->no_exec) {
        c->parent = 1;   /* the init, as the bot sees it; the bot works on a copy */
        bot = rwk_vfork_child(c, sfd, control);
    } else {
        bot = rwk_raw_clone(0);
    }
    if (bot < 0) rwk_child_fail(c, RWK_STAGE_TREE_INIT, errno, 0);
    if (bot == 0) {
        close(sfd);
        close(control);
        if (go[0] >= 0) {
            close(go[1]);
            char b;
            ssize_t n;
            do n = read(go[0], &b, 1); while (n < 0 && errno == EINTR);
            if (n != 0) _exit(125);
            close(go[0]);
        }
        c->parent = 1;   /* the init, as the bot sees it */
        rwk_child_main(c);
    }
    rwk_drop_environment(cfg->envp);
    if (go[0] >= 0) close(go[0]);
    int pidfd = (int)syscall(SYS_pidfd_open, bot, 0);

    /* Hold nothing of the supervisor's but the key files (reload = "signal"):
     * the bot has its own copies of the rest, and our copy of the report pipe
     * would hide its exec. Ours end up as 0 control, 1 signalfd, 2 the bot's
     * pidfd, 3… the key files; the report pipe stays until the maps are written. */
    if (pidfd < 0) { kill(bot, SIGKILL); _exit(125); }
    int keep[RWK_MAX_FD_PAIRS + 5];
    int n = 0;
    keep[n++] = control;
    keep[n++] = sfd;
    keep[n++] = pidfd;
    for (size_t i = 0; i < nkeys; i++) keep[n++] = cfg->init_fds[i];
    if (go[1] >= 0) {
        keep[n++] = go[1];
        keep[n++] = c->report_fd;
        if (rwk_keep_only(keep, n) < 0) { kill(bot, SIGKILL); _exit(125); }
        c->report_fd = keep[n - 1];
        if ((cfg->tree == RWK_TREE_USERNS && map_own_ids(c->outer_uid, c->outer_gid) < 0)
            || (nkeys && become_readable(c) < 0)) {
            int e = errno;
            kill(bot, SIGKILL);
            rwk_child_fail(c, RWK_STAGE_TREE_INIT, e, 0);
        }
        close(keep[n - 2]);   /* EOF: the bot goes on */
        close(keep[n - 1]);
        n -= 2;
    } else if (rwk_keep_only(keep, n) < 0) {
        kill(bot, SIGKILL);
        _exit(125);
    }
    control = keep[0];
    sfd = keep[1];
    pidfd = keep[2];
    if (rwk_tree_send_fd(control, RWK_TREE_MSG_BOT, bot, pidfd) < 0) {
        kill(bot, SIGKILL);   /* without its pidfd the supervisor can't manage the bot */
        _exit(125);
    }
    close(pidfd);

    int bot_reaped = 0;
    for (;;) {
        struct pollfd fds[2] = { { .fd = sfd, .events = POLLIN }, { .fd = control, .events = POLLIN } };
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            _exit(125);
        }
        if (fds[1].revents & POLLIN) {
            struct rwk_tree_msg m;
            int got, fd;
            while ((got = rwk_tree_recv_msg(control, &m, &fd, MSG_DONTWAIT)) == 1) {
                if (m.type == RWK_TREE_MSG_SIGNAL && m.value > 0 && m.value < 65)
                    kill(-1, m.value);   /* every process of the namespace but us */
                else if (m.type == RWK_TREE_MSG_KEY && fd >= 0 && m.value >= 0 && (size_t)m.value < nkeys)
                    (void)syscall(SYS_dup3, fd, 3 + m.value, O_CLOEXEC);   /* atomic: the path now opens the new value */
                else if (m.type == RWK_TREE_MSG_RELOAD && m.value > 0 && m.value < 65 && !bot_reaped)
                    kill(bot, m.value);
                if (fd >= 0) close(fd);
            }
            if (got == 0 && errno != EAGAIN && errno != EWOULDBLOCK) _exit(137);   /* EOF */
            if (got < 0) _exit(137);     /* the supervisor is gone, and so is the tree */
        } else if (fds[1].revents & (POLLHUP | POLLERR)) {
            _exit(137);
        }
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) > 0) {}
        }
        for (;;) {
            int status = 0;
            pid_t p = waitpid(-1, &status, WNOHANG | __WALL | WUNTRACED | WCONTINUED);
            if (p > 0) {
                /* The bot stopped (Ctrl-Z when it is the terminal's foreground
                 * job) or went on: the supervisor follows it (job control). */
                if (p == bot && WIFSTOPPED(status))
                    (void)rwk_tree_send(control, RWK_TREE_MSG_STOPPED, WSTOPSIG(status));
                else if (p == bot && WIFCONTINUED(status))
                    (void)rwk_tree_send(control, RWK_TREE_MSG_CONTINUED, 0);
                else if (WIFSTOPPED(status) || WIFCONTINUED(status)) {}
                else if (p == bot) {
                    bot_reaped = 1;
                    (void)rwk_tree_send(control, RWK_TREE_MSG_EXIT, status);
                }
                continue;
            }
            /* The bot and everything it left behind are gone. */
            if (p < 0 && errno == ECHILD && bot_reaped) _exit(0);
            break;
        }
    }
}
