#ifndef RWK_CLAUNCH_H
#define RWK_CLAUNCH_H

/*
 * The only code that runs between fork and execve.
 *
 * The parent builds everything (argv, envp, fd map, rlimits, ids, BPF);
 * rwk_spawn clones (vfork-style on a stack of its own, or a real fork where a
 * stage needs one: see rwk_spawn in claunch.c), and the child runs a fixed checklist of async-signal-safe
 * steps, one function each, in the order of the stage numbers below. A failing
 * step writes {stage, errno, index} to a close-on-exec pipe and _exits with
 * 127 (ENOENT at execve), 126 (other execve errors) or 125 (anything else).
 * EOF on the pipe means execve succeeded.
 *
 * Needs Linux >= 5.11 (pidfd_open, seccomp user notification with CONTINUE,
 * close_range with CLOSE_RANGE_CLOEXEC).
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


/* The PATH a bare command name is looked up in when the bot's environment has
 * none (execvp's search, without malloc). The one definition: Swift reads it as
 * LaunchPlan.defaultPath. */
#define RWK_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* Stages, numbered in the order they run. Keep stage_names (claunch.c) and
 * Swift's SpawnStage in sync; SpawnStageTests checks both against this list. */
enum {
    RWK_STAGE_NONE = 0,
    /* parent side, before the child exists */
    RWK_STAGE_CONFIG = 1,
    RWK_STAGE_PIPE = 2,
    RWK_STAGE_FORK = 3,            /* the clone (vfork-style or fork) */
    RWK_STAGE_PID_NAMESPACE = 4,   /* or the clone into a new PID namespace (tree containment) */
    RWK_STAGE_TREE_INIT = 5,       /* that namespace's init forks the bot */
    /* the child checklist (rwk_child_main) */
    RWK_STAGE_SETSID = 6,
    RWK_STAGE_CTTY = 7,
    RWK_STAGE_SETPGID = 8,
    RWK_STAGE_SIGNALS = 9,
    RWK_STAGE_PDEATHSIG = 10,
    RWK_STAGE_FD_MAP = 11,
    RWK_STAGE_RLIMIT = 12,
    RWK_STAGE_BOUNDING_SET = 13,   /* capabilities out of the bounding set, ambient ones cleared */
    RWK_STAGE_SETGROUPS = 14,
    RWK_STAGE_SETGID = 15,
    RWK_STAGE_SETUID = 16,
    RWK_STAGE_DROP_CHECK = 17,
    RWK_STAGE_CAPABILITIES = 18,   /* effective, permitted, inheritable, ambient: the kept ones only */
    RWK_STAGE_CHDIR = 19,
    RWK_STAGE_CLOSE_FDS = 20,
    RWK_STAGE_NO_NEW_PRIVS = 21,
    RWK_STAGE_LANDLOCK = 22,
    RWK_STAGE_SECCOMP = 23,
    RWK_STAGE_SECCOMP_NOTIFY = 24,
    RWK_STAGE_SEND_LISTENER = 25,
    RWK_STAGE_EXECVE = 26,
    /* parent side, once the child has exec'd (or, with no_exec, waits in execve) */
    RWK_STAGE_PIDFD = 27,
    RWK_STAGE_RECV_LISTENER = 28,
    RWK_STAGE_COUNT = 29,
};

/* How the bot's process tree is contained (rwk_spawn_config.tree). */
enum {
    RWK_TREE_NONE = 0,        /* the bot is our child; its tree is ours to track */
    RWK_TREE_PIDNS = 1,       /* clone(CLONE_NEWPID): needs CAP_SYS_ADMIN (root) */
    RWK_TREE_USERNS = 2,      /* clone(CLONE_NEWUSER|CLONE_NEWPID), mapping our own uid/gid: unprivileged */
};

enum {
    RWK_SESSION_KEEP = 0,     /* stay in the parent's session and process group */
    RWK_SESSION_NEW = 1,      /* setsid(): new session and process group */
    RWK_SESSION_PGRP = 2,     /* setpgid(0, 0): new process group only */
    RWK_SESSION_FOREGROUND = 3, /* setpgid(0, 0), then tcsetpgrp(ctty_fd): the terminal's foreground job */
};

/* Most fd pairs one spawn accepts (the child keeps a fixed-size table on its stack). */
#define RWK_MAX_FD_PAIRS 250

/* dst in the child becomes a copy of src in the parent. Overlaps are fine. */
struct rwk_fd_pair {
    int src;
    int dst;
};

/* RLIM_INFINITY (all ones) means unlimited. */
struct rwk_rlimit {
    int resource;
    uint64_t soft;
    uint64_t hard;
};

struct rwk_spawn_config {
    const char *path;                 /* contains '/': used as is; else searched in envp's PATH */
    const char *const *argv;          /* NULL-terminated */
    const char *const *envp;          /* NULL-terminated; owned by the caller (guarded memory), never copied */
    const char *workdir;              /* NULL: keep the parent's */

