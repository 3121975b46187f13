#!/usr/bin/env python3
"""Runs a command the way it would run on a kernel without Landlock.

usage: no_landlock.py [--no-pid-namespace | --only-pid-namespace] COMMAND [ARGS...]

Installs a seccomp filter (inherited across execve by every descendant) that
makes landlock_create_ruleset(2) fail with ENOSYS, exactly what a kernel built
without CONFIG_SECURITY_LANDLOCK answers, then execs COMMAND. No test hook in
run-with-keys is involved: it sees a real kernel refusal.

--no-pid-namespace instead refuses clone(2) and unshare(2) with CLONE_NEWPID
or CLONE_NEWUSER (EPERM, as in a container without CAP_SYS_ADMIN whose
runtime forbids user namespaces) and clone3(2) (ENOSYS, so glibc falls back
to clone), leaving Landlock alone.

--only-pid-namespace is systemd's RestrictNamespaces=pid: clone(2), unshare(2)
and setns(2) with any namespace type but CLONE_NEWPID get EPERM, and so does
setns(2) with nstype 0 (whose type the filter can't see); clone3(2) gets ENOSYS.
"""
import ctypes
import errno
import os
import platform
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
AUDIT_ARCH = {"x86_64": (0xC000003E, 444), "aarch64": (0xC00000B7, 444)}
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JSET_K, BPF_RET_K = 0x20, 0x15, 0x45, 0x06
CLONE_NS = 0x20000000 | 0x10000000           # CLONE_NEWPID | CLONE_NEWUSER
X86_64 = {"clone": 56, "unshare": 272, "clone3": 435, "setns": 308}
# Every namespace type but CLONE_NEWPID: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWNET,
# and NEWTIME (0x80, which for clone(2) is a bit of the exit signal instead).
OTHER_NS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x40000000
OTHER_NS_TIME = OTHER_NS | 0x80


def assemble(lines):
    """[(label or None, (code, jt_label, jf_label, k))]: resolves jump labels to offsets."""
    at = {label: i for i, (label, _) in enumerate(lines) if label}
    out = []
    for i, (_, (code, jt, jf, k)) in enumerate(lines):
        off = lambda l: 0 if l is None else at[l] - i - 1
        out.append(insn(code, off(jt), off(jf), k))
    return b"".join(out)


def only_pid_namespace(arch, deny, allow):
    return assemble([
        (None, (BPF_LD_W_ABS, None, None, 4)),                    # seccomp_data.arch
        (None, (BPF_JEQ_K, None, "allow", arch)),                 # another ABI: allow
        (None, (BPF_LD_W_ABS, None, None, 0)),                    # seccomp_data.nr
        (None, (BPF_JEQ_K, "enosys", None, X86_64["clone3"])),
        (None, (BPF_JEQ_K, "clone", None, X86_64["clone"])),
        (None, (BPF_JEQ_K, "unshare", None, X86_64["unshare"])),
        (None, (BPF_JEQ_K, "setns", "allow", X86_64["setns"])),
        ("clone", (BPF_LD_W_ABS, None, None, 16)),                # args[0], low 32 bits
        (None, (BPF_JSET_K, "eperm", "allow", OTHER_NS)),
        ("unshare", (BPF_LD_W_ABS, None, None, 16)),
        (None, (BPF_JSET_K, "eperm", "allow", OTHER_NS_TIME)),
        ("setns", (BPF_LD_W_ABS, None, None, 24)),                # args[1]: nstype
        (None, (BPF_JEQ_K, "eperm", None, 0)),
        (None, (BPF_JSET_K, "eperm", "allow", OTHER_NS_TIME)),
        ("allow", (BPF_RET_K, None, None, SECCOMP_RET_ALLOW)),
        ("enosys", (BPF_RET_K, None, None, SECCOMP_RET_ERRNO | errno.ENOSYS)),
        ("eperm", (BPF_RET_K, None, None, SECCOMP_RET_ERRNO | errno.EPERM)),
    ])


def insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


def main() -> None:
    arch, nr = AUDIT_ARCH[platform.machine()]
    argv = sys.argv[1:]
    deny = lambda e: insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | e)
    allow = insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW)
    if argv[:1] == ["--only-pid-namespace"]:
        argv = argv[1:]
        assert platform.machine() == "x86_64", "--only-pid-namespace knows x86_64's syscall numbers only"
        prog = only_pid_namespace(arch, deny, allow)
    elif argv[:1] == ["--no-pid-namespace"]:
        argv = argv[1:]
        assert platform.machine() == "x86_64", "--no-pid-namespace knows x86_64's syscall numbers only"
        prog = b"".join([
            insn(BPF_LD_W_ABS, 0, 0, 4),                 # 0 seccomp_data.arch
            insn(BPF_JEQ_K, 0, 6, arch),                 # 1 another ABI: allow (8)
            insn(BPF_LD_W_ABS, 0, 0, 0),                 # 2 seccomp_data.nr
            insn(BPF_JEQ_K, 5, 0, X86_64["clone3"]),     # 3 -> ENOSYS (9)
            insn(BPF_JEQ_K, 1, 0, X86_64["clone"]),      # 4 -> flags (6)
            insn(BPF_JEQ_K, 0, 2, X86_64["unshare"]),    # 5 -> flags (6), else allow (8)
            insn(BPF_LD_W_ABS, 0, 0, 16),                # 6 args[0], low 32 bits
            insn(BPF_JSET_K, 2, 0, CLONE_NS),            # 7 a namespace flag -> EPERM (10), else allow
            allow,                                       # 8
            deny(errno.ENOSYS),                          # 9
            deny(errno.EPERM),                           # 10
        ])
    else:
        prog = b"".join([
            insn(BPF_LD_W_ABS, 0, 0, 4),            # seccomp_data.arch
            insn(BPF_JEQ_K, 0, 3, arch),             # another ABI: allow
            insn(BPF_LD_W_ABS, 0, 0, 0),             # seccomp_data.nr
            insn(BPF_JEQ_K, 0, 1, nr),               # landlock_create_ruleset?
            deny(errno.ENOSYS),
            allow,
        ])
    buf = ctypes.create_string_buffer(prog)
    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    fprog = SockFprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_SECCOMP): {os.strerror(ctypes.get_errno())}")
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
