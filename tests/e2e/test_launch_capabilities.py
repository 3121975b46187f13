"""Root's capabilities(7) stop at the bot: every set is empty, the bounding set
included, unless the profile keeps some with [sandbox] capabilities. The bot
asks the kernel (/proc/self/status) and tries what a capability allows: a
privileged port on 127.0.0.1, another user's 0600 file, an execve as root."""
from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from launch_helpers import PY, SYS_PY, assert_error, bot, last_json, launch, public_bot, require_root, stderr_text  # noqa: F401

SETS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
# With no_new_privs (the default) no execve can add a capability, and the
# bounding set is left as it is; these are the sets that matter then.
HELD = ("CapInh", "CapPrm", "CapEff", "CapAmb")


def held(st: dict) -> dict:
    return {k: v for k, v in st.items() if k in HELD}
CAP_NET_BIND_SERVICE = 10
CAP_DAC_OVERRIDE = 1
CAP_SETPCAP = 8


def status(launch, name="caps", **sections) -> dict:
    p = launch.profile(name, [PY, bot("report.py")], **sections)
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    return {k: int(last_json(res)["status"][k], 16) for k in SETS}


def test_a_root_bot_has_no_capability_left(launch):
    require_root("dropping root's capabilities")
    assert held(status(launch)) == dict.fromkeys(HELD, 0)


def test_exec_in_place_drops_them_too(launch):
    require_root("dropping root's capabilities")
    fast = {"restart": {"policy": "no"}, "output": {"redact": False}, "sandbox": {"pid_namespace": False}}
    p = launch.profile("fast", [PY, bot("report.py")], **fast)
    assert "exec in place" in launch.check(p).stdout.decode()
    assert held(status(launch, "fast", **fast)) == dict.fromkeys(HELD, 0)


def test_kept_capabilities_are_the_only_ones(launch):
    require_root("dropping root's capabilities")
    got = status(launch, sandbox={"capabilities": ["CAP_NET_BIND_SERVICE", "dac_override"]})
    kept = 1 << CAP_NET_BIND_SERVICE | 1 << CAP_DAC_OVERRIDE
    assert held(got) == dict.fromkeys(HELD, kept)   # ambient (and so inheritable) too: they survive any execve


def free_privileged_port() -> int:
    for port in range(1023, 900, -1):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    pytest.skip("no free port below 1024 on 127.0.0.1")


BIND = ("import socket, sys\n"
        "s = socket.socket()\n"
        "try:\n"
        "    s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); print('bound')\n"
        "except OSError as e:\n"
        "    print('errno', e.errno)\n")


def test_a_privileged_port_needs_cap_net_bind_service(launch):
    require_root("dropping root's capabilities")
    port = free_privileged_port()
    start = int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    kept = launch.profile("bind", [PY, "-c", BIND, str(port)], sandbox={"capabilities": ["CAP_NET_BIND_SERVICE"]})
    res = launch.run(kept)
    assert res.returncode == 0 and res.stdout.decode().split() == ["bound"], stderr_text(res)
    if port < start:
        res = launch.run(launch.profile("nobind", [PY, "-c", BIND, str(port)]))
        assert res.stdout.decode().split() == ["errno", str(errno.EACCES)], stderr_text(res)


def test_root_can_no_longer_open_another_users_private_file(launch):
    require_root("dropping root's capabilities")
    d = Path(tempfile.mkdtemp(prefix="rwk-caps-", dir="/var/tmp"))
    try:
        f = d / "private"
        f.write_text("not root's\n")
        os.chown(f, 65534, 65534)
        os.chmod(f, 0o600)
        read = [PY, "-c", "import sys\ntry:\n    print(open(sys.argv[1]).read().strip())\n"
                "except OSError as e:\n    print('errno', e.errno)\n", str(f)]
        res = launch.run(launch.profile("dac", read))
        assert res.stdout.decode().split() == ["errno", str(errno.EACCES)], stderr_text(res)
        res = launch.run(launch.profile("dac2", read, sandbox={"capabilities": ["CAP_DAC_OVERRIDE"]}))
        assert res.stdout.decode().strip() == "not root's", stderr_text(res)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_an_execve_as_root_does_not_give_them_back(launch):
    # Without no_new_privs, root's execve would grant the bounding set again:
    # only its drop keeps them gone, so here it is dropped.
    require_root("dropping root's capabilities")
    loose = {"seccomp": "none", "no_new_privileges": False, "filesystem": "off", "signals": "off", "abstract_sockets": "off"}
    p = launch.profile("reexec", ["/bin/sh", "-c", "exec /bin/grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status"],
                       sandbox=loose)
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    rows = dict(line.split(":") for line in res.stdout.decode().splitlines())
    assert {k: int(v, 16) for k, v in rows.items()} == {"CapPrm": 0, "CapEff": 0, "CapBnd": 0}


