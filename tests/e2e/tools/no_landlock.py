#!/usr/bin/env python3
"""Runs a command the way it would run on a kernel without Landlock.

usage: no_landlock.py COMMAND [ARGS...]

Installs a seccomp filter (inherited across execve by every descendant) that
makes landlock_create_ruleset(2) fail with ENOSYS, exactly what a kernel built
without CONFIG_SECURITY_LANDLOCK answers, then execs COMMAND. No test hook in
run-with-keys is involved: it sees a real kernel refusal.
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
BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06


def insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


def main() -> None:
    arch, nr = AUDIT_ARCH[platform.machine()]
    prog = b"".join([
        insn(BPF_LD_W_ABS, 0, 0, 4),            # seccomp_data.arch
        insn(BPF_JEQ_K, 0, 3, arch),             # another ABI: allow
        insn(BPF_LD_W_ABS, 0, 0, 0),             # seccomp_data.nr
        insn(BPF_JEQ_K, 0, 1, nr),               # landlock_create_ruleset?
        insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.ENOSYS),
        insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
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
    os.execv(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
