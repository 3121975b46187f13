#ifndef RWK_PROC_H
#define RWK_PROC_H

/*
 * Parent-side process and I/O helpers for the supervisor: prctl, ioctl, fcntl
 * and epoll are variadic or use packed structs that Swift can't call directly.
 * Nothing here runs in the fork child.
 */

#include <stdint.h>

/* prctl(PR_SET_CHILD_SUBREAPER, 1) */
int rwk_set_child_subreaper(void);
/* prctl(PR_SET_DUMPABLE, on) */
int rwk_set_dumpable(int on);
/* This thread's capabilities(7), bit N for capability N: the permitted and
 * effective sets (capget) and the bounding set (PR_CAPBSET_READ). 0, or -1 and errno. */
int rwk_capabilities(uint64_t *permitted, uint64_t *effective, uint64_t *bounding);
/* Whether this thread has no_new_privs (PR_GET_NO_NEW_PRIVS): 1, 0, or -1 and errno. */
int rwk_no_new_privs(void);
/* This process's real and saved gids (getresgid(2), which needs _GNU_SOURCE); 0, or -1 and errno. */
int rwk_real_and_saved_gid(unsigned int *real, unsigned int *saved);
/* pidfd_send_signal(2) */
int rwk_pidfd_send_signal(int pidfd, int sig);
/* pidfd_open(2) */
int rwk_pidfd_open(int pid);
/* The pid, in our PID namespace, of the process `pidfd` refers to: ioctl
 * PIDFD_GET_INFO (Linux 6.13). -1 and errno on error: ENOTTY or EINVAL on an
 * older kernel, ESRCH when it is gone or not visible from here. */
int rwk_pidfd_pid(int pidfd);
/* Whether this process has a child other than `pid`, from
 * /proc/self/task/<main thread>/children: 1 yes, 0 no, -1 and errno when the
 * file can't be read. */
int rwk_has_children_besides(int pid);
/* fcntl O_NONBLOCK on/off */
int rwk_set_nonblocking(int fd, int on);
/* fcntl FD_CLOEXEC on */
int rwk_set_cloexec(int fd);

/* A new pty pair; both fds close-on-exec, master non-blocking, output processing (OPOST) off. */
int rwk_open_pty(int *master, int *slave);
/* Copies the window size of from_fd's terminal to to_fd's (TIOCGWINSZ/TIOCSWINSZ). */
int rwk_copy_winsize(int from_fd, int to_fd);

/* The terminal (Terminal.swift). Each call that sets modes or the foreground
 * group blocks SIGTTOU around it, and acts only while our process group is the
 * terminal's foreground: a background job never stops or touches it. */
/* Whether fd is a terminal whose foreground process group is ours: 1, else 0. */
int rwk_tty_foreground(int fd);
/* The foreground process group of fd's terminal, or -1. */
int rwk_tty_pgrp(int fd);
/* Saves fd's modes and sets it raw (cfmakeraw), only in the foreground: 1 done, 0 not, -1 error.
 * The saved modes are restored by rwk_tty_restore, and at exit(3) (atexit). */
int rwk_tty_raw(int fd);
/* Puts back the modes rwk_tty_raw saved (if it did, and we are in the foreground). */
void rwk_tty_restore(void);
/* Whether rwk_tty_raw has the terminal raw now (our own lines then need "\r\n"). */
int rwk_tty_is_raw(void);
/* Saves fd's modes for rwk_tty_restore_saved (any process group may read them). */
int rwk_tty_save(int fd);
/* Restores the modes rwk_tty_save saved, in the foreground only. */
void rwk_tty_restore_saved(void);
/* Copies from_fd's terminal modes to to_fd's (a pty the bot will use). */
int rwk_tty_copy_modes(int from_fd, int to_fd);
/* tcsetpgrp with SIGTTOU blocked; only when the foreground is `from` (or from is 0: always). */
int rwk_tty_give(int fd, int from, int to);
/* The pty's suspend character (VSUSP) when its line discipline would act on it (ISIG on), else -1. */
int rwk_tty_susp_char(int fd);
/* Stops this process with `sig` (its default action), though the caller keeps it
 * blocked for its signalfd; returns once continued (or at once when the kernel
 * discards the stop: an orphaned process group). */
