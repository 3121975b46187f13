/*
 * The PID 1 of the bot's PID namespace in its long-lived form: the supervisor
 * makes the namespace once (rwk_tree_start) and starts every bot into it
 * (cfg->ns_fd in claunch.c), so a restart makes no namespace and forks no copy
 * of the supervisor. The per-bot form, and why an init at all: rwk_tree.c.
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
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The bot is not our child (the supervisor started it into our namespace with
 * setns, so it is the supervisor's): what we watch is its pidfd. Once it has
 * exited (its children are ours by then: the kernel re-parents them before
 * the pidfd turns readable), the supervisor learns whether the namespace is
 * empty now (EMPTY), or not yet (BUSY, then EMPTY when the last one is reaped). */
__attribute__((noreturn)) static void keeper_main(int control, const char *const *envp) {
    int sfd = rwk_init_begin(control);
    if (sfd < 0) _exit(125);
    /* Nothing of the launch stays: the environment block goes (and the stack
     * we were forked on, in keeper_entry). */
    rwk_drop_environment(envp);
    /* Nor our environment strings, which /proc/PID/environ reads (a root bot
     * keeps CAP_SYS_PTRACE): the supervisor's, not the bot's. */
    for (char **e = environ; e && *e; e++) memset(*e, 0, strlen(*e));
    int keep[2] = { control, sfd };
    if (rwk_keep_only(keep, 2) < 0) _exit(125);
    control = keep[0];
    sfd = keep[1];

    /* `generation`: WATCH's value, echoed in EMPTY and BUSY, so that a word
     * can't be taken for one about another bot. `exited` stays set until the
     * word is sent. */
    int watched = -1, exited = 0, busy_sent = 0;
    int32_t generation = 0;
    for (;;) {
        struct pollfd fds[3] = { { .fd = sfd, .events = POLLIN }, { .fd = control, .events = POLLIN },
                                 { .fd = watched, .events = POLLIN } };
        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            _exit(125);
        }
        /* The watched bot first: a WATCH below replaces it, and these revents are its. */
        if (watched >= 0 && (fds[2].revents & (POLLIN | POLLHUP))) {
            close(watched);
            watched = -1;
            exited = 1;
        }
        if (fds[1].revents & POLLIN) {
            struct rwk_tree_msg m;
            int got, fd;
            while ((got = rwk_tree_recv_msg(control, &m, &fd, MSG_DONTWAIT)) == 1) {
                if (m.type == RWK_TREE_MSG_SIGNAL && m.value > 0 && m.value < 65) {
                    kill(-1, m.value);   /* every process of the namespace but us */
                } else if (m.type == RWK_TREE_MSG_WATCH && fd >= 0) {
                    if (watched >= 0) close(watched);
                    watched = fd;
                    fd = -1;
                    generation = m.value;
                    exited = busy_sent = 0;
                }
                if (fd >= 0) close(fd);
            }
            if (got == 0 && errno != EAGAIN && errno != EWOULDBLOCK) _exit(0);   /* EOF: the supervisor is done */
            if (got < 0) _exit(137);
        } else if (fds[1].revents & (POLLHUP | POLLERR)) {
            _exit(137);
        }
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) > 0) {}
        }
        int none = 0;
        for (;;) {
            int status;
            pid_t p = waitpid(-1, &status, WNOHANG | __WALL);
            if (p > 0) continue;
            none = p < 0 && errno == ECHILD;
            break;
        }
        if (exited && none) {
            if (rwk_tree_send(control, RWK_TREE_MSG_EMPTY, generation) == 0) exited = 0;
        } else if (exited && !busy_sent) {
            if (rwk_tree_send(control, RWK_TREE_MSG_BUSY, generation) == 0) busy_sent = 1;
        }
    }
}

struct keeper_start {
    int control, other;            /* our end of the socket, and the supervisor's (closed) */
    const char *const *envp;
    uintptr_t old_sp;              /* where the supervisor's stack was when it forked us */
};

/* The init runs on a small stack of its own (clone's), so the copy of the
 * supervisor's stack it was forked with can go whole: MADV_DONTNEED on the
 * 256 KiB below the fork's frame (private pages then read as zeros), where
 * deeper calls (a decrypt's working values) left bytes behind. Zeroing them
 * instead would copy every page first (copy-on-write): 0.15 ms per launch. */
static int keeper_entry(void *arg) {
    struct keeper_start k = *(const struct keeper_start *)arg;   /* before its page goes */
    close(k.other);
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t hi = (k.old_sp + page) & ~(page - 1);
    uintptr_t lo = (k.old_sp & ~(page - 1)) - 256 * 1024;
    /* The range may reach below the stack's mapping: the mapped part goes all
     * the same (the ENOMEM for the rest is expected). */
    (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
    keeper_main(k.control, k.envp);
}

int rwk_tree_start(const char *const *envp, struct rwk_tree_start_result *out) {
    out->pid = -1;
    out->pidfd = out->control = out->ns_fd = -1;
    /* The namespace is made by unshare, not by the clone: then its fd comes
     * from our own /proc entry. The init's would need ptrace access to the
     * init (not dumpable, as we are), which CAP_SYS_ADMIN alone does not give
     * (a service's CapabilityBoundingSet= may leave out CAP_SYS_PTRACE). */
    int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (self < 0) return errno;
    /* The way back must be open before we leave: a seccomp filter that allows
     * unshare but not setns would leave every later child of ours in there. */
    if (setns(self, CLONE_NEWPID) < 0 || unshare(CLONE_NEWPID) < 0) {
        int e = errno;
        close(self);
        return e;
    }
    int e = 0, ns = -1, ctl[2] = { -1, -1 };
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) e = errno;
    pid_t pid = -1;
    /* 64 KiB above one guard page (an overflow faults instead of writing into the heap). */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t stack_size = 64 * 1024 + page;
    char *stack = MAP_FAILED;
    if (!e && (stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0)) == MAP_FAILED) e = errno;
    if (!e && mprotect(stack, page, PROT_NONE) < 0) e = errno;
    if (!e) {
        /* Every signal blocked across the clone: the init keeps them blocked.
         * A fork (no CLONE_VM) onto the new stack: the first child in the new
         * namespace, its PID 1. */
        struct keeper_start k = { .control = ctl[1], .other = ctl[0], .envp = envp, .old_sp = (uintptr_t)&k };
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pid = clone(keeper_entry, stack + stack_size, SIGCHLD, &k);
        if (pid < 0) e = errno ? errno : EINVAL;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (stack != MAP_FAILED) munmap(stack, stack_size);   /* ours; the init has its copy */
    /* The namespace can be opened once its init exists (until then the link is empty). */
    if (!e && (ns = open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC)) < 0) e = errno;
    /* Our later children are ours again. This can't fail where unshare did not. */
    if (setns(self, CLONE_NEWPID) < 0 && !e) e = errno;
    close(self);
    if (ctl[1] >= 0) close(ctl[1]);
    int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;   /* our unreaped child: the right process */
    if (pid > 0 && pidfd < 0 && !e) e = errno;
    if (e) {
        if (pid > 0) {
            kill(pid, SIGKILL);
            while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR) {}
        }
        if (pidfd >= 0) close(pidfd);
        if (ctl[0] >= 0) close(ctl[0]);
        if (ns >= 0) close(ns);
        return e;
    }
    out->pid = pid;
    out->pidfd = pidfd;
    out->control = ctl[0];
    out->ns_fd = ns;
    return 0;
}
