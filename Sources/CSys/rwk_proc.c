#define _GNU_SOURCE
#include "rwk_proc.h"

#include <errno.h>
#include <linux/capability.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <termios.h>
#include <unistd.h>

#include <sys/resource.h>

/* Every command may hold secrets: no core dumps, and not ptrace-attachable or
 * /proc/PID/mem-readable by other processes of our uid. As early as a process
 * of ours can: a constructor, which glibc runs before the Swift runtime's and
 * long before anything is decrypted. Before it there is glibc's own start-up
 * (0.3 ms here; without end under a SIGSTOP pending across the exec), in which
 * a process of our uid that may ptrace us (no Yama ptrace_scope, no Landlock
 * domain) could open /proc/PID/mem and keep the fd: docs/ARCHITECTURE.md,
 * "Where secrets live". Only the soft core limit: the hard one stays, so a
 * profile's [limits] core can still raise it for the bot. */
__attribute__((constructor(101))) static void rwk_protect_process(void) {
    struct rlimit core;
    if (getrlimit(RLIMIT_CORE, &core) == 0) {
        core.rlim_cur = 0;
        (void)setrlimit(RLIMIT_CORE, &core);
    }
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int rwk_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
int rwk_set_dumpable(int on) { return prctl(PR_SET_DUMPABLE, on ? 1 : 0, 0, 0, 0); }

int rwk_no_new_privs(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }

int rwk_real_and_saved_gid(unsigned int *real, unsigned int *saved) {
    gid_t r, e, s;
    if (getresgid(&r, &e, &s) < 0) return -1;
    *real = r;
    *saved = s;
    return 0;
}

int rwk_capabilities(uint64_t *permitted, uint64_t *effective, uint64_t *bounding) {
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0) return -1;
    *permitted = (uint64_t)d[1].permitted << 32 | d[0].permitted;
    *effective = (uint64_t)d[1].effective << 32 | d[0].effective;
    *bounding = 0;
    for (int cap = 0; cap < 64; cap++) {
        int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (in < 0) break;
        if (in) *bounding |= 1ULL << cap;
    }
    return 0;
}
int rwk_pidfd_send_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }
int rwk_pidfd_open(int pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int rwk_has_children_besides(int pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n;
    do n = read(fd, buf, sizeof buf - 1); while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0) { errno = e; return -1; }
    if (n == (ssize_t)sizeof buf - 1) return 1;   /* that many children: surely another */
    buf[n] = 0;
    for (char *p = buf; *p;) {
        while (*p == ' ' || *p == '\n') p++;
        if (!*p) break;
        long child = strtol(p, &p, 10);
        if (child != pid) return 1;
    }
    return 0;
}

/* The first version of struct pidfd_info (include/uapi/linux/pidfd.h, 64
 * bytes): the kernel accepts it as is and fills what it knows. */
struct rwk_pidfd_info {
    uint64_t mask, cgroupid;
    uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid, spare0;
};
#define RWK_PIDFD_INFO_PID 1ULL
#define RWK_PIDFD_GET_INFO _IOWR(0xFF, 11, struct rwk_pidfd_info)

int rwk_pidfd_pid(int pidfd) {
    struct rwk_pidfd_info info;
    memset(&info, 0, sizeof info);
    info.mask = RWK_PIDFD_INFO_PID;
    if (ioctl(pidfd, RWK_PIDFD_GET_INFO, &info) < 0) return -1;
    if (!(info.mask & RWK_PIDFD_INFO_PID) || info.pid == 0) { errno = ESRCH; return -1; }
    return (int)info.pid;
}

int rwk_set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK));
}

int rwk_set_cloexec(int fd) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

