"""Guarded memory that can't be locked is said, not silent: with RLIMIT_MEMLOCK
at 0 a non-root launch warns that the keys may reach swap, and still runs."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import RWK_BIN


@pytest.fixture
def open_dir(scratch_dir):
    """A directory other users can traverse (pytest's tmp_path is under a 0700 parent)."""
    return scratch_dir("rwk-memlock-", mode=0o755)


def test_memlock_limit_too_small_warns(open_dir):
    if os.geteuid() != 0:
        pytest.skip("needs root: runs the launch as nobody (root's CAP_IPC_LOCK ignores the limit)")
    if not shutil.which("setpriv") or not shutil.which("prlimit"):
        pytest.skip("needs util-linux setpriv and prlimit")
    base = open_dir / "mlk"
    base.mkdir()
    binary = base / "rwk"
    shutil.copy(RWK_BIN, binary)
    os.chown(base, 65534, 65534)
    home = base / "h"

    def as_nobody(*argv, memlock=None, input=None):
        pre = ["prlimit", f"--memlock={memlock}:{memlock}"] if memlock is not None else []
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *pre, str(binary), "--home", str(home), *argv]
        return subprocess.run(cmd, input=input, capture_output=True, timeout=60, cwd=base,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(base), "LANG": "C.UTF-8"})

    assert as_nobody("init").returncode == 0
    assert as_nobody("set", "app/key", input=b"abcdefgh12345").returncode == 0
    profiles = home / "profiles"
    profiles.mkdir(mode=0o700)
    (profiles / "p.toml").write_text('command = ["/bin/true"]\n[keys]\nK = "app/key"\n')
    os.chown(profiles, 65534, 65534)
    os.chown(profiles / "p.toml", 65534, 65534)
    os.chmod(profiles / "p.toml", 0o600)
    low = as_nobody("p", memlock=0)
    assert low.returncode == 0, low.stderr
    assert b"could not all be locked in memory" in low.stderr and b"ulimit -l" in low.stderr
    assert b"abcdefgh12345" not in low.stderr + low.stdout
    normal = as_nobody("p")
    assert normal.returncode == 0, normal.stderr
    assert b"locked in memory" not in normal.stderr
