#ifndef RWK_CHILD_H
#define RWK_CHILD_H

/* Shared between claunch.c (the checklist) and rwk_tree.c (the namespace's
 * init, which runs the checklist in the bot it forks). Not part of the module. */

#include "claunch.h"

#include <setjmp.h>

/* The child's view: the config plus the fds it owns. */
struct child {
    const struct rwk_spawn_config *cfg;
    int report_fd;      /* write end, close-on-exec */
    int sock_fd;        /* socketpair end for the no_exec listener, or -1 */
    int landlock_fd;    /* the ruleset, moved out of the fd map's way; or -1 */
    int key_dir_fd;     /* reload = "signal": O_PATH on the init's /proc/PID/fd, for cfg->key_dir_target; or -1 */
    pid_t parent;       /* the pid our parent has as we see it (1 under the tree's init) */
    uid_t outer_uid;    /* the supervisor's euid and egid: what a new user namespace maps */
    gid_t outer_gid;
    /* rwk_exec_in_place: a stage that fails before the seccomp filter is in
     * force jumps back here instead of exiting (see rwk_child_fail). */
    jmp_buf *in_place;
    int failed_stage, failed_error, failed_index;
    int kept[RWK_MAX_FD_PAIRS + 4]; /* every dst the child keeps, sorted by step_close_fds */
    int nkept;
};

/* Reports {stage, error, index} on the report pipe and _exits (127, 126 or 125). */
__attribute__((noreturn)) void rwk_child_fail(struct child *c, int stage, int error, int index);

/* The checklist, then execve; never returns. */
__attribute__((noreturn)) void rwk_child_main(struct child *c);

/* The namespace's PID 1: forks the bot (which runs rwk_child_main), hands its
 * pidfd to the supervisor on `control`, reaps, reports the bot's status,
 * signals the namespace on request, and dies with the supervisor. */
__attribute__((noreturn)) void rwk_tree_init(struct child *c, int control);

/* clone(2) without a new stack, as fork but with namespace flags. No glibc
 * fork handlers run: the child only makes raw syscalls. */
pid_t rwk_raw_clone(unsigned long flags);

/* Every signal's disposition to SIG_DFL (but SIGKILL's and SIGSTOP's), glibc's
 * own signals included, by raw rt_sigaction: what a clone child does before an
 * exec that must not inherit an ignored signal. The mask is left as it is. */
void rwk_default_dispositions(void);

/* The top of the calling thread's stack for vfork-style clone children
 * (CLONE_VM | CLONE_VFORK), mapped once above a guard page and reused by each
 * (claunch.c); NULL and errno when it can't be mapped. */
char *rwk_clone_stack(void);

/* clone(CLONE_VM | CLONE_VFORK) on a stack of its own (claunch.c): the child
 * closes close_a and close_b (each -1: none), then runs rwk_child_main on a copy
 * of *c; we resume once it has exec'd or exited. The pid, or -1 and errno. */
pid_t rwk_vfork_child(const struct child *c, int close_a, int close_b);

/* Receives one control message and the fd that may ride along (else *fd = -1),
 * blocking: 1 got one, 0 EOF, -1 error (errno). */
int rwk_tree_recv_fd(int control, struct rwk_tree_msg *msg, int *fd);

/* What every init does first: the parent-death signal (SIGKILL), the name
 * "rwk-init", _exit(125) when the supervisor is gone already (its end of
 * `control` hung up), and a signalfd for SIGCHLD, every signal staying
 * blocked. The signalfd, or -1 and errno. */
int rwk_init_begin(int control);

/* One control message and the fd that may ride along (else *fd = -1); `flags`
 * 0 or MSG_DONTWAIT. 1 got one, 0 EOF (or nothing pending with MSG_DONTWAIT,
 * errno EAGAIN), -1 error. */
int rwk_tree_recv_msg(int control, struct rwk_tree_msg *msg, int *fd, int flags);

/* Unmaps the pages of the bot's environment block (one guarded buffer, so its
 * pages hold nothing else) from an init's copy of the supervisor's memory. */
void rwk_drop_environment(const char *const *envp);

/* Renumbers fds[] to 0, 1, 2, … (close-on-exec) and closes every other fd; -1
 * when that fails. A -1 entry stays -1. */
int rwk_keep_only(int *fds, int n);

/* landlock_restrict_self(ruleset_fd, 0) for the calling thread, raw: 0 or -errno. */
int rwk_child_landlock_restrict_self(int ruleset_fd);

#endif