    const struct rwk_fd_pair *fds;    /* applied with a two-phase dup, so src/dst may overlap */
    size_t nfds;
    int stdin_fd, stdout_fd, stderr_fd; /* -1: inherit the parent's 0, 1, 2 */

    const struct rwk_rlimit *rlimits;
    size_t nrlimits;

    int set_ids;                      /* nonzero: setgroups, setgid, setuid to the values below */
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t ngroups;

    /* Capabilities(7) the bot keeps, bit N for capability N (CAP_NET_BIND_SERVICE
     * is 10); 0, the default, keeps none. Every other one leaves the effective,
     * permitted, inheritable and ambient sets after the ids change, and, without
     * no_new_privs, the bounding set before it (claunch.c, step_bounding_set). */
    uint64_t keep_caps;

    int no_new_privs;
    int landlock_fd;                  /* -1: none; else a Landlock ruleset fd: landlock_restrict_self after no_new_privs */
    const void *seccomp_filter;       /* struct sock_filter[] exported by libseccomp; NULL: none */
    size_t seccomp_len;               /* number of instructions */

    int no_exec;                      /* install exec_notify_filter with a listener, hand it to the parent */
    const void *exec_notify_filter;   /* struct sock_filter[]: execve/execveat -> SECCOMP_RET_USER_NOTIF */
    size_t exec_notify_len;

    int session;                      /* RWK_SESSION_* */
    int ctty_fd;                      /* -1: none; else (RWK_SESSION_NEW) TIOCSCTTY on this parent fd, or
                                       * (RWK_SESSION_FOREGROUND) the terminal whose foreground the bot takes */
    int pdeath_signal;                /* 0: none. Fires when the parent THREAD exits (prctl semantics). */

    /* RWK_TREE_*. With a namespace, our child is the PID 1 of a new PID
     * namespace, a small init (rwk_tree.c) that forks the bot and runs the
     * checklist there. When the init dies, the kernel kills every process of
     * the namespace; the init dies with us (parent-death SIGKILL, and the
     * hang-up of its control socket). */
    int tree;

    /* -1: none. Else an fd of the PID namespace of an init that outlives the
     * bot's restarts (rwk_tree_start's ns_fd; needs cfg->tree RWK_TREE_NONE and
     * no init fds): the bot is started inside it, as our own child (setns(2)
     * CLONE_NEWPID for this one clone, then back to our own). */
    int ns_fd;

    /* reload = "signal" (needs cfg->tree): the init, not the bot, holds the
     * key files: init_fds[i] (a sealed memfd of ours) becomes its fd 3+i, and
     * RWK_TREE_MSG_KEY swaps in a new one. The bot gets, at key_dir_target, an
     * O_PATH handle on the init's /proc/PID/fd, so the path
     * /proc/self/fd/<key_dir_target>/<3+i> always opens the current value. For
     * that the init is dumpable (it holds no secret of ours: guarded memory is
     * wiped on fork, the environment unmapped), runs as the bot's user, and
     * enters the bot's Landlock domain itself, so the bot inherits it. */
    const int *init_fds;
    size_t ninit_fds;
    int key_dir_target;
    const void *init_filter;          /* struct sock_filter[]: the init's allowlist, loaded before it turns dumpable */
    size_t init_filter_len;
};

/* Messages on the control socket (SOCK_SEQPACKET) between us and the init. */
struct rwk_tree_msg {
    int32_t type;    /* RWK_TREE_MSG_* */
    int32_t value;
};
enum {
    RWK_TREE_MSG_BOT = 'P',     /* init -> us, once: the bot forked; value its pid inside, SCM_RIGHTS its pidfd */
    RWK_TREE_MSG_EXIT = 'X',    /* init -> us, once: the bot was reaped; value its raw wait status */
    RWK_TREE_MSG_STOPPED = 'T', /* init -> us: the bot stopped; value the stop signal */
    RWK_TREE_MSG_CONTINUED = 'C', /* init -> us: the bot was continued */
    RWK_TREE_MSG_SIGNAL = 'S',  /* us -> init: kill(-1, value): every process of the namespace but the init */
    RWK_TREE_MSG_KEY = 'K',     /* us -> init: SCM_RIGHTS a sealed memfd, the new value of init fd 3+value */
    RWK_TREE_MSG_RELOAD = 'R',  /* us -> init: the keys are in place; send signal `value` to the bot */
    /* With an init that outlives the bot (rwk_tree_start): */
    RWK_TREE_MSG_WATCH = 'W',   /* us -> init: SCM_RIGHTS the new bot's pidfd, value its generation; report once it has exited */
    RWK_TREE_MSG_EMPTY = 'E',   /* init -> us: the watched bot (value: its generation) exited and none of the init's children is left */
    RWK_TREE_MSG_BUSY = 'B',    /* init -> us: the watched bot exited and left children of the init behind (EMPTY follows once they are gone) */
};

