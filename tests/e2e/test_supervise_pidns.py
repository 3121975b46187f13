"""The supervisor as PID 1 of a new PID namespace (`unshare --pid --fork`): it
reaps orphans, honours SIGTERM sent from outside, and returns the bot's code."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

from conftest import RWK_BIN, popen_retry
from supervise_helpers import (bot, children, read_json, supervise, vault_with, wait_until,  # noqa: F401
                               write_profile)

UNSHARE = shutil.which("unshare")

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or UNSHARE is None,
                                reason="needs root and unshare(1) for a new PID namespace")


def rwk_child_of(pid: int) -> int:
    """The run-with-keys process unshare forked (pid in our namespace)."""
    def find():
        for p in children(pid):
            try:
                if os.readlink(f"/proc/{p}/exe") == os.path.realpath(RWK_BIN):
                    return p
            except OSError:
                pass
        return None
    return wait_until(find, 10, "run-with-keys under unshare")


def test_pid1_reaps_orphans_and_honours_sigterm(rwk, supervise, tmp_path):
    vault_with(rwk, app__key=rwk.secret())
    state = tmp_path / "ns.json"
    write_profile(rwk, "ns", bot("orphans", state, 20, 5), keys={"APP_KEY": "app/key"})
    s = supervise("ns", prefix=[UNSHARE, "--pid", "--fork", "--mount-proc"])
    info = wait_until(lambda: read_json(state), 20, "the bot's /proc report")
    procs = info["procs"]
    zombies = [p for p in procs if p[1] == "Z"]
    assert not zombies, f"zombies in the namespace after 1 s: {zombies}"
    by_pid = {p[0]: p for p in procs}
    assert by_pid[1][3] == "run-with-keys", procs      # the supervisor is PID 1
    assert by_pid[info["pid"]][2] == 1, procs          # the bot is its child
    assert len(procs) == 2, f"orphans left after 1 s: {procs}"
    assert s.wait_event("start")["pid"] == info["pid"]

    sup = rwk_child_of(s.pid)
    os.kill(sup, signal.SIGTERM)
    assert s.wait(10) == 9        # the bot's code, through unshare
    assert s.count("stop") == 1


def test_pid1_without_mount_proc(rwk, tmp_path):
    """`unshare --pid --fork` without --mount-proc (docs/ARCHITECTURE.md, "Supervise"): /proc still shows the
    outer namespace, whose pid numbers mean nothing inside. The supervisor must
    still notice that the bot's tree is gone and exit with the bot's code, and
    must not signal outside processes. Run inside an outer namespace with its own
    /proc, so that a wrong kill can't reach anything of the host."""
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "short", ["/bin/sh", "-c", "sleep 0.3; exit 4"], keys={"APP_KEY": "app/key"})
    script = tmp_path / "outer.sh"
    script.write_text(f"""
sleep 100 &
SENTINEL=$!
timeout -s KILL 10 {UNSHARE} --pid --fork {RWK_BIN} run short
echo "inner=$?"
kill -0 $SENTINEL && echo sentinel-alive
kill $SENTINEL
""")
    p = popen_retry([UNSHARE, "--pid", "--fork", "--mount-proc", "/bin/sh", str(script)], env=rwk.env(),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=rwk.root, start_new_session=True)
    out, err = p.communicate(timeout=30)
    out = out.decode()
    assert "inner=4" in out, f"stdout:\n{out}\nstderr:\n{err.decode(errors='replace')}"
    assert "sentinel-alive" in out


def test_pid1_without_mount_proc_stops_the_whole_tree(rwk, tmp_path):
    """Same, with a setsid'd grandchild that ignores SIGTERM: SIGTERM to the
    supervisor (PID 1 inside) stops the bot and SIGKILLs the grandchild."""
    vault_with(rwk, app__key=rwk.secret())
    state = tmp_path / "state.json"
    write_profile(rwk, "tree", bot("stopper", state, "trap:6", "ignore"), keys={"APP_KEY": "app/key"},
                  restart={"stop_timeout": "300ms"})
    script = tmp_path / "outer.sh"
    script.write_text(f"""
sleep 100 &
SENTINEL=$!
{UNSHARE} --pid --fork {RWK_BIN} run tree &
U=$!
i=0; while [ ! -s {state} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
G=$(sed 's/.*"grandchild": \\([0-9]*\\).*/\\1/' {state})
echo "ready grandchild-ns-pid=$G"
kill -TERM $(pgrep -P $U)
wait $U
echo "inner=$?"
pgrep -x sleep | grep -v "^$SENTINEL\\$" | sed 's/^/left-over-sleep=/'
kill -0 $SENTINEL && echo sentinel-alive
kill $SENTINEL
""")
    p = popen_retry([UNSHARE, "--pid", "--fork", "--mount-proc", "/bin/sh", str(script)], env=rwk.env(),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=rwk.root, start_new_session=True)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
    out = out.decode()
    msg = f"stdout:\n{out}\nstderr:\n{err.decode(errors='replace')}"
    assert "ready" in out and "inner=6" in out, msg
    assert "left-over-sleep" not in out, msg
    assert "sentinel-alive" in out, msg


SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(SETPRIV is None, reason="needs setpriv(1) to drop CAP_SYS_ADMIN")
def test_root_without_cap_sys_admin_falls_back_from_the_assumed_pid_namespace(rwk, tmp_path):
    """As root, a launch takes a PID namespace without probing (TreeSupport.resolve):
    the first spawn is the probe. Without CAP_SYS_ADMIN (a container's root, a
    unit's CapabilityBoundingSet=) that clone is refused: the launch falls back to
    what the probe finds, the same as `check` shows, and the bot starts in a user +
    PID namespace of its own, or, where none can be made, with the warning."""
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "nocap", ["/bin/sh", "-c", "echo pid=$$ ns=$(readlink /proc/self/ns/pid)"],
                  keys={"APP_KEY": "app/key"})
    drop = [SETPRIV, "--bounding-set", "-sys_admin", "--"]
    check = subprocess.run(drop + [RWK_BIN, "check", "nocap"], env=rwk.env(), capture_output=True, timeout=30, cwd=rwk.root)
    assert check.returncode == 0, check.stderr.decode()
    tree = next(line for line in check.stdout.decode().splitlines() if line.strip().startswith("tree "))
    run = subprocess.run(drop + [RWK_BIN, "run", "nocap"], env=rwk.env(), capture_output=True, timeout=30, cwd=rwk.root)
    out, err = run.stdout.decode(), run.stderr.decode()
    assert run.returncode == 0, err
    ours = os.readlink("/proc/self/ns/pid")
    if "own user + PID namespace" in tree:
        assert "pid=2 " in out and f"ns={ours}" not in out, out   # the init's child, in a namespace of its own
        assert "warning" not in err, err
    else:
        assert "only the parent-death signal" in tree, tree
        assert f"ns={ours}" in out, out
        assert "can't create a PID namespace here" in err, err