int rwk_open_pty(int *master, int *slave) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return -1;
    char name[128];
    if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof name) != 0) {
        int e = errno; close(m); errno = e; return -1;
    }
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) { int e = errno; close(m); errno = e; return -1; }
    /* No output processing: the redactor must see exactly the bytes the bot
     * wrote. With the default ONLCR the line discipline turns "\n" into "\r\n",
     * so a secret containing a newline (a PEM key) no longer matches and is
     * relayed in the clear. The supervisor's own terminal still maps "\n" to
     * "\r\n" on the way out. */
    struct termios t;
    if (tcgetattr(s, &t) == 0) {
        t.c_oflag &= ~(tcflag_t)OPOST;
        if (tcsetattr(s, TCSANOW, &t) < 0) { int e = errno; close(m); close(s); errno = e; return -1; }
    }
    if (rwk_set_nonblocking(m, 1) < 0) { int e = errno; close(m); close(s); errno = e; return -1; }
    *master = m;
    *slave = s;
    return 0;
}

int rwk_copy_winsize(int from_fd, int to_fd) {
    struct winsize ws;
    if (ioctl(from_fd, TIOCGWINSZ, &ws) < 0) return -1;
    return ioctl(to_fd, TIOCSWINSZ, &ws);
}

static int epoll_set(int epfd, int op, int fd, uint32_t events, uint64_t tag) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = tag;
    return epoll_ctl(epfd, op, fd, &ev);
}

int rwk_epoll_add(int epfd, int fd, uint32_t events, uint64_t tag) { return epoll_set(epfd, EPOLL_CTL_ADD, fd, events, tag); }

int rwk_epoll_del(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

int rwk_epoll_mod(int epfd, int fd, uint32_t events, uint64_t tag) { return epoll_set(epfd, EPOLL_CTL_MOD, fd, events, tag); }

/* ---- the terminal */

static struct termios raw_saved, plain_saved;
static int raw_fd = -1, plain_fd = -1;

static void block_ttou(sigset_t *old) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTTOU);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

static void unblock_ttou(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

int rwk_tty_foreground(int fd) {
    pid_t fg = tcgetpgrp(fd);
    return fg > 0 && fg == getpgrp();
}

int rwk_tty_pgrp(int fd) { return (int)tcgetpgrp(fd); }

static void set_modes(int fd, const struct termios *t) {
    if (!rwk_tty_foreground(fd)) return;
    sigset_t old;
    block_ttou(&old);
    while (tcsetattr(fd, TCSADRAIN, t) < 0 && errno == EINTR) {}
    unblock_ttou(&old);
}

static void restore_at_exit(void) { rwk_tty_restore(); rwk_tty_restore_saved(); }

static void register_atexit(void) {
    static int done;
    if (!done) { done = 1; atexit(restore_at_exit); }
}

int rwk_tty_raw(int fd) {
    if (raw_fd >= 0) return 1;
    if (!rwk_tty_foreground(fd)) return 0;
    struct termios t;
    if (tcgetattr(fd, &raw_saved) < 0) return -1;
    register_atexit();
    t = raw_saved;
    cfmakeraw(&t);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    raw_fd = fd;
    set_modes(fd, &t);
    return 1;
}

void rwk_tty_restore(void) {
    if (raw_fd < 0) return;
    set_modes(raw_fd, &raw_saved);
    raw_fd = -1;
}

int rwk_tty_is_raw(void) { return raw_fd >= 0; }

int rwk_tty_save(int fd) {
    if (tcgetattr(fd, &plain_saved) < 0) return -1;
    register_atexit();
    plain_fd = fd;
    return 0;
}

void rwk_tty_restore_saved(void) {
    if (plain_fd >= 0) set_modes(plain_fd, &plain_saved);
}

int rwk_tty_copy_modes(int from_fd, int to_fd) {
    struct termios t;
    if (tcgetattr(from_fd, &t) < 0) return -1;
    return tcsetattr(to_fd, TCSANOW, &t);
}

int rwk_tty_give(int fd, int from, int to) {
    if (from != 0 && tcgetpgrp(fd) != from) return 0;
    sigset_t old;
    block_ttou(&old);
    int r = tcsetpgrp(fd, to);
    unblock_ttou(&old);
    return r;
}

int rwk_tty_susp_char(int fd) {
    struct termios t;
    if (tcgetattr(fd, &t) < 0 || !(t.c_lflag & ISIG) || t.c_cc[VSUSP] == _POSIX_VDISABLE) return -1;
    return t.c_cc[VSUSP];
}

void rwk_stop_self(int sig) {
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, sig);
    if (sig == SIGSTOP) { kill(getpid(), SIGSTOP); return; }
    struct sigaction dfl, prev;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, &prev);
    kill(getpid(), sig);                       /* pending: the caller blocks it */
    pthread_sigmask(SIG_UNBLOCK, &s, &old);    /* delivered here: the default action, a stop */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    sigaction(sig, &prev, NULL);
}