/* An init that outlives the bot's restarts (rwk_tree_start). */
struct rwk_tree_start_result {
    pid_t pid;       /* in our pid namespace */
    int pidfd;       /* ours to close */
    int control;     /* SOCK_SEQPACKET, ours to close: SIGNAL and WATCH go in, EMPTY and BUSY come out */
    int ns_fd;       /* its PID namespace (nsfs), ours to close: cfg->ns_fd */
};

/*
 * Starts the PID 1 of a new PID namespace (RWK_TREE_PIDNS: root) that
 * outlives the bots started in it with cfg->ns_fd: a vfork-style child that
 * execs /proc/self/exe as "rwk-init --keeper" (no environment, the control
 * socket its only fd), which runs the init before anything else of the image.
 * It reaps what the bots leave behind, signals the namespace on request
 * (RWK_TREE_MSG_SIGNAL), reports when a watched bot's namespace is empty, and
 * dies with us (parent-death SIGKILL, and EOF on the control socket); the
 * kernel then kills the whole namespace. Needs /proc (our own executable, and
 * before Linux 6.11 our pid_for_children entry). 0, or the errno of the step
 * that failed (EPERM: no CAP_SYS_ADMIN, or a seccomp filter; ENOENT: no /proc).
 */
int rwk_tree_start(struct rwk_tree_start_result *out);

struct rwk_spawn_result {
    pid_t pid;           /* -1 when no child was created */
    int pidfd;           /* owned by the caller after a successful spawn */
    int report_fd;       /* >= 0 while the exec outcome is still pending: see rwk_spawn_report */
    int listener_fd;     /* seccomp notify listener (no_exec), owned by the caller; else -1 */
    int stage;           /* RWK_STAGE_NONE on success */
    int error;           /* errno of the failing stage */
    int index;           /* which fd pair / rlimit failed, else 0 */
    int wait_status;     /* raw waitpid status of a child that failed (it has been reaped) */
    /* With cfg->tree: pid/pidfd are the init's (our child); the bot is not our
     * child, so its status arrives as RWK_TREE_MSG_EXIT on control_fd. */
    int bot_pidfd;       /* the bot's pidfd (owned by the caller), or -1 without a namespace */
    int control_fd;      /* our end of the control socket (owned by the caller), or -1 */
};

/*
 * Forks the child and, unless cfg->no_exec, waits for its report.
 * Returns 0 when the spawn succeeded or is pending, -1 when it failed; in both
 * cases out->stage/error/index say what failed. A failed child has been reaped
 * and its fds closed.
 *
 * With cfg->no_exec the child blocks in its own execve until the caller answers
 * the notification on out->listener_fd (CONTINUE), so rwk_spawn returns early
 * with out->report_fd >= 0: poll both fds and call rwk_spawn_report.
 */
int rwk_spawn(const struct rwk_spawn_config *cfg, struct rwk_spawn_result *out);

/*
 * Exec in place: runs the same checklist in this process and execve()s the bot
 * over it, with no supervisor left. Needs cfg->tree, no_exec and init fds off
 * (they need a parent that stays). Returns -1 only when a stage before the
 * seccomp filter failed (out->stage/error/index say which; the process may be
 * half-changed and should exit); a later failure prints one line to fd 2 and
 * exits with 126/127/125 as a spawned child would.
 */
int rwk_exec_in_place(const struct rwk_spawn_config *cfg, struct rwk_spawn_result *out);

/*
 * Reads the child's report. timeout_ms as for poll(2) (-1 blocks).
 * Returns 1 while pending, 0 when exec succeeded, -1 when a stage failed (the
 * child is then reaped and pidfd/listener_fd closed). report_fd is closed once
 * the outcome is known.
 */
int rwk_spawn_report(struct rwk_spawn_result *out, int timeout_ms);

/* "setsid", "chdir", "setuid", "seccomp", "execve", ...; "unknown" out of range. */
const char *rwk_stage_name(int stage);

/*
 * Whether a spawn with `tree` (RWK_TREE_*) can work here: clones a throwaway
 * child into the namespaces (writing its id maps for RWK_TREE_USERNS), which
 * exits at once. 0, or the errno that stopped it (EPERM: no privilege or a
 * seccomp filter; ENOSPC: user.max_user_namespaces or pid_max reached; EINVAL).
 */
int rwk_tree_probe(int tree);

/* Sends `msg` on the control socket: 0, or -1 and errno. */
int rwk_tree_send(int control_fd, int32_t type, int32_t value);
/* The same with an fd riding along (SCM_RIGHTS). */
int rwk_tree_send_fd(int control_fd, int32_t type, int32_t value, int fd);
/* Receives one message without blocking: 1 got one, 0 none pending, -1 EOF or error. */
int rwk_tree_recv(int control_fd, struct rwk_tree_msg *msg);

#endif
