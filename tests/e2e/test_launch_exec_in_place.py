"""Exec in place: a profile that needs no supervisor (restart policy "no",
redact off, reload "none", no_exec off, no PID namespace) runs with no
supervisor process: run-with-keys becomes the bot. `check` names the path;
`run --exec` forces it or says which setting needs a supervisor."""
from __future__ import annotations

import hashlib
import json

from launch_helpers import PY, assert_error, launch, stderr_text  # noqa: F401

# Prints its pid, its parent's pid and the SHA-256 of APP_KEY (never the value).
SHOW = "import os, hashlib; print(os.getpid(), os.getppid(), hashlib.sha256(os.environ['APP_KEY'].encode()).hexdigest())"
FAST = dict(restart={"policy": "no"}, output={"redact": False}, sandbox={"pid_namespace": False})


def show(launch, name, **sections):
    value = launch.secret("app/key")
    p = launch.profile(name, [PY, "-c", SHOW], keys={"APP_KEY": "app/key"}, **sections)
    return p, hashlib.sha256(value.encode()).hexdigest()


def started(launch, digest, *argv, env=None):
    """Runs `run-with-keys *argv` and returns (its pid, the bot's pid, key ok, result)."""
    proc = launch.rwk.popen(*argv, env=env)
    res = launch.finish(proc)
    assert res.returncode == 0, stderr_text(res)
    pid, _ppid, got = res.stdout.decode().split()
    return proc.pid, int(pid), got == digest, res


def test_check_names_the_launch_path(launch):
    fast, _ = show(launch, "fast", **FAST)
    res = launch.check(fast)
    assert res.returncode == 0, stderr_text(res)
    assert "launch:   exec in place (no supervisor process)\n" in res.stdout.decode()
    default, _ = show(launch, "default", restart={"policy": "on-failure"})
    res = launch.check(default)
    line = next(l for l in res.stdout.decode().splitlines() if l.startswith("launch:"))
    assert line.startswith("launch:   supervised: ")
    for reason in ("restart policy on-failure", "redact = true"):
        assert reason in line, line
    j = json.loads(launch.check(fast, "--json").stdout)
    assert j["launch"] == {"path": "exec", "supervisor_needed_for": []}
    j = json.loads(launch.check(default, "--json").stdout)
    assert j["launch"]["path"] == "supervised" and len(j["launch"]["supervisor_needed_for"]) >= 2


def test_fast_profile_execs_in_place(launch):
    p, digest = show(launch, "fast", **FAST)
    ours, bot, key_ok, _ = started(launch, digest, "run", str(p))
    assert key_ok
    assert bot == ours, "the bot should be run-with-keys' own process, with no supervisor"


def test_supervised_profile_keeps_a_supervisor(launch):
    p, digest = show(launch, "sup", restart={"policy": "no"})   # redact stays on
    ours, bot, key_ok, _ = started(launch, digest, "run", str(p))
    assert key_ok
    assert bot != ours


def test_exit_code_and_launch_log_start_record(launch):
    p = launch.profile("code", ["/bin/sh", "-c", "exit 7"], **FAST)
    res = launch.run(p)
    assert res.returncode == 7, stderr_text(res)
    records = [json.loads(l) for l in (launch.rwk.home / "launches.log").read_text().splitlines()]
    assert [r["event"] for r in records] == ["start"], "exec in place writes the start record only"


def test_run_exec_refuses_a_profile_that_needs_a_supervisor(launch):
    marker = launch.out / "started"
    p = launch.profile("needs", ["/bin/sh", "-c", f"touch {marker}"], output={"redact": False},
                       restart={"policy": "on-failure"})
    res = launch.rwk.run("run", "--exec", str(p))
    assert_error(res, 125, "needs a supervisor", "restart policy on-failure")
    assert not marker.exists(), "the bot must not start"


def test_run_exec_drops_an_unrequired_pid_namespace(launch):
    p, digest = show(launch, "ns", restart={"policy": "no"}, output={"redact": False})   # pid_namespace defaults to true
    out = launch.check(p).stdout.decode()
    if "supervised: pid_namespace" not in out:
        assert "exec in place" in out   # no PID namespace here: nothing to drop
    ours, bot, key_ok, _ = started(launch, digest, "run", "--exec", str(p))
    assert key_ok and bot == ours


def test_run_exec_refuses_a_required_pid_namespace(launch):
    p = launch.profile("req", ["/bin/true"], restart={"policy": "no"}, output={"redact": False},
                       sandbox={"require": ["tree"]})
    res = launch.check(p)
    if res.returncode != 0:
        return  # this machine can't contain the tree at all: check already refuses it
    res = launch.rwk.run("run", "--exec", str(p))
    assert_error(res, 125, "needs a supervisor", "pid_namespace")


def test_timing_hooks_are_off_by_default_and_on_with_rwk_timing(launch):
    fast, digest = show(launch, "fast", **FAST)
    sup, _ = show(launch, "sup", restart={"policy": "no"})
    for p, last in ((fast, "exec in place"), (sup, "spawn")):
        _, _, _, res = started(launch, digest, "run", str(p))
        assert b"rwk-timing" not in res.stderr
        _, _, _, res = started(launch, digest, "run", str(p), env={"RWK_TIMING": "1"})
        stages = [l.split()[1:-2] for l in res.stderr.decode().splitlines() if l.startswith("rwk-timing: ")]
        names = [" ".join(s) for s in stages]
        assert names[0] == "main" and "vault decrypt" in names and last in names, names


def test_systemd_notify_or_a_stop_signal_keeps_the_supervisor(launch):
    # Under Type=notify the supervisor sends READY=1 and watchdog pings: a bot
    # exec'd in place would leave the unit to time out. stop_signal is the
    # supervisor's translation of SIGTERM.
    p, digest = show(launch, "notify", **FAST)
    env = {"NOTIFY_SOCKET": str(launch.out / "notify.sock")}   # added to the clean environment
    ours, bot, key_ok, _ = started(launch, digest, "run", str(p), env=env)
    assert key_ok and bot != ours, "with NOTIFY_SOCKET set the supervisor must stay"
    line = next(l for l in launch.check(p, env=env).stdout.decode().splitlines() if l.startswith("launch:"))
    assert "NOTIFY_SOCKET is set" in line, line
    q, digest = show(launch, "stopsig", restart={"policy": "no", "stop_signal": "SIGINT"},
                     output={"redact": False}, sandbox={"pid_namespace": False})
    ours, bot, key_ok, _ = started(launch, digest, "run", str(q))
    assert key_ok and bot != ours, "a stop_signal other than SIGTERM needs the supervisor"
