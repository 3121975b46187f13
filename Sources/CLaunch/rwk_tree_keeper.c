/*
 * The PID 1 of the bot's PID namespace in its long-lived form: the supervisor
 * makes the namespace once (rwk_tree_start) and starts every bot into it
 * (cfg->ns_fd in claunch.c), so a restart makes no namespace and starts no
 * init. The per-bot form, and why an init at all: rwk_tree.c.
 *
 * The init is a fresh image of our own executable, not a copy of the
 * supervisor: rwk_tree_start clones a vfork-style child into the new
 * namespace, which execs /proc/self/exe as "rwk-init --keeper" with no
 * environment and the control socket as its only fd; in that image the first
 * constructor (rwk_keeper_entry, before the Swift runtime's) runs keeper_main,
 * which never returns. So the init holds nothing of the supervisor's memory (a
 * fork had a copy-on-write view of its heap, stack and environment), no page
 * tables are copied for it, and the supervisor's pages stay its own (no
 * copy-on-write fault on each one it writes after the fork).
 */
#define _GNU_SOURCE
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The exec'd init's argv: how rwk_keeper_entry knows it (with PID 1 and the
 * socket on fd 0), and how ps shows it. */
#define KEEPER_ARGV0 "rwk-init"
#define KEEPER_ARGV1 "--keeper"

/* pidfd ioctl (Linux 6.11, include/uapi/linux/pidfd.h): an nsfs fd for the
 * task's pid_for_children namespace. */
#ifndef PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE
#define PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE _IO(0xFF, 6)
#endif

/* The bot is not our child (the supervisor started it into our namespace with
 * setns, so it is the supervisor's): what we watch is its pidfd. Once it has
 * exited (its children are ours by then: the kernel re-parents them before
 * the pidfd turns readable), the supervisor learns whether the namespace is
 * empty now (EMPTY), or not yet (BUSY, then EMPTY when the last one is reaped). */
__attribute__((noreturn)) static void keeper_main(int control) {
    int sfd = rwk_init_begin(control);
    if (sfd < 0) _exit(125);
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

/* What the exec'd image checks before it takes itself for the init: argv as
 * keeper_exec gives it, PID 1 (the first process of a new PID namespace), and
 * the supervisor's SOCK_SEQPACKET end on fd 0. Anything else is a normal start. */
__attribute__((constructor(101))) static void rwk_keeper_entry(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc != 2 || strcmp(argv[0], KEEPER_ARGV0) != 0 || strcmp(argv[1], KEEPER_ARGV1) != 0 || getpid() != 1)
        return;
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET) return;
    /* Not dumpable since the exec (keeper_exec's real gid), and not from here
     * on either; then the real gid is the effective one again. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) _exit(125);
    gid_t egid = getegid();
    if (syscall(SYS_setresgid, egid, egid, egid) < 0) _exit(125);
    /* The exec reset what the supervisor caught, not what it ignores (SIGPIPE,
     * and what its parent ignored: SIGCHLD ignored would have the kernel reap
     * for us). Here, not before the exec, where the supervisor waits. Every
     * signal stays blocked: SIGCHLD is read from a signalfd. */
    rwk_default_dispositions();
    keeper_main(0);
}

/* The clone child: it shares our memory while we are suspended (CLONE_VFORK),
 * so it only makes raw or async-signal-safe calls, and reports a failed exec's
 * errno through `exec_errno`. */
struct keeper_exec {
    int control;      /* the init's end of the socket */
    int exec_errno;   /* set by the child when the exec fails */
};

static int keeper_exec(void *arg) {
    struct keeper_exec *k = arg;
    /* An exec makes a process dumpable (ptrace-attachable, /proc/PID/mem
     * readable by its uid) unless its real and effective ids differ: then the
     * kernel sets fs.suid_dumpable's policy (0 or 2: not for our uid) and a
     * secure exec (AT_SECURE, the parent-death signal cleared: rwk_init_begin
     * sets it again). So the real gid differs from the effective one across the
     * exec (a gid check alone keeps a process of our uid without
     * CAP_SYS_PTRACE out meanwhile, under any suid_dumpable), and
     * rwk_keeper_entry makes them one again. An fd of /proc/PID/mem opened
     * while the image was dumpable would outlive the prctl that ends it. Raw
     * syscalls: glibc's setresgid would signal the threads of the suspended
     * supervisor, whose memory this is. */
    gid_t egid = getegid(), other = egid == 65534 ? 65533 : 65534;
    if (syscall(SYS_setresgid, other, -1, -1) < 0) goto fail;
    /* The socket becomes fd 0 (dup2 clears its close-on-exec), and nothing else
     * of ours stays open: not our stdio, not an fd we inherited. Fds 1 and 2
     * are copies of it (keeper_main closes them): for a secure exec glibc opens
     * /dev/null in place of a closed 0, 1 or 2, and aborts where there is none
     * (an empty /dev). */
    if (k->control == 0 ? fcntl(0, F_SETFD, 0) < 0 : dup2(k->control, 0) < 0) goto fail;
    if (dup2(0, 1) < 0 || dup2(0, 2) < 0) goto fail;
    if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) goto fail;
    char *const argv[] = { KEEPER_ARGV0, KEEPER_ARGV1, NULL };
    char *const envp[] = { NULL };
    execve("/proc/self/exe", argv, envp);
fail:
    k->exec_errno = errno ? errno : ENOEXEC;
    _exit(127);
}

int rwk_tree_start(struct rwk_tree_start_result *out) {
    out->pid = -1;
    out->pidfd = out->control = out->ns_fd = -1;
    /* The namespace is made by unshare, not by the clone: then its fd comes
     * from ourselves (our pid_for_children). The init's would need ptrace
     * access to the init (not dumpable), which CAP_SYS_ADMIN alone does not
     * give (a service's CapabilityBoundingSet= may leave out CAP_SYS_PTRACE). */
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
    char *stack = e ? NULL : rwk_clone_stack();
    if (!e && !stack) e = errno;
    pid_t pid = -1;
    if (!e) {
        /* Every signal blocked across the clone: the init keeps them blocked
         * (the mask survives the exec). The child is the first process in the
         * new namespace, its PID 1; we resume once it has exec'd, or failed to. */
        struct keeper_exec k = { .control = ctl[1], .exec_errno = 0 };
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pid = clone(keeper_exec, stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &k);
        if (pid < 0) e = errno ? errno : EINVAL;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (pid > 0 && k.exec_errno) {   /* no /proc, or the image is gone: it has exited */
            e = k.exec_errno;
            while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR) {}
            pid = -1;
        }
    }
    /* The namespace, named once its init exists: by our own pidfd (Linux
     * 6.11), else by our /proc entry (until the init exists the link is empty). */
    if (!e && (ns = ioctl(self, PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, 0)) < 0
        && (ns = open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC)) < 0) e = errno;
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
