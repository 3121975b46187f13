"""The assumed PID namespace: as root, `run` takes a PID namespace without the
probe's throwaway clone. Where it can't be made, run still takes the launch
path `check` shows (exec in place when the tree was the only reason for a
supervisor), and warns in check's words. (Found by review, 2026-11-30.)"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from supervise_helpers import vault_with, write_profile  # noqa: F401

NO_PIDNS = [sys.executable, str(Path(__file__).resolve().parent / "tools" / "no_landlock.py"), "--no-pid-namespace"]


@pytest.mark.skipif(os.geteuid() != 0, reason="the assumption is made only as root")
def test_run_takes_the_launch_path_check_shows_where_no_pid_namespace_can_be_made(rwk, tmp_path):
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "plain", ["/bin/sh", "-c", "echo pid=$$"], keys={"APP_KEY": "app/key"},
                  output={"redact": False})
    check = subprocess.run([*NO_PIDNS, *rwk.argv("check", "plain")], env=rwk.env(), cwd=rwk.root,
                           capture_output=True, timeout=30)
    assert check.returncode == 0, check.stderr
    text = check.stdout.decode()
    assert "only the parent-death signal" in text, text
    assert "exec in place (no supervisor process)" in text, text
    p = subprocess.Popen([*NO_PIDNS, *rwk.argv("run", "plain")], env=rwk.env(), cwd=rwk.root,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    # check, which probes, finds nothing that needs a supervisor: the bot is exec'd in place
    assert f"pid={p.pid}" in out.decode(), (text, out, err)


@pytest.mark.skipif(os.geteuid() != 0, reason="the assumption is made only as root")
def test_the_fallback_warns_in_the_same_words_as_before(rwk, tmp_path):
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "supervised", ["/bin/true"], keys={"APP_KEY": "app/key"})   # redact on: supervised
    run = subprocess.run([*NO_PIDNS, *rwk.argv("run", "supervised")], env=rwk.env(), cwd=rwk.root,
                         capture_output=True, timeout=30)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.decode().splitlines()
    assert any(l.startswith("run-with-keys: warning: process-tree containment is off: ") for l in lines), lines
    assert any(l.startswith("run-with-keys: hint: run as root, allow unprivileged user namespaces") for l in lines), lines
