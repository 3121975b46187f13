"""Issue 13, faults 3 to 6: disk-full and write errors are never silent (a small
tmpfs, as root), a symlinked vault, `set` after `rotate --keep-previous` and the
pruning of expired previous values, and Ctrl-C at the hidden `set` prompt
through a real pty. Throwaway keys only."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import RWK_BIN, Rwk, age_decrypt_doc, assert_cli_error, interrupt_at_prompt
from launch_helpers import launch, require_root  # noqa: F401

TOUCH = "/usr/bin/touch"


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 64 KiB tmpfs at tmp_path/full (root only)."""
    require_root("mounting a small tmpfs")
    mnt = tmp_path / "full"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"can't mount a tmpfs here: {r.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(directory: Path) -> None:
    """Fills the filesystem of `directory` up to the last byte."""
    for name, chunk in (("filler", 4096), ("filler2", 1)):
        fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * chunk)
        except OSError:
            pass
        finally:
            os.close(fd)


def records(log: Path) -> list[dict]:
    out = []
    for line in log.read_bytes().split(b"\n"):
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def test_launch_log_on_a_full_disk(launch, tiny_tmpfs):
    log = tiny_tmpfs / "launches.log"
    launch.secret("app/key")
    p = launch.profile("bot", ["/bin/true"], keys={"K": "app/key"})
    res = launch.rwk.run("run", "--launch-log", log, p)
    assert res.returncode == 0, res.stderr
    before = log.read_bytes()
    assert before.endswith(b"\n") and len(records(log)) == 2   # start, exit
    # An earlier failure left a partial line (no newline at the end), which ends
    # 10 bytes short of a page: the next record needs a page the disk won't have.
    junk = b'{"time":"2026-01-01T00:00:00Z","event":"sta'
    junk += b"x" * (4096 - 10 - (len(before) + len(junk)) % 4096)
    with open(log, "ab") as f:
        f.write(junk)
    assert log.stat().st_size % 4096 == 4086
    fill(tiny_tmpfs)
    size = log.stat().st_size
    res = launch.rwk.run("run", "--launch-log", log, p)
    # The launch proceeds, with a warning; the log is not left with half a record.
    assert res.returncode == 0, res.stderr
    err = res.stderr.decode()
    assert "launch log" in err and ("No space left" in err or "disk full" in err), err
    assert log.stat().st_size == size
    # Space again: the next record starts on a line of its own and is read back.
    (tiny_tmpfs / "filler").unlink()
    # The space comes back once the last reference to the file goes: the previous
    # run's Landlock domain pinned it (a rule on each sibling of the hidden log), and
    # the kernel drops a domain's inode references from a workqueue, a moment later.
    deadline = time.monotonic() + 10
    while os.statvfs(tiny_tmpfs).f_bavail == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.statvfs(tiny_tmpfs).f_bavail > 0
    res = launch.rwk.run("run", "--launch-log", log, p)
    assert res.returncode == 0, res.stderr
    recs = records(log)
    assert [r["event"] for r in recs] == ["start", "exit", "start", "exit"]
    assert all(r["keys"] == ["app/key"] for r in recs)
    audit = launch.rwk.run("audit", "--json", "--launch-log", log)
    assert b"app/key" in audit.stdout


def test_init_on_a_full_disk_leaves_nothing(tiny_tmpfs, tmp_path):
    home = tiny_tmpfs / "home"
    home.mkdir()
    # Room for exactly one page: the identity fits, the vault does not.
    (tiny_tmpfs / "spare").write_bytes(b"\0" * 4096)
    fill(tiny_tmpfs)
    (tiny_tmpfs / "spare").unlink()
    rwk = Rwk(tmp_path / "root", home=home)
    res = rwk.run("init")
    assert_cli_error(res, "No space left")
    assert sorted(p.name for p in home.iterdir()) == [], list(home.iterdir())
    # With space, init works.
    (tiny_tmpfs / "filler").unlink()
    (tiny_tmpfs / "filler2").unlink()
    rwk.init()
    assert rwk.vault.exists() and rwk.identity.exists()


def test_symlinked_vault_is_written_through(tmp_path):
    rwk = Rwk(tmp_path / "a")
    rwk.init()
    real = rwk.vault
    links = [tmp_path / "link1.age", tmp_path / "sub" / "link2.age"]
    links[1].parent.mkdir()
    for link in links:
        link.symlink_to(real)
    v1, v2 = rwk.secret(), rwk.secret()
    rwk.run("--vault", links[0], "set", "one", input=v1, check=True)
    rwk.run("--vault", links[1], "set", "two", input=v2, check=True)
    for link in links:
        assert link.is_symlink() and os.readlink(link) == str(real)
    doc = age_decrypt_doc(real, rwk.identity)
    assert {k: v["value"] for k, v in doc["secrets"].items()} == {"one": v1, "two": v2}
    # Both links take the one lock, the target's: a writer holding it blocks the other link.
    assert not Path(str(links[0]) + ".lock").exists()
    lock = Path(str(real) + ".lock")
    holder = subprocess.Popen(["flock", "-x", str(lock), "sleep", "3"])
    try:
        time.sleep(0.3)
        res = rwk.run("--vault", links[1], "--lock-timeout", "0.5", "set", "three", input=rwk.secret())
        assert_cli_error(res, "locked")
    finally:
        holder.kill()
        holder.wait()


def test_set_after_rotate_keep_previous_drops_previous(launch):
    rwk = launch.rwk
    a, b, c = rwk.secret(), rwk.secret(), rwk.secret()
    rwk.set("app/key", a)
    rwk.run("rotate", "app/key", "--keep-previous", "1h", input=b, check=True)
    assert rwk.doc()["secrets"]["app/key"]["previous"] == a
    rwk.set("app/key", c)
    entry = rwk.doc()["secrets"]["app/key"]
    assert entry["value"] == c and "previous" not in entry
    out = launch.out / "env.json"
    p = launch.profile("env", ["/bin/sh", "-c", f"env > {out}"], keys={"K": "app/key"})
    assert launch.run(p).returncode == 0
    env = out.read_text()
    assert "K_PREVIOUS" not in env
    # rotate --keep-previous keeps exactly the value it replaced.
    d = rwk.secret()
    rwk.run("rotate", "app/key", "--keep-previous", "1h", input=d, check=True)
    entry = rwk.doc()["secrets"]["app/key"]
    assert entry["value"] == d and entry["previous"] == c


def test_expired_previous_is_pruned_on_any_write(rwk):
    rwk.init()
    a, b = rwk.secret(), rwk.secret()
    rwk.set("app/key", a)
    rwk.run("rotate", "app/key", "--keep-previous", "1s", input=b, check=True)
    assert rwk.doc()["secrets"]["app/key"]["previous"] == a
    time.sleep(2.2)
    rwk.set("other", rwk.secret())   # a write that does not touch app/key
    entry = rwk.doc()["secrets"]["app/key"]
    assert "previous" not in entry and "previous_until" not in entry
    assert entry["value"] == b


def test_ctrl_c_at_the_hidden_prompt_restores_echo(rwk):
    rwk.init()
    modes = interrupt_at_prompt(f"{RWK_BIN} set tty/key", r"Value for tty/key \(input hidden\): ", rwk.env(),
                                str(rwk.root), typed="partial")
    assert "-echo " not in modes
    assert rwk.names() == []