int rwk_open_output(int fd, int *mode) {
    struct stat st;
    *mode = RWK_OUT_BLOCKING;
    if (fstat(fd, &st) < 0) return fd;
    if (S_ISSOCK(st.st_mode)) { *mode = RWK_OUT_SOCKET; return fd; }
    if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) return fd;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int own = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (own < 0) return fd;   /* no /proc, EACCES on someone else's tty, ENXIO: blocking writes */
    *mode = RWK_OUT_OWN_FD;
    return own;
}

long rwk_write_output(int fd, int mode, const void *buf, unsigned long count) {
    if (mode == RWK_OUT_SOCKET) return (long)send(fd, buf, count, MSG_DONTWAIT | MSG_NOSIGNAL);
    return (long)write(fd, buf, count);
}

int rwk_poll_one(int fd, int events, int timeout_ms) {
    struct pollfd p = { .fd = fd, .events = (short)events, .revents = 0 };
    int r = poll(&p, 1, timeout_ms);
    return r <= 0 ? r : (p.revents ? p.revents : 1);
}

int rwk_epoll_wait(int epfd, uint64_t *tags, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[32];
    if (max > 32) max = 32;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) { tags[i] = evs[i].data.u64; events[i] = evs[i].events; }
    return n;
}

int rwk_sd_notify(const char *message) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) return 0;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof addr.sun_path) { errno = EINVAL; return -1; }
    memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@') addr.sun_path[0] = 0;  /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    ssize_t r = sendto(fd, message, strlen(message), MSG_NOSIGNAL, (struct sockaddr *)&addr,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    int e = errno;
    close(fd);
    errno = e;
    return r < 0 ? -1 : 1;
}

int rwk_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int rwk_signalfd(const sigset_t *mask) { return signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK); }

int rwk_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n == (ssize_t)sizeof info) return (int)info.ssi_signo;
    if (n < 0 && errno == EAGAIN) return 0;
    return n < 0 ? -1 : 0;
}

int rwk_timerfd(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK); }

int rwk_timerfd_arm(int fd, int64_t ms, int64_t interval_ms) {
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_sec = ms / 1000;
    its.it_value.tv_nsec = (ms % 1000) * 1000000;
    its.it_interval.tv_sec = interval_ms / 1000;
    its.it_interval.tv_nsec = (interval_ms % 1000) * 1000000;
    return timerfd_settime(fd, 0, &its, NULL);
}

int rwk_inotify_dir(const char *dir) {
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0) return -1;
    if (inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) { int e = errno; close(fd); errno = e; return -1; }
    return fd;
}

int rwk_inotify_add(int fd, const char *dir) {
    return inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0 ? -1 : 0;
}

int rwk_pipe(int *read_end, int *write_end) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return -1;
    *read_end = fds[0];
    *write_end = fds[1];
    return 0;
}

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

int rwk_replace_file(const char *tmp, const char *path) {
    if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
        (void)unlink(tmp);
        return 0;
    }
    if (errno != ENOENT && errno != EINVAL && errno != ENOSYS) return -1;
    return rename(tmp, path);
}

int rwk_pending_bytes(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) < 0 ? -1 : n;
}

__attribute__((noinline)) void rwk_scrub_stack(unsigned long bytes) {
    if (bytes > 65536) bytes = 65536;
    unsigned char buf[bytes];
    explicit_bzero(buf, bytes);
    __asm__ __volatile__("" : : "r"(buf) : "memory");
}
