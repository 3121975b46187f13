/* Parent-side wrappers; see rwk_sys.h. */
#define _GNU_SOURCE
#include "rwk_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <linux/seccomp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int rwk_memfd_create(const char *name, unsigned int flags) {
    return (int)syscall(SYS_memfd_create, name, flags);
}

int rwk_add_seals(int fd, int seals) { return fcntl(fd, F_ADD_SEALS, seals); }

static int notif_ioctl(int fd, unsigned long request, void *arg) {
    return ioctl(fd, request, arg) < 0 ? -errno : 0;
}

int rwk_notif_recv(int fd, void *req) { return notif_ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req); }

int rwk_notif_send(int fd, const void *resp) {
    return notif_ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, (void *)resp);
}

int rwk_notif_id_valid(int fd, uint64_t id) { return notif_ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id); }

int rwk_retire_fd(int fd) {
    int quiet = eventfd(0, EFD_CLOEXEC);
    if (quiet < 0) return -1;
    int rc = dup3(quiet, fd, O_CLOEXEC);
    int e = errno;
    close(quiet);
    errno = e;
    return rc < 0 ? -1 : 0;
}

int rwk_malloc_one_arena(void) { return mallopt(M_ARENA_MAX, 1); }