def test_with_no_new_privs_nothing_comes_back_through_execve(launch):
    # The bounding set stays full, but no execve (as root, of a set-user-ID-root
    # program, of a program with file capabilities) can add to the permitted set.
    require_root("dropping root's capabilities")
    d = Path(tempfile.mkdtemp(prefix="rwk-caps-", dir="/var/tmp"))
    try:
        grep = d / "grep"
        shutil.copy("/bin/grep", grep)
        os.chmod(grep, 0o4755)   # set-user-ID root
        filecaps = d / "grep-caps"
        shutil.copy("/bin/grep", filecaps)
        if shutil.which("setcap"):
            subprocess.run(["setcap", "cap_dac_override,cap_net_raw+ep", str(filecaps)], check=True, timeout=30)
        script = f"{grep} -E '^Cap(Prm|Eff)' /proc/self/status; {filecaps} -E '^Cap(Prm|Eff)' /proc/self/status || echo refused"
        res = launch.run(launch.profile("nnp-exec", ["/bin/sh", "-c", script]))
        assert res.returncode == 0, stderr_text(res)
        lines = res.stdout.decode().split()
        values = [int(v, 16) for v in lines if len(v) == 16]
        assert values and all(v == 0 for v in values), lines
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_without_cap_setpcap_the_bounding_set_stays_and_the_rest_goes(launch):
    # run-with-keys started without CAP_SETPCAP can't shrink the bounding set;
    # the capset after the ids change still leaves the bot none.
    require_root("dropping root's capabilities")
    p = launch.profile("nopcap", [PY, bot("report.py")])
    res = setpriv_run(launch, p, "setpcap")
    assert res.returncode == 0, stderr_text(res)
    st = {k: int(last_json(res)["status"][k], 16) for k in SETS}
    assert (st["CapInh"], st["CapPrm"], st["CapEff"], st["CapAmb"]) == (0, 0, 0, 0)
    assert st["CapBnd"] != 0 and not st["CapBnd"] & 1 << CAP_SETPCAP


def test_a_bot_of_its_own_user_keeps_only_what_is_listed(launch):
    require_root("the drop to user = \"nobody\"")
    public = Path(tempfile.mkdtemp(prefix="rwk-public-", dir="/var/tmp"))
    try:
        report = public_bot("report.py", public)
        p = launch.profile("nobody", [SYS_PY, report], top={"user": "nobody", "workdir": "/"})
        res = launch.run(p)
        assert res.returncode == 0, stderr_text(res)
        st = last_json(res)["status"]
        assert {k: int(st[k], 16) for k in HELD} == dict.fromkeys(HELD, 0)
        # Kept across the change of user and the execve as ambient capabilities
        # (systemd's AmbientCapabilities=): a privileged port for user nobody.
        p = launch.profile("nobody2", [SYS_PY, report], top={"user": "nobody", "workdir": "/"},
                           sandbox={"capabilities": ["CAP_NET_BIND_SERVICE"]})
        res = launch.run(p)
        assert res.returncode == 0, stderr_text(res)
        st = last_json(res)["status"]
        bit = 1 << CAP_NET_BIND_SERVICE
        assert {k: int(st[k], 16) for k in HELD} == dict.fromkeys(HELD, bit)
        port = free_privileged_port()
        p = launch.profile("nobody3", [SYS_PY, "-c", BIND, str(port)], top={"user": "nobody", "workdir": "/"},
                           sandbox={"capabilities": ["CAP_NET_BIND_SERVICE"]})
        res = launch.run(p)
        assert res.stdout.decode().split() == ["bound"], stderr_text(res)
    finally:
        shutil.rmtree(public, ignore_errors=True)


