"""A launch must not spread the secret: not into run-with-keys' own argv or
environment, not into any file written during the run, not into `check`'s
output, not into the bot's relayed output (redaction), and not into the
supervisor's readable memory while the bot idles."""
from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from launch_helpers import PY, bot, launch, stderr_text, wait_for  # noqa: F401

MAX_SCAN = 16 << 20


def files_changed_since(root: Path, since_ns: int):
    for dirpath, dirnames, filenames in os.walk(root):
        for f in filenames:
            path = Path(dirpath) / f
            try:
                st = path.lstat()
            except OSError:
                continue
            if path.is_symlink() or not path.is_file() or st.st_size > MAX_SCAN:
                continue
            if st.st_mtime_ns >= since_ns or st.st_ctime_ns >= since_ns:
                yield path


def read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def readable_memory(pid: int):
    """Every readable mapping of `pid` (root, or the same uid and dumpable)."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            perms = fields[1]
            name = fields[5] if len(fields) > 5 else ""
            if "r" not in perms or name in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
                continue
            if name.startswith("/") and "w" not in perms:
                continue  # read-only file mappings: code and constants
            try:
                mem.seek(start)
                yield name, mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                continue


def test_secret_stays_out_of_argv_environ_files_and_output(launch):
    value = launch.secret("app/key")
    ready = launch.out / "ready"
    p = launch.profile("leak", [PY, bot("idle.py"), str(ready)],
                       keys={"LEAK_ME": "app/key", "LEAK_FILE": {"secret": "app/key", "as": "file"}})
    since = time.time_ns() - 1_000_000_000
    proc = launch.start(p)
    try:
        wait_for(ready.exists, what="the bot to start")
        me = Path(f"/proc/{proc.pid}")
        assert value.encode() not in (me / "cmdline").read_bytes()
        environ = read_or_none(me / "environ")
        if environ is not None:   # unreadable (non-dumpable, other uid) is fine too
            assert value.encode() not in environ
        assert b"RUN_WITH_KEYS_HOME" in (environ or b"RUN_WITH_KEYS_HOME")
        # The bot itself: argv is clean (the value is in its environment, by design).
        # As root the PID namespace's init is a child of ours too: its argv must be clean as well.
        kids = [int(t) for t in (me / "task" / str(proc.pid) / "children").read_text().split()]
        bots = [k for k in kids if Path(f"/proc/{k}/comm").read_text().strip() != "rwk-init"]
        assert len(bots) == 1 and len(kids) <= 2, kids
        for k in kids:
            assert value.encode() not in Path(f"/proc/{k}/cmdline").read_bytes()
    finally:
        proc.send_signal(signal.SIGTERM)
    res = launch.finish(proc)     # also asserts the value is absent from stdout/stderr
    assert res.returncode == 0, stderr_text(res)
    # The bot printed its value, split over two writes, and to stderr: both masked.
    out = res.stdout.decode()
    assert re.fullmatch(r"value=\[redacted[^\]]*\]\n", out), out
    assert "stderr value=[redacted" in stderr_text(res)

    # No file written during the run holds it: the home, the test's directory, /tmp.
    scanned = 0
    for root in {launch.rwk.root, Path("/tmp")}:
        for path in files_changed_since(root, since):
            data = read_or_none(path)
            if data is None:
                continue
            scanned += 1
            assert value.encode() not in data, f"secret value written to {path}"
    assert scanned > 0
    log = (launch.rwk.home / "launches.log").read_text()
    assert "app/key" in log and value not in log

    # `check`, text and JSON: names, never values.
    for flags in ((), ("--json",)):
        res = launch.check(p, *flags)
        assert res.returncode == 0, stderr_text(res)
        assert b"app/key" in res.stdout
        assert value.encode() not in res.stdout + res.stderr


def scan_supervisor(launch, mode: str) -> list[str]:
    """Starts an idle bot that prints its secret as `mode` says (bots/idle.py)
    and returns the supervisor's readable mappings that hold the plaintext."""
    if os.geteuid() != 0:
        pytest.skip("reading another process's memory needs root (the supervisor is non-dumpable)")
    value = launch.secret("app/key")
    ready = launch.out / "ready"
    p = launch.profile("mem", [PY, bot("idle.py"), str(ready), mode], keys={"LEAK_ME": "app/key"})
    proc = launch.start(p)
    try:
        wait_for(ready.exists, what="the bot to start")
        time.sleep(0.3)   # let the relay go idle
        hits, seen_name, scanned = [], False, 0
        for name, data in readable_memory(proc.pid):
            scanned += len(data)
            seen_name = seen_name or str(p).encode() in data
            if value.encode() in data:
                hits.append(name or "[anon]")
    finally:
        proc.send_signal(signal.SIGTERM)
        launch.finish(proc)
    # The scan works: it sees the profile path, which the supervisor does keep.
    assert seen_name and scanned > 1 << 20
    return hits


def test_supervisor_memory_has_no_plaintext_while_bot_idles(launch):
    # Decrypting, planning and spawning leave no copy behind.
    hits = scan_supervisor(launch, "quiet")
    assert hits == [], f"plaintext secret in the supervisor's readable memory: {hits}"


def test_supervisor_memory_has_no_plaintext_after_redacting(launch):
    hits = scan_supervisor(launch, "once")
    assert hits == [], f"plaintext secret in the supervisor's readable memory: {hits}"


def test_secret_split_across_two_slow_writes_is_still_redacted(launch):
    value = launch.secret("app/key")
    ready = launch.out / "ready"
    p = launch.profile("split", [PY, bot("idle.py"), str(ready), "split:0.05"], keys={"LEAK_ME": "app/key"})
    proc = launch.start(p)
    try:
        wait_for(ready.exists, what="the bot to start")
    finally:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert value.encode() not in out, "the secret reached stdout in clear"
    assert re.fullmatch(rb"value=\[redacted[^\]]*\]\n", out), out
