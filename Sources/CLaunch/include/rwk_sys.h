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
/* fcntl(fd, F_GET_SEALS) */
int rwk_get_seals(int fd);
/* fcntl(fd, F_GETFD): -1 with EBADF when fd is not open */
int rwk_get_fd_flags(int fd);

#endif
