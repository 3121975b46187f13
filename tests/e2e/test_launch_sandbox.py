"""What the bot's process really gets: no_new_privs, the seccomp filter, the
profile's rlimits, the privilege drop, no_exec. The bot asks the kernel
(/proc/self/status, /proc/self/limits, the syscalls themselves)."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from launch_helpers import PY, SYS_PY, assert_error, bot, last_json, launch, public_bot, require_root, stderr_text  # noqa: F401

# The default denylist the issue names, plus the rest of SeccompPolicy.defaultDenylist.
DENYLIST = [
    "ptrace", "process_vm_readv", "process_vm_writev", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "bpf", "perf_event_open", "mount", "umount2",
    "pivot_root", "swapon", "swapoff", "reboot", "setns", "keyctl", "add_key", "request_key",
    "userfaultfd", "open_by_handle_at",
]
ALSO_DENIED = ["name_to_handle_at", "iopl", "ioperm", "acct", "quotactl"]

LIMITS = {
    "nofile": {"soft": 100, "hard": 200},
    "core": 0,
    "address_space": "2G",
    "processes": 77,
    "cpu": "1m",
    "fsize": "64M",
    "stack": "8M",
    "memlock": "64K",
    "locks": 33,
    "sigpending": 1000,
    "msgqueue": 4096,
    "nice": 0,
}
# /proc/self/limits rows: name -> [soft, hard].
EXPECTED_LIMITS = {
    "Max open files": ["100", "200"],
    "Max core file size": ["0", "0"],
    "Max address space": [str(2 << 30)] * 2,
    "Max processes": ["77", "77"],
    "Max cpu time": ["60", "60"],
    "Max file size": [str(64 << 20)] * 2,
    "Max stack size": [str(8 << 20)] * 2,
    "Max locked memory": [str(64 << 10)] * 2,
    "Max file locks": ["33", "33"],
    "Max pending signals": ["1000", "1000"],
    "Max msgqueue size": ["4096", "4096"],
    "Max nice priority": ["0", "0"],
}


def report(launch, name="report", command=None, **sections):
    p = launch.profile(name, command or [PY, bot("report.py")], **sections)
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    return last_json(res)


def test_status_shows_no_new_privs_seccomp_and_limits(launch):
    out = report(launch, limits=LIMITS)
    st = out["status"]
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"            # SECCOMP_MODE_FILTER
    assert int(st["Seccomp_filters"]) == 1
    for name, want in EXPECTED_LIMITS.items():
        assert out["limits"][name] == want, name
    # Only stdio reaches a bot without keys (plus the fd listdir itself used).
    assert sorted(int(fd) for fd in out["fds"]) == [0, 1, 2]


def test_core_dumps_are_off_by_default_and_sandbox_can_be_relaxed(launch):
    # Landlock needs no_new_privs, so it is turned off too.
    out = report(launch, sandbox={"seccomp": "none", "no_new_privileges": False, "filesystem": "off", "signals": "off",
                                          "abstract_sockets": "off"})
    assert out["limits"]["Max core file size"] == ["0", "0"]
    assert out["status"]["Seccomp"] == "0"
    assert out["status"]["NoNewPrivs"] == "0"


def test_privilege_drop_to_nobody(launch):
    require_root("the drop to user = \"nobody\"")
    public = Path(tempfile.mkdtemp(prefix="rwk-public-", dir="/var/tmp"))
    try:
        out = report(launch, command=[SYS_PY, public_bot("report.py", public)],
                     top={"user": "nobody", "workdir": "/"}, limits={"nofile": 64, "processes": 50})
    finally:
        shutil.rmtree(public, ignore_errors=True)
    st = out["status"]
    assert st["Uid"].split() == ["65534"] * 4        # real, effective, saved, filesystem
    assert st["Gid"].split() == ["65534"] * 4
    assert st["Groups"].split() == ["65534"]         # root's supplementary groups are gone
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2"
    assert out["limits"]["Max open files"] == ["64", "64"]
    assert out["limits"]["Max processes"] == ["50", "50"]
    assert (out["uid"], out["euid"], out["gid"]) == (65534, 65534, 65534)
    assert out["cwd"] == "/"


def test_group_alone_keeps_our_uid_with_that_group_only(launch):
    # As systemd's Group= without User=: it used to be ignored without `user`.
    require_root("a change of group")
    p = launch.profile("grouponly", [PY, bot("report.py")], top={"group": "nogroup"})
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    st = last_json(res)["status"]
    assert st["Uid"].split() == ["0"] * 4
    assert st["Gid"].split() == ["65534"] * 4
    assert st["Groups"].split() == ["65534"]         # root's supplementary groups are gone
    chk = launch.check(p)
    assert chk.returncode == 0, stderr_text(chk)
    assert b"group:    nogroup (gid 65534; uid 0 unchanged)" in chk.stdout
    js = json.loads(launch.check(p, "--json").stdout)
    assert js["group"] == "nogroup" and js["user"] is None
    assert js["credentials"] == {"uid": 0, "gid": 65534, "groups": [65534]}
    missing = launch.profile("nosuchgroup", [PY, bot("report.py")], top={"group": "rwk-no-such-group"})
    assert_error(launch.run(missing), 125, "rwk-no-such-group", hint="groupadd")


def test_memfd_key_file_is_readable_after_the_drop(launch):
    require_root("the drop to user = \"nobody\"")
    value = launch.secret("app/key")
    p = launch.profile("dropfile", [SYS_PY, "-c",
                                    "import os, hashlib; p = os.environ['K']; "
                                    "print(os.getuid(), hashlib.sha256(open(p, 'rb').read()).hexdigest(), "
                                    "hashlib.sha256(os.read(9, 4096)).hexdigest())"],
                       top={"user": "nobody", "workdir": "/"},
                       keys={"K": {"secret": "app/key", "as": "file"}, "K_FD": {"secret": "app/key", "as": "fd", "fd": 9}})
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    digest = hashlib.sha256(value.encode()).hexdigest()
    assert res.stdout.decode().split() == ["65534", digest, digest]


def test_default_denylist_gives_eperm(launch):
    out = report(launch, "deny", command=[PY, bot("denied_syscalls.py")])
    assert set(DENYLIST + ALSO_DENIED) <= set(out)
    assert {name: e for name, e in out.items() if e != errno.EPERM} == {}
    if os.geteuid() == 0:
        # Control: with no filter the same (harmless, invalid) calls fail for
        # other reasons, so the EPERMs above really come from the filter.
        control = report(launch, "nodeny", command=[PY, bot("denied_syscalls.py")], sandbox={"seccomp": "none"})
        not_eperm = [n for n in DENYLIST if control[n] != errno.EPERM]
        assert len(not_eperm) >= len(DENYLIST) // 2, control


def test_kill_action_kills_with_sigsys(launch):
    p = launch.profile("kill", [PY, bot("denied_syscalls.py"), "ptrace"], sandbox={"action": "kill"})
    res = launch.run(p)
    assert res.returncode == 128 + 31, stderr_text(res)
    assert res.stdout.decode().splitlines() == ["calling ptrace"]   # it ran, then died in the call
    err = stderr_text(res)
    assert "seccomp" in err and "SIGSYS" in err
    assert "[sandbox]" in err     # where to look


def test_extra_deny_socketpair(launch):
    p = launch.profile("sp", [PY, "-c",
                              "import socket, json\n"
                              "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.close()\n"
                              "try:\n    socket.socketpair(); print(json.dumps('ok'))\n"
                              "except OSError as e:\n    print(json.dumps(e.errno))\n"],
                       sandbox={"deny": ["socketpair"]})
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    assert last_json(res) == errno.EPERM


def test_no_exec_refuses_every_later_exec(launch):
    p = launch.profile("noexec", [PY, bot("no_exec.py")], sandbox={"no_exec": True})
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    lines = res.stdout.decode().splitlines()
    assert lines[0] == "bot started"
    out = last_json(res)
    eperm = {"type": "PermissionError", "errno": errno.EPERM}
    assert out["subprocess"] == eperm
    assert out["execv"] == eperm             # the bot itself kept running
    assert out["posix_spawn"] == eperm
    # The supervisor served the listener quietly (no warnings, no busy loop on its hang-up).
    assert "exec guard" not in stderr_text(res), stderr_text(res)


def test_without_no_exec_the_bot_may_exec(launch):
    p = launch.profile("exec", [PY, bot("no_exec.py")])
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    # execv replaced the bot with /bin/true before it could report.
    assert res.stdout.decode().splitlines() == ["bot started"]
