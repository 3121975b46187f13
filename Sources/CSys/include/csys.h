#ifndef RWK_CSYS_H
#define RWK_CSYS_H

/*
 * Parent-side system helpers: the supervisor's epoll loop, signalfd, timerfds,
 * pty and terminal modes, sd_notify (rwk_proc.h); memfds, seals and the seccomp
 * notification ioctls (rwk_sys.h); building Landlock rulesets (rwk_landlock.h).
 * Swift can't see the macros or call the variadics these wrap. Nothing here
 * runs between fork and execve: that is CLaunch.
 */

#include "rwk_proc.h"
#include "rwk_sys.h"
#include "rwk_landlock.h"

#endif
