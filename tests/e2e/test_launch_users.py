"""`user = …` resolved without glibc's NSS (the shipped binary is fully static,
where NSS crashes on a name /etc/passwd lacks): /etc/passwd and /etc/group read
directly, getent for names only another nsswitch source knows, numbers as is.
The bot reports the credentials it really runs with from /proc/self/status."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from launch_helpers import assert_error, launch, require_root, stderr_text  # noqa: F401

CAT = "/bin/cat"


def status(launch, user: str, group: str | None = None) -> dict[str, list[str]]:
    top = {"user": user, "workdir": "/"}
    if group:
        top["group"] = group
    res = launch.run(launch.profile("who", [CAT, "/proc/self/status"], top=top))
    assert res.returncode == 0, stderr_text(res)
    out = {}
    for line in res.stdout.decode().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.split()
    return out


def test_unknown_user_is_one_clear_error_not_a_crash(launch):
    for name in ("rwk-no-such-user", "rwk-no-such-user-" + "x" * 40):
        res = launch.run(launch.profile("nouser", [CAT, "/dev/null"], top={"user": name}))
        assert_error(res, 125, f'unknown user "{name}"', hint="useradd")
    res = launch.run(launch.profile("nogroup", [CAT, "/dev/null"], top={"user": "root", "group": "rwk-no-such-group"}))
    assert_error(res, 125, 'unknown group "rwk-no-such-group"')


def test_numeric_user_needs_no_entry(launch):
    require_root("the drop to a numeric user")
    st = status(launch, "4242", group="4343")
    assert st["Uid"] == ["4242"] * 4 and st["Gid"] == ["4343"] * 4 and st["Groups"] == ["4343"]


def test_supplementary_groups_from_etc_group(launch):
    require_root("creating a user and a group")
    n = os.getpid() % 100000
    user, extra = f"rwkeu{n}", f"rwkeg{n}"
    subprocess.run(["groupadd", extra], check=True, timeout=30)
    try:
        subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", "-G", f"{extra},daemon", user],
                       check=True, timeout=30)
        expected = subprocess.run(["id", "-G", user], capture_output=True, text=True, check=True).stdout.split()
        st = status(launch, user)
        assert st["Uid"][0] == subprocess.run(["id", "-u", user], capture_output=True, text=True).stdout.strip()
        assert sorted(st["Groups"]) == sorted(expected) and len(expected) == 3
    finally:
        subprocess.run(["userdel", user], timeout=30)
        subprocess.run(["groupdel", extra], timeout=30)


def nss_systemd() -> bool:
    try:
        conf = Path("/etc/nsswitch.conf").read_text()
    except OSError:
        return False
    line = next((l for l in conf.splitlines() if l.startswith("passwd:")), "")
    return "systemd" in line.split() and shutil.which("getent") is not None and any(
        Path(d, "libnss_systemd.so.2").exists() for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64"))


def test_user_known_only_to_another_nss_source(launch):
    """A systemd userdb drop-in record (/run/userdb) is served by libnss_systemd
    without systemd running: only getent finds it, /etc/passwd doesn't have it."""
    require_root("writing /run/userdb records")
    if not nss_systemd():
        pytest.skip("needs `passwd: ... systemd` in /etc/nsswitch.conf and libnss_systemd")
    n = os.getpid() % 2000
    user, group, uid, gid2 = f"rwkeud{n}", f"rwkeudg{n}", 62000 + n, 64000 + n
    d = Path("/run/userdb")
    d.mkdir(exist_ok=True)
    files = {
        f"{user}.user": f'{{"userName":"{user}","uid":{uid},"gid":{uid},"homeDirectory":"/nonexistent","disposition":"regular"}}',
        f"{user}.group": f'{{"groupName":"{user}","gid":{uid}}}',
        f"{group}.group": f'{{"groupName":"{group}","gid":{gid2}}}',
        f"{user}:{group}.membership": "{}",
    }
    try:
        for name, text in files.items():
            (d / name).write_text(text)
        assert f"\n{user}:" not in "\n" + Path("/etc/passwd").read_text()
        st = status(launch, user)
        assert st["Uid"] == [str(uid)] * 4 and st["Gid"] == [str(uid)] * 4
        assert sorted(st["Groups"]) == sorted([str(uid), str(gid2)])
        st = status(launch, user, group=group)
        assert st["Gid"] == [str(gid2)] * 4
    finally:
        for name in files:
            (d / name).unlink(missing_ok=True)
