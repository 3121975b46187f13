"""`run-with-keys demo`: the whole job on an embedded default, with no set-up;
exits 0 on a fresh home and leaves nothing behind."""
from __future__ import annotations

import re

from conftest import snapshot
from launch_helpers import stderr_text


def test_demo_runs_on_a_fresh_home_and_leaves_nothing(rwk, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    assert not rwk.home.exists()
    res = rwk.run("demo", env={"TMPDIR": tmp, "RUN_WITH_KEYS_IDENTITY": rwk.inputs / "nope"}, timeout=60)
    assert res.returncode == 0, stderr_text(res)
    out = res.stdout.decode()
    assert re.search(r"bot: I got DEMO_KEY; its sha256 starts with [0-9a-f]{16}\n", out), out
    assert "printed in full: [redacted:demo/key]" in out
    assert "sealed in-memory file: /proc/self/fd/" in out and "(64 bytes)" in out
    assert re.search(r"reading \S+/identity.txt failed: Permission denied", out), out
    assert not re.search(r"[0-9a-f]{64}", out + res.stderr.decode()), "the key's value was printed"
    assert "started" in res.stderr.decode() and "exited with code 0" in res.stderr.decode()
    # nothing behind: the throwaway directory is gone, the user's home untouched
    assert list(tmp.iterdir()) == []
    assert not rwk.home.exists()
    assert snapshot(rwk.userhome) == {}
