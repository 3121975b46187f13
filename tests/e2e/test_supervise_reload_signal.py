"""reload = "signal" (issue 10): after `rotate`, the running bot (same pid)
reads the new value from its key file and gets reload_signal once for a burst
of changes, none for unchanged keys; it can never write or resize its key
files; env keys are refused. And a rotate racing the start-up reaches the bot."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from supervise_helpers import (bot, children, comm, read_json, supervise, vault_with, wait_until,  # noqa: F401
                               write_profile)


def lines(path) -> list[dict]:
    try:
        return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
    except FileNotFoundError:
        return []


def start_inplace(rwk, supervise, tmp_path, **restart):
    first = rwk.secret(24)
    vault_with(rwk, app__key=first, other__key=rwk.secret(24))
    out = tmp_path / "out" / "seen.jsonl"
    out.parent.mkdir()
    write_profile(rwk, "inplace", bot("inplace", out, "APP_KEY_FILE"),
                  keys={"APP_KEY_FILE": {"secret": "app/key", "as": "file"}},
                  restart={"reload": "signal", **restart})
    s = supervise("inplace")
    seen = wait_until(lambda: lines(out), 15, "the bot's first read")
    assert seen[0]["value"] == first and seen[0]["pid"] == s.bot_pid()
    return s, out, seen[0]


def test_rotate_reaches_the_running_bot_with_one_signal_per_burst(rwk, supervise, tmp_path):
    s, out, first = start_inplace(rwk, supervise, tmp_path)
    values = [rwk.secret(24) for _ in range(3)]
    for v in values:                       # a burst: three rotations within a second
        rwk.run("rotate", "app/key", input=v, check=True)
        time.sleep(0.1)
    last = wait_until(lambda: (lambda l: l[-1] if l and l[-1]["value"] == values[-1] else None)(lines(out)),
                      10, "the bot to read the newest value")
    assert last["pid"] == first["pid"] == s.bot_pid(), "the bot was restarted"
    time.sleep(1.5)                        # nothing more may come from the burst
    assert lines(out)[-1]["signals"] == 1, lines(out)
    assert s.count("start") == 1 and len(s.of("reload-signal")) == 1

    # The init is readable to the bot now, so it holds nothing and can do little:
    # a seccomp allowlist, no new privileges, the supervisor's environment wiped.
    (init,) = [p for p in children(s.pid) if comm(p) == "rwk-init"]
    status = Path(f"/proc/{init}/status").read_text()
    assert "\nSeccomp:\t2" in status and "\nNoNewPrivs:\t1" in status, status
    environ = Path(f"/proc/{init}/environ").read_bytes()
    assert str(rwk.home).encode() not in environ and environ.strip(b"\0") == b"", environ[:200]

    # A key this profile doesn't use: no signal.
    rwk.run("rotate", "other/key", input=rwk.secret(24), check=True)
    time.sleep(2)
    assert lines(out)[-1]["signals"] == 1 and len(s.of("reload-signal")) == 1
    # The same value again: unchanged, no signal.
    rwk.run("set", "app/key", input=values[-1], check=True)
    time.sleep(2)
    assert lines(out)[-1]["signals"] == 1, lines(out)


def test_the_bot_can_never_write_or_resize_its_key_file(rwk, supervise, tmp_path):
    s, out, first = start_inplace(rwk, supervise, tmp_path)
    tamper = wait_until(lambda: (out.parent / (out.name + ".tamper")).exists()
                        and json.loads((out.parent / (out.name + ".tamper")).read_text()), 10, "the tamper report")
    results = dict(tamper)
    assert all(r != "ok" for r in results.values()), results
    v2 = rwk.secret(24)
    rwk.run("rotate", "app/key", input=v2, check=True)
    wait_until(lambda: lines(out)[-1]["value"] == v2, 10, "the new value")


def test_env_keys_are_refused_with_reload_signal(rwk):
    vault_with(rwk, app__key=rwk.secret(24))
    write_profile(rwk, "envsig", ["/bin/true"], keys={"APP_KEY": "app/key"}, restart={"reload": "signal"})
    r = rwk.run("check", "envsig")
    assert r.returncode == 125
    err = r.stderr.decode()
    assert 'reload = "signal" puts new values into key files, but APP_KEY is an environment variable' in err, err
    assert 'as = "file"' in err


def test_a_rotate_racing_the_start_up_reaches_the_bot(rwk, supervise, tmp_path):
    """The rotate lands while the supervisor decrypts and registers: either it
    signals the registered supervisor, or the supervisor sees the changed vault
    once registered. Either way the bot ends up with the new value."""
    vault_with(rwk, app__key=rwk.secret(24))
    for i in range(5):
        out = tmp_path / f"seen{i}.json"
        write_profile(rwk, f"race{i}", bot("keyfile", out, "APP_KEY"), keys={"APP_KEY": "app/key"},
                      restart={"policy": "on-failure", "reload": "restart", "stop_timeout": "2s"})
        new = rwk.secret(24)
        s = supervise(f"race{i}")
        time.sleep(0.005 * i)              # land at different points of the start-up
        r = rwk.run("rotate", "app/key", input=new, check=True)
        assert "notified" in r.stderr.decode()
        wait_until(lambda: (read_json(out) or {}).get("value") == new, 15, "the bot to run with the rotated key")
        s.signal(15)
        s.wait(10)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the bot as nobody")
def test_a_bot_of_another_user_reads_its_reloaded_key_file(rwk, supervise):
    """With a privilege drop the init takes the bot's user, so the bot may look
    into the init's fd directory; it still can't change the files."""
    work = Path(tempfile.mkdtemp(prefix="rwk-inplace-"))
    try:
        shutil.copytree(Path(__file__).parent / "supbots", work / "bots")
        (work / "out").mkdir()
        for p in [work, work / "out"]:
            p.chmod(0o777 if p.name == "out" else 0o755)
        out = work / "out" / "seen.jsonl"
        first = rwk.secret(24)
        vault_with(rwk, app__key=first)
        write_profile(rwk, "asnobody", ["/usr/bin/python3", "-B", str(work / "bots" / "inplace.py"), str(out), "KEY_FILE"],
                      keys={"KEY_FILE": {"secret": "app/key", "as": "file"}}, restart={"reload": "signal"})
        prof = rwk.home / "profiles" / "asnobody.toml"
        prof.write_text('user = "nobody"\n' + prof.read_text())
        s = supervise("asnobody")
        seen = wait_until(lambda: lines(out), 15, "the bot's first read")
        assert seen[0]["value"] == first, seen
        assert os.stat(f"/proc/{seen[0]['pid']}").st_uid == 65534
        v2 = rwk.secret(24)
        rwk.run("rotate", "app/key", input=v2, check=True)
        last = wait_until(lambda: (lambda l: l[-1] if l[-1]["value"] == v2 else None)(lines(out)), 10, "the new value")
        assert last["pid"] == seen[0]["pid"] and last["signals"] == 1
        tamper = dict(json.loads((out.parent / (out.name + ".tamper")).read_text()))
        assert all(r != "ok" for r in tamper.values()), tamper
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root (to become an unprivileged user) and setpriv")
def test_an_unprivileged_supervisor_reloads_in_place(supervise):
    """Without root the bot's namespace is a user + PID namespace, whose init
    holds every capability in it until it drops them: the bot, which has none,
    may only look into a process with no more capabilities than its own."""
    from conftest import Rwk
    from supervise_helpers import Supervised
    root = Path(tempfile.mkdtemp(prefix="rwk-inplace-userns-"))
    rwk = Rwk(root)
    try:
        shutil.copytree(Path(__file__).parent / "supbots", root / "bots")
        out = root / "out" / "seen.jsonl"
        out.parent.mkdir()
        first = rwk.secret(24)
        vault_with(rwk, app__key=first)
        write_profile(rwk, "userns", ["/usr/bin/python3", "-B", str(root / "bots" / "inplace.py"), str(out), "KEY_FILE"],
                      keys={"KEY_FILE": {"secret": "app/key", "as": "file"}}, restart={"reload": "signal"})
        subprocess.run(["chown", "-R", "65534:65534", str(root), str(rwk.home.parent)], check=True)
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        s = Supervised(rwk, "userns", prefix=prefix)
        try:
            seen = wait_until(lambda: lines(out), 15, "the bot's first read")
            assert seen[0]["value"] == first, seen
            assert os.readlink(f"/proc/{seen[0]['pid']}/ns/user") != os.readlink("/proc/self/ns/user")
            v2 = rwk.secret(24)
            r = subprocess.run([*prefix, *rwk.argv("rotate", "app/key")], input=v2.encode(), env=rwk.env(),
                               cwd=root, capture_output=True, timeout=30)
            assert r.returncode == 0, r.stderr
            last = wait_until(lambda: (lambda l: l[-1] if l[-1]["value"] == v2 else None)(lines(out)), 10, "the new value")
            assert last["pid"] == seen[0]["pid"] and last["signals"] == 1
        finally:
            s.cleanup()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(rwk.home.parent, ignore_errors=True)
