// Swift cannot see libseccomp's function-like macros or call its variadic
// functions, so this header wraps what Launch needs.
#include <seccomp.h>
#include <errno.h>

static inline uint32_t rwk_scmp_act_errno(uint16_t err) { return SCMP_ACT_ERRNO(err); }
static inline uint32_t rwk_scmp_act_kill_process(void) { return SCMP_ACT_KILL_PROCESS; }
static inline uint32_t rwk_scmp_act_allow(void) { return SCMP_ACT_ALLOW; }
static inline uint32_t rwk_scmp_act_notify(void) { return SCMP_ACT_NOTIFY; }
static inline uint32_t rwk_scmp_act_log(void) { return SCMP_ACT_LOG; }

/// seccomp_rule_add without argument filters (seccomp_rule_add is variadic).
static inline int rwk_seccomp_rule_add0(scmp_filter_ctx ctx, uint32_t action, int syscall) {
    return seccomp_rule_add_array(ctx, action, syscall, 0, NULL);
}
