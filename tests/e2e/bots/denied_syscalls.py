"""Tries each syscall of the default seccomp denylist through ctypes and
reports {name: errno} as one JSON line (0 when the call succeeded).

The arguments are deliberately invalid (NULL pointers, fd -1, unknown flags,
bad magic numbers), so that even WITHOUT a filter, and with every capability,
no call changes anything: reboot gets wrong magic, kexec_load too many
segments, swapoff a NULL path. Under the filter each one must be EPERM.

argv[1]: "all" (default), or one name to call alone (for action = "kill")."""
import ctypes
import json
import sys

# x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
NR = {
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
    "delete_module": 176, "bpf": 321, "perf_event_open": 298, "mount": 165, "umount2": 166,
    "pivot_root": 155, "swapon": 167, "swapoff": 168, "reboot": 169, "setns": 308,
    "keyctl": 250, "add_key": 248, "request_key": 249, "userfaultfd": 323,
    "open_by_handle_at": 304, "name_to_handle_at": 303, "iopl": 172, "ioperm": 173,
    "acct": 163, "quotactl": 179,
}
L = ctypes.c_long
ARGS = {
    "ptrace": (-1, 0, 0, 0),                     # unknown request, pid 0
    "process_vm_readv": (0, 0, 0, 0, 0, 1),      # flags must be 0
    "process_vm_writev": (0, 0, 0, 0, 0, 1),
    "kexec_load": (0, 1000, 0, 0x100),           # > KEXEC_SEGMENT_MAX segments, unknown flag
    "kexec_file_load": (-1, -1, 0, 0, 0x80000),  # unknown flag
    "init_module": (0, 0, 0),                    # empty image
    "finit_module": (-1, 0, 0),
    "delete_module": (0, 0),
    "bpf": (9999, 0, 0),
    "perf_event_open": (0, 0, -1, -1, 0),
    "mount": (0, 0, 0, 0, 0),
    "umount2": (0, 0),
    "pivot_root": (0, 0),
    "swapon": (0, 0),
    "swapoff": (0,),
    "reboot": (0, 0, 0, 0),                      # wrong magic
    "setns": (-1, 0),
    "keyctl": (-1, 0, 0, 0, 0),
    "add_key": (0, 0, 0, 0, 0),
    "request_key": (0, 0, 0, 0),
    "userfaultfd": (0x7fffffff,),
    "open_by_handle_at": (-1, 0, 0),
    "name_to_handle_at": (-1, 0, 0, 0, 0),
    "iopl": (4,),                                 # level above 3
    "ioperm": (0, 0, 0),                          # zero-length range
    "acct": (1,),                                 # bad pointer
    "quotactl": (0, 0, 0, 0),
}

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = L


def attempt(name):
    ctypes.set_errno(0)
    rc = libc.syscall(L(NR[name]), *(L(a) for a in ARGS[name]))
    return 0 if rc >= 0 else ctypes.get_errno()


which = sys.argv[1] if len(sys.argv) > 1 else "all"
if which != "all":
    print("calling " + which, flush=True)
    print(json.dumps({which: attempt(which)}), flush=True)
else:
    print(json.dumps({name: attempt(name) for name in NR}), flush=True)
