// Swift cannot see libseccomp's function-like macros or call its variadic
// functions, so this header wraps what Launch needs.
#include <stddef.h>
#include <seccomp.h>
#include <errno.h>

static inline uint32_t rwk_scmp_act_errno(uint16_t err) { return SCMP_ACT_ERRNO(err); }
static inline uint32_t rwk_scmp_act_kill_process(void) { return SCMP_ACT_KILL_PROCESS; }
static inline uint32_t rwk_scmp_act_allow(void) { return SCMP_ACT_ALLOW; }
static inline uint32_t rwk_scmp_act_notify(void) { return SCMP_ACT_NOTIFY; }

/// seccomp_rule_add without argument filters (seccomp_rule_add is variadic).
static inline int rwk_seccomp_rule_add0(scmp_filter_ctx ctx, uint32_t action, int syscall) {
    return seccomp_rule_add_array(ctx, action, syscall, 0, NULL);
}

#include <linux/seccomp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/// SECCOMP_USER_NOTIF_FLAG_CONTINUE: let the notified syscall run as is.
static inline uint32_t rwk_notif_flag_continue(void) { return SECCOMP_USER_NOTIF_FLAG_CONTINUE; }

/// The kernel's size of struct seccomp_notif (what seccomp_notify_alloc
/// allocated), at least the header's; 0 when the kernel does not say.
static inline size_t rwk_notif_size(void) {
    struct seccomp_notif_sizes sizes;
    memset(&sizes, 0, sizeof sizes);
    if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) return 0;
    return sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif
                                                              : sizeof(struct seccomp_notif);
}
