"""Issue 13, faults 1: input that is not a regular file is refused at once
(never a hang), and a command we run (identity_command) has a timeout and does
not wait on a background child that holds its stdout. Throwaway keys only."""
from __future__ import annotations

import os
import time

import pytest

from conftest import assert_cli_error
from launch_helpers import assert_error, launch  # noqa: F401

TOUCH = "/usr/bin/touch"


def fifo(path):
    os.mkfifo(path, 0o600)
    return path


def quick(fn, limit=15):
    """Runs fn(); it must return well before `limit` seconds (a hang raises TimeoutExpired in Rwk.run)."""
    t = time.monotonic()
    res = fn()
    assert time.monotonic() - t < limit
    return res


def test_fifo_profile_is_refused(launch):
    p = fifo(launch.dir / "fifo.toml")
    for res in (quick(lambda: launch.run(p, timeout=20)), quick(lambda: launch.check(p))):
        assert_error(res, 125, "fifo.toml", "fifo", "not a regular file", hint="regular file")


def test_fifo_seccomp_policy_is_refused(launch):
    marker = launch.out / "ran"
    pol = fifo(launch.dir / "policy.fifo")
    p = launch.profile("pol", [TOUCH, str(marker)], sandbox={"seccomp": str(pol)})
    for res in (quick(lambda: launch.run(p, timeout=20)), quick(lambda: launch.check(p))):
        assert_error(res, 125, "policy.fifo", "not a regular file")
    assert not marker.exists()


def test_fifo_template_is_refused(launch):
    tmpl = fifo(launch.dir / "conf.json.tmpl")
    p = launch.write("tmpl", f'command = ["{TOUCH}", "/nonexistent"]\n[templates]\nCONF = {{ source = "{tmpl}" }}\n')
    assert_error(quick(lambda: launch.check(p)), 125, "conf.json.tmpl", "not a regular file")


def test_fifo_vault_identity_and_inputs_are_refused(rwk):
    rwk.init()
    # --vault naming a FIFO
    v = fifo(rwk.root / "vault.fifo")
    assert_cli_error(quick(lambda: rwk.run("--vault", v, "list", timeout=20)), "vault.fifo", "not a regular file")
    # --identity naming a FIFO (a named FIFO is not /dev/stdin or /dev/fd/N)
    i = fifo(rwk.root / "identity.fifo")
    assert_cli_error(quick(lambda: rwk.run("--identity", i, "list", timeout=20)), "identity.fifo", "not a regular file")
    # set --from-file, import and exec --env-file
    f = fifo(rwk.root / "value.fifo")
    assert_cli_error(quick(lambda: rwk.run("set", "a/b", "--from-file", f, timeout=20)), "value.fifo", "not a regular file")
    assert_cli_error(quick(lambda: rwk.run("import", f, timeout=20)), "value.fifo", "not a regular file")
    assert_cli_error(quick(lambda: rwk.run("exec", "--env-file", f, "--", "/bin/true", timeout=20)),
                     "value.fifo", "not a regular file")
    # a directory as --from-file
    assert_cli_error(rwk.run("set", "a/b", "--from-file", rwk.root), "directory")
    assert rwk.names() == []


def test_from_file_accepts_process_substitution(rwk):
    """A pipe given on purpose as /dev/fd/N is read to EOF."""
    rwk.init()
    value = rwk.secret()
    r, w = os.pipe()
    os.write(w, value.encode())
    os.close(w)
    res = rwk.run("set", "a/b", "--from-file", f"/dev/fd/{r}", pass_fds=(r,))
    os.close(r)
    assert res.returncode == 0, res.stderr
    assert rwk.doc()["secrets"]["a/b"]["value"] == value


def command_env(rwk, command, timeout=None):
    env = {"RUN_WITH_KEYS_IDENTITY_COMMAND": command}
    if timeout is not None:
        env["RUN_WITH_KEYS_COMMAND_TIMEOUT"] = timeout
    rwk.identity.rename(rwk.root / "id.txt")  # so the command is the key source
    return env


def test_hanging_identity_command_times_out(rwk):
    rwk.init()
    pidfile = rwk.root / "sleeper.pid"
    env = command_env(rwk, f"echo $$ > {pidfile}; exec sleep 300", timeout="1.5")
    t = time.monotonic()
    res = rwk.run("list", env=env, timeout=30)
    took = time.monotonic() - t
    assert_cli_error(res, "identity_command", "did not finish within 1.5s", hint="RUN_WITH_KEYS_COMMAND_TIMEOUT")
    assert 1.4 < took < 10, took
    pid = int(pidfile.read_text())
    time.sleep(0.2)
    assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2], "the command survived"


def test_identity_command_with_background_child_does_not_block(rwk):
    rwk.init()
    ident = rwk.identity.read_text()
    keyfile = rwk.root / "key-copy.txt"
    keyfile.write_text(ident)
    os.chmod(keyfile, 0o600)
    # The background sleep inherits stdout (the identity pipe) and keeps it open for 300 s
    # (its stderr goes elsewhere, so that only the pipe run-with-keys reads is held).
    pidfile = rwk.root / "bg.pid"
    env = command_env(rwk, f"cat {keyfile}; sleep 300 2>/dev/null & echo $! > {pidfile}; exit 0")
    t = time.monotonic()
    try:
        res = rwk.run("list", env=env, timeout=30)
        assert res.returncode == 0, res.stderr
        assert time.monotonic() - t < 5
    finally:
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), 9)
            except ProcessLookupError:
                pass


def test_bad_timeout_setting_is_an_error(rwk):
    rwk.init()
    env = command_env(rwk, "true", timeout="soon")
    assert_cli_error(rwk.run("list", env=env), "RUN_WITH_KEYS_COMMAND_TIMEOUT", hint="seconds")


def test_fifo_launch_log_is_refused_with_a_warning(launch):
    """The launch goes on (the log is bookkeeping) with a warning, and never blocks on the FIFO."""
    launch.secret("app/key")
    log = fifo(launch.rwk.root / "launches.fifo")
    p = launch.profile("bot", ["/bin/true"], keys={"K": "app/key"})
    res = quick(lambda: launch.rwk.run("run", "--launch-log", log, p, timeout=20))
    assert res.returncode == 0, res.stderr
    assert "launches.fifo is a FIFO, not a regular file" in res.stderr.decode()