void rwk_stop_self(int sig);

/* epoll with a 64-bit tag per fd. */
int rwk_epoll_add(int epfd, int fd, uint32_t events, uint64_t tag);
int rwk_epoll_del(int epfd, int fd);
/* EPOLL_CTL_MOD: new interest (0: only EPOLLHUP/EPOLLERR) for an fd already added. */
int rwk_epoll_mod(int epfd, int fd, uint32_t events, uint64_t tag);

/* How the output relay writes one of our fds without blocking (rwk_open_output). */
enum { RWK_OUT_OWN_FD = 0, RWK_OUT_SOCKET = 1, RWK_OUT_BLOCKING = 2 };
/* For fd 1 or 2: a FIFO/pipe or character device (tty) is reopened through
 * /proc/self/fd/N as an open file description of our own, O_WRONLY|O_NONBLOCK|
 * O_CLOEXEC|O_NOCTTY (never O_NONBLOCK on the inherited description, which the
 * shell shares); returns that fd and *mode = RWK_OUT_OWN_FD. A socket: returns
 * fd itself, *mode = RWK_OUT_SOCKET (write with rwk_write_output, MSG_DONTWAIT).
 * Anything else (regular file: a new description would lose O_APPEND and the
 * shared offset; a reopen that fails): fd itself, *mode = RWK_OUT_BLOCKING. */
int rwk_open_output(int fd, int *mode);
/* write(2), or for RWK_OUT_SOCKET send(2) with MSG_DONTWAIT|MSG_NOSIGNAL. */
long rwk_write_output(int fd, int mode, const void *buf, unsigned long count);
/* poll(2) on one fd: its revents, 0 on timeout, -1 and errno on error (EINTR retried by the caller). */
int rwk_poll_one(int fd, int events, int timeout_ms);
/* Puts `tmp` in place of `path` atomically, for a file rewritten often (the
 * supervisor's run file): renameat2(RENAME_EXCHANGE), then unlinks the old
 * file, now named `tmp`. (A rename over an existing file makes ext4 write the
 * new file's blocks at once, auto_da_alloc, and the old file's eviction then
 * frees and discards its blocks: block I/O at every rewrite.) Falls back to
 * rename(2) when `path` doesn't exist or the filesystem can't exchange.
 * 0, or -1 and errno. */
int rwk_replace_file(const char *tmp, const char *path);
/* How many bytes a pipe or pty master holds unread (ioctl FIONREAD); -1 and errno on error. */
int rwk_pending_bytes(int fd);
/* Waits; fills tags[i] and events[i]; returns the count, or -1 and errno. */
int rwk_epoll_wait(int epfd, uint64_t *tags, uint32_t *events, int max, int timeout_ms);

/* epoll_create1(EPOLL_CLOEXEC) */
int rwk_epoll_create(void);
/* A close-on-exec, non-blocking signalfd for `mask` (which the caller has blocked). */
#include <signal.h>
int rwk_signalfd(const sigset_t *mask);
/* Reads one signal from a signalfd: its number, 0 when none is pending, -1 on error. */
int rwk_signalfd_read(int fd);
/* A close-on-exec, non-blocking CLOCK_MONOTONIC timerfd. */
int rwk_timerfd(void);
/* Arms a timerfd to fire after ms (0 disarms), then every interval_ms (0: once). */
int rwk_timerfd_arm(int fd, int64_t ms, int64_t interval_ms);
/* A close-on-exec, non-blocking inotify fd watching `dir` for IN_CLOSE_WRITE|IN_MOVED_TO. */
int rwk_inotify_dir(const char *dir);
/* Adds a second directory to an inotify fd from rwk_inotify_dir (same events). -1 + errno on failure. */
int rwk_inotify_add(int fd, const char *dir);
/* pipe2(O_CLOEXEC) */
int rwk_pipe(int *read_end, int *write_end);

/* Zeroes `bytes` of stack below the caller's frame: spilled registers (the
 * dynamic linker's lazy-binding trampoline saves vector registers there) can
 * hold bytes of a secret that was just compared. */
void rwk_scrub_stack(unsigned long bytes);

/* Sends one datagram to $NOTIFY_SOCKET (systemd); 0 when unset, 1 sent, -1 error. */
int rwk_sd_notify(const char *message);

#endif