def setpriv_run(launch, profile, *drop: str) -> subprocess.CompletedProcess:
    """run-with-keys started by root without the capabilities in `drop` (setpriv's bounding set)."""
    if not shutil.which("setpriv"):
        pytest.skip("needs util-linux setpriv")
    argv = ["setpriv", "--bounding-set", ",".join("-" + d for d in drop), *launch.rwk.argv("run", str(profile))]
    return subprocess.run(argv, env=launch.rwk.env(None), cwd=launch.rwk.root, capture_output=True, timeout=60)


def test_without_cap_setpcap_and_no_new_privs_a_bot_is_refused(launch):
    # Its bounding set can't shrink, and without no_new_privs its next execve
    # would get every capability in it back.
    require_root("dropping root's capabilities")
    loose = {"seccomp": "none", "no_new_privileges": False, "filesystem": "off", "signals": "off", "abstract_sockets": "off"}
    p = launch.profile("loose", ["/bin/sh", "-c", "exec /bin/grep -E '^CapEff' /proc/self/status"], sandbox=loose)
    res = setpriv_run(launch, p, "setpcap")
    assert_error(res, 125, "no_new_privileges = false", "lacks CAP_SETPCAP", hint="remove no_new_privileges = false")
    assert res.stdout == b"", "no bot may start"
    # A bot of its own user too: a set-user-ID-root program would get the bounding set.
    other = launch.profile("loose-nobody", ["/bin/true"], top={"user": "nobody", "workdir": "/"}, sandbox=loose)
    res = setpriv_run(launch, other, "setpcap")
    assert_error(res, 125, "no_new_privileges = false", "lacks CAP_SETPCAP", hint="remove no_new_privileges = false")
    # With every capability but the kept ones already out of the bounding set, nothing comes back.
    kept = launch.profile("kept", ["/bin/sh", "-c", "exec /bin/grep -E '^CapEff' /proc/self/status"],
                          sandbox={**loose, "capabilities": ["CAP_NET_BIND_SERVICE"]})
    argv = ["setpriv", "--bounding-set", "-all,+net_bind_service,+sys_admin,+setuid,+setgid,+kill",
            *launch.rwk.argv("run", str(kept))]
    res = subprocess.run(argv, env=launch.rwk.env(None), cwd=launch.rwk.root, capture_output=True, timeout=60)
    assert res.returncode == 125 and b"lacks CAP_SETPCAP" in res.stderr, stderr_text(res)


def test_a_kept_capability_run_with_keys_lacks_is_a_warning(launch):
    require_root("dropping root's capabilities")
    p = launch.profile("lacks", [PY, bot("report.py")], sandbox={"capabilities": ["CAP_NET_BIND_SERVICE"]})
    res = setpriv_run(launch, p, "net_bind_service")
    assert res.returncode == 0, stderr_text(res)
    assert ("run-with-keys: warning: [sandbox] capabilities: run-with-keys doesn't hold CAP_NET_BIND_SERVICE, "
            "so the bot won't have it") in stderr_text(res)
    assert int(last_json(res)["status"]["CapEff"], 16) == 0


def test_an_unknown_capability_is_a_clear_error(launch):
    p = launch.profile("typo", ["/bin/true"], sandbox={"capabilities": ["net_bind_servce"]})
    assert_error(launch.check(p), 125, 'unknown capability "net_bind_servce"', hint='did you mean "CAP_NET_BIND_SERVICE"?')


def test_no_new_privileges_off_with_a_filter_is_a_clear_error(launch):
    p = launch.profile("nnp", ["/bin/true"], sandbox={"no_new_privileges": False, "filesystem": "off", "signals": "off",
                                                       "abstract_sockets": "off"})
    assert_error(launch.check(p), 125, "no_new_privileges = false", "CAP_SYS_ADMIN", hint='seccomp = "none"')


def test_check_says_what_the_bot_keeps(launch):
    require_root("dropping root's capabilities")
    p = launch.profile("chk", ["/bin/true"], sandbox={"capabilities": ["CAP_NET_RAW"]})
    res = launch.check(p)
    assert "capabilities: CAP_NET_RAW kept (every other one is dropped" in res.stdout.decode()
    res = launch.check(p, "--json")
    assert last_json(res)["sandbox"]["capabilities"] == ["CAP_NET_RAW"]
