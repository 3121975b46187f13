#ifndef RWK_SYS_H
#define RWK_SYS_H

/*
 * Parent-side syscall wrappers for Launch: Swift cannot see these macros or
 * call the variadic fcntl. Nothing here runs in the fork child.
 */

#include <stdint.h>

#define RWK_MFD_CLOEXEC 0x0001U
#define RWK_MFD_ALLOW_SEALING 0x0002U
#define RWK_MFD_NOEXEC_SEAL 0x0008U /* Linux 6.3; EINVAL before */

#define RWK_F_SEAL_SEAL 0x0001
#define RWK_F_SEAL_SHRINK 0x0002
#define RWK_F_SEAL_GROW 0x0004
#define RWK_F_SEAL_WRITE 0x0008

/* memfd_create(2); -1 and errno on failure. */
int rwk_memfd_create(const char *name, unsigned int flags);
/* fcntl(fd, F_ADD_SEALS, seals) */
int rwk_add_seals(int fd, int seals);

/* The seccomp user-notification ioctls on a listener fd, raw: 0 or -errno.
 * (libseccomp 2.5's seccomp_notify_* fold every errno into -ECANCELED, which
 * hides ENOENT, "that process is gone", and EINTR.) `req` is a zeroed struct
 * seccomp_notif of the kernel's size, `resp` a struct seccomp_notif_resp. */
int rwk_notif_recv(int fd, void *req);
int rwk_notif_send(int fd, const void *resp);
int rwk_notif_id_valid(int fd, uint64_t id);

/* Replaces `fd` in place (same number, close-on-exec) with a descriptor that
 * never becomes ready, closing what was there: epoll sets drop a registration
 * when its file's last fd closes. 0, or -1 and errno. */
int rwk_retire_fd(int fd);

/* mallopt(M_ARENA_MAX, 1) (mallopt(3)): threads allocate from the main arena
 * instead of glibc mapping a 64 MiB arena for each. 1 on success. */
int rwk_malloc_one_arena(void);

#endif
