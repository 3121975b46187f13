/* Parent-side wrappers; see rwk_sys.h. */
#define _GNU_SOURCE
#include "rwk_sys.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

int rwk_memfd_create(const char *name, unsigned int flags) {
    return (int)syscall(SYS_memfd_create, name, flags);
}

int rwk_add_seals(int fd, int seals) { return fcntl(fd, F_ADD_SEALS, seals); }

int rwk_get_seals(int fd) { return fcntl(fd, F_GET_SEALS); }

int rwk_get_fd_flags(int fd) { return fcntl(fd, F_GETFD); }
