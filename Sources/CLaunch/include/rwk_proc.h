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
/* pidfd_send_signal(2) */
int rwk_pidfd_send_signal(int pidfd, int sig);
/* pidfd_open(2) */
int rwk_pidfd_open(int pid);
/* fcntl O_NONBLOCK on/off */
int rwk_set_nonblocking(int fd, int on);
/* fcntl FD_CLOEXEC on */
int rwk_set_cloexec(int fd);

/* A new pty pair; both fds close-on-exec, master non-blocking, output processing (OPOST) off. */
int rwk_open_pty(int *master, int *slave);
/* Copies the window size of from_fd's terminal to to_fd's (TIOCGWINSZ/TIOCSWINSZ). */
int rwk_copy_winsize(int from_fd, int to_fd);

/* epoll with a 64-bit tag per fd. */
int rwk_epoll_add(int epfd, int fd, uint32_t events, uint64_t tag);
int rwk_epoll_del(int epfd, int fd);
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
/* pipe2(O_CLOEXEC) */
int rwk_pipe(int *read_end, int *write_end);

/* Zeroes `bytes` of stack below the caller's frame: spilled registers (the
 * dynamic linker's lazy-binding trampoline saves vector registers there) can
 * hold bytes of a secret that was just compared. */
void rwk_scrub_stack(unsigned long bytes);

/* Sends one datagram to $NOTIFY_SOCKET (systemd); 0 when unset, 1 sent, -1 error. */
int rwk_sd_notify(const char *message);

#endif
