"""Nothing outlives the supervisor (issue 9): the bot runs as PID 2 of its own
PID namespace, whose init dies with the supervisor, and the kernel kills every
process of a namespace whose init is gone. These tests SIGKILL the supervisor
(as the OOM killer or a container runtime would) and look for survivors. As
root, the init outlives the bot's restarts (issue 14): restarted bots start in
the same namespace, after what the last one left is gone."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import RWK_BIN, Rwk
from supervise_helpers import (Supervised, alive, bot, bot_children, children, comm, read_json,  # noqa: F401
                               supervise, vault_with, wait_until, write_profile)

ROOT = os.geteuid() == 0
SETPRIV = shutil.which("setpriv")
NOBODY = 65534


def holders(value: str) -> list[int]:
    """Every live process whose environment holds `value`."""
    needle = value.encode()
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            try:
                if needle in Path(f"/proc/{d}/environ").read_bytes() and alive(int(d)):
                    out.append(int(d))
            except OSError:
                pass
    return out


def spread_out(rwk: Rwk, state: Path, sandbox: dict | None = None, command: list | None = None) -> str:
    """A vault with one key and the profile "tree" for the tree bot; returns the key."""
    value = rwk.secret()
    vault_with(rwk, app__key=value)
    write_profile(rwk, "tree", command or bot("tree", state), keys={"APP_KEY": "app/key"}, sandbox=sandbox)
    return value


def nspid(pid: int) -> int:
    """The pid of `pid` in its own (innermost) PID namespace."""
    line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("NSpid:"))
    return int(line.split()[-1])


def kill_supervisor_and_watch(s: Supervised, info: dict, value: str) -> float:
    """SIGKILLs the supervisor; returns how long until no process of the bot's
    tree is left alive and none holds the key (at most 5 s of waiting)."""
    tree = [info["pid"], info["child"], info["setsid"], info["orphan"]]
    assert all(alive(p) for p in tree), tree
    assert set(holders(value)) >= set(tree), "the bot's processes should hold the key before the kill"
    t0 = time.monotonic()
    os.kill(s.pid, signal.SIGKILL)
    deadline = t0 + 5
    while time.monotonic() < deadline and (any(alive(p) for p in tree) or holders(value)):
        time.sleep(0.01)
    took = time.monotonic() - t0
    print(f"\ntree gone {took * 1000:.0f} ms after the supervisor's SIGKILL")
    left = [p for p in tree if alive(p)] + holders(value)
    for p in left:   # never leave a keyed process behind, even when the test fails
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, f"survivors after {took:.2f}s: {left}"
    return took


@pytest.mark.skipif(not ROOT, reason="needs root: a PID namespace for the bot needs CAP_SYS_ADMIN")
def test_sigkilled_supervisor_takes_the_whole_tree_with_it(rwk, supervise, tmp_path):
    state = tmp_path / "tree.json"
    value = spread_out(rwk, state)
    s = supervise("tree")
    info = wait_until(lambda: read_json(state), 15, "the bot's report")
    assert s.wait_event("start")["pid"] == info["pid"]
    # supervisor -> rwk-init (PID 1 inside), and the bot (PID 2 inside) started into its namespace
    kids = children(s.pid)
    (init,) = [p for p in kids if comm(p) == "rwk-init"]
    assert set(kids) == {init, info["pid"]}, {p: comm(p) for p in kids}
    assert os.readlink(f"/proc/{info['pid']}/ns/pid") == os.readlink(f"/proc/{init}/ns/pid")
    assert os.readlink(f"/proc/{init}/ns/pid") != os.readlink("/proc/self/ns/pid")
    assert nspid(init) == 1 and nspid(info["pid"]) == 2
    # The init is a fresh image of our own executable, not a copy of the supervisor:
    # its own argv, no environment, and no fd but its socket, signalfd and the bot's pidfd.
    assert os.stat(f"/proc/{init}/exe") == os.stat(RWK_BIN)
    assert Path(f"/proc/{init}/cmdline").read_bytes() == b"rwk-init\0--keeper\0"
    assert Path(f"/proc/{init}/environ").read_bytes() == b""
    fds = {int(fd): os.readlink(f"/proc/{init}/fd/{fd}") for fd in os.listdir(f"/proc/{init}/fd")}
    assert sorted(fds) == [0, 1, 2] and fds[0].startswith("socket:"), fds
    assert "signalfd" in fds[1] and "pidfd" in fds[2], fds
    # Every signal blocked (SIGCHLD is read from the signalfd), none ignored: not the
    # supervisor's SIGPIPE, nor what our parent may have ignored.
    status = dict(l.split(":\t", 1) for l in Path(f"/proc/{init}/status").read_text().splitlines() if ":\t" in l)
    assert int(status["SigIgn"], 16) == 0, status["SigIgn"]
    took = kill_supervisor_and_watch(s, info, value)
    assert took < 1.0, f"the tree took {took:.2f}s to die"


@pytest.mark.skipif(not ROOT or shutil.which("unshare") is None, reason="needs root and unshare: a mount namespace")
def test_the_init_starts_where_there_is_no_dev_null(rwk, tmp_path):
    """The persistent init is exec'd securely (another real gid), for which glibc opens
    /dev/null in place of a closed fd 0, 1 or 2, and aborts where there is none. With
    an empty /dev (a tmpfs over it, in a mount namespace of its own) the bot still runs
    in its namespace and its exit code comes back."""
    vault_with(rwk, app__key=rwk.secret(16))
    marker = tmp_path / "ran"
    write_profile(rwk, "nodev", ["/bin/sh", "-c", f"echo $$ > {marker}; exit 7"], keys={"APP_KEY": "app/key"})
    script = f'mount -t tmpfs none /dev && exec {RWK_BIN} run nodev'
    res = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], env=rwk.env(),
                         cwd=rwk.root, capture_output=True, timeout=30)
    assert res.returncode == 7, res.stderr.decode()
    assert marker.read_text().strip() == "2", "the bot is PID 2 of its namespace"


@pytest.mark.skipif(not ROOT or SETPRIV is None, reason="needs root (to become an unprivileged user) and setpriv")
def test_unprivileged_supervisor_contains_the_tree_with_a_user_namespace(supervise):
    """The same for a user without privileges: the bot gets a user + PID namespace."""
    root = Path(tempfile.mkdtemp(prefix="rwk-userns-"))
    try:
        rwk = Rwk(root)
        state = root / "out" / "tree.json"
        state.parent.mkdir()
        # The test's own Python may live where nobody can't reach (pyenv under /root).
        bots = root / "bots"
        shutil.copytree(Path(__file__).parent / "supbots", bots)
        value = spread_out(rwk, state, command=["/usr/bin/python3", "-B", str(bots / "tree.py"), str(state)])
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(root), str(rwk.home.parent)], check=True)
        prefix = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        check = subprocess.run([*prefix, *rwk.argv("check", "tree", "--json")], env=rwk.env(), cwd=root,
                               capture_output=True, timeout=30)
        assert check.returncode == 0, check.stderr.decode()
        s = Supervised(rwk, "tree", prefix=prefix)
        try:
            info = wait_until(lambda: read_json(state), 15, "the bot's report")
            assert os.stat(f"/proc/{info['pid']}").st_uid == NOBODY
            kids = children(s.pid)
            assert [comm(p) for p in kids] == ["rwk-init"], {p: comm(p) for p in kids}
            user_ns = os.readlink(f"/proc/{info['pid']}/ns/user")
            assert user_ns != os.readlink("/proc/self/ns/user"), "expected a user namespace for the bot"
            took = kill_supervisor_and_watch(s, info, value)
            assert took < 1.0, f"the tree took {took:.2f}s to die"
        finally:
            s.cleanup()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(rwk.home.parent, ignore_errors=True)


def test_without_a_pid_namespace_a_setsid_descendant_survives(rwk, supervise, tmp_path):
    """pid_namespace = false is the first generation's behaviour, and shows why
    the namespace exists: the parent-death signal reaches the bot only."""
    state = tmp_path / "tree.json"
    value = spread_out(rwk, state, sandbox={"pid_namespace": False})
    s = supervise("tree")
    info = wait_until(lambda: read_json(state), 15, "the bot's report")
    assert info["pid"] in children(s.pid)   # the bot is the supervisor's own child
    os.kill(s.pid, signal.SIGKILL)
    try:
        wait_until(lambda: not alive(info["pid"]), 5, "the bot's parent-death signal")
        time.sleep(0.3)
        assert alive(info["setsid"]) and alive(info["orphan"])
        assert info["setsid"] in holders(value)
    finally:
        for p in (info["child"], info["setsid"], info["orphan"]):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_stop_reaches_every_process_of_the_namespace_once(rwk, supervise, tmp_path):
    """SIGTERM to the supervisor: the init signals the whole namespace with one
    kill(-1), so the setsid'd and orphaned sleepers stop as well, and the
    supervisor exits with the bot's code once they are gone."""
    state = tmp_path / "tree.json"
    spread_out(rwk, state)
    s = supervise("tree")
    info = wait_until(lambda: read_json(state), 15, "the bot's report")
    s.signal(signal.SIGTERM)
    assert s.wait(10) == 128 + signal.SIGTERM
    assert s.count("kill") == 0, s.stderr_text()     # no SIGKILL was needed
    assert not any(alive(p) for p in (info["pid"], info["child"], info["setsid"], info["orphan"]))


NO_PIDNS = [sys.executable, str(Path(__file__).resolve().parent / "tools" / "no_landlock.py"), "--no-pid-namespace"]


def test_check_shows_the_tree_containment(rwk, tmp_path):
    spread_out(rwk, tmp_path / "tree.json")
    r = rwk.run("check", "tree", "--json")
    assert r.returncode == 0, r.stderr
    tree = json.loads(r.stdout)["containment"]["tree"]
    assert tree["active"] is True and "namespace" in tree["detail"], tree


def test_a_host_without_pid_namespaces_warns_and_require_refuses(rwk, tmp_path):
    """Where no PID namespace can be made (here: a seccomp filter refuses the
    clone flags, as a locked-down container does), check and run say so in one
    warning with a hint, and `require = ["tree"]` stops the launch: exit 125,
    no child started."""
    spread_out(rwk, tmp_path / "tree.json")
    check = subprocess.run([*NO_PIDNS, *rwk.argv("check", "tree")], env=rwk.env(), cwd=rwk.root,
                           capture_output=True, timeout=30)
    assert check.returncode == 0, check.stderr
    warnings = [l for l in check.stderr.decode().splitlines() if l.startswith("run-with-keys: warning:")]
    assert len(warnings) == 1 and "process-tree containment is off" in warnings[0], check.stderr
    assert b"run-with-keys: hint:" in check.stderr

    # run, as root, takes the PID namespace without a probe; the refused clone is
    # the probe: the bot starts without it, with the same warning, once
    loose = tmp_path / "loose"
    write_profile(rwk, "loose", ["/bin/sh", "-c", f"touch {loose}"], keys={"APP_KEY": "app/key"})
    run = subprocess.run([*NO_PIDNS, *rwk.argv("run", "loose")], env=rwk.env(), cwd=rwk.root,
                         capture_output=True, timeout=30)
    assert run.returncode == 0 and loose.exists(), run.stderr
    warned = [l for l in run.stderr.decode().splitlines() if "warning: process-tree containment is off" in l]
    assert len(warned) == 1, run.stderr

    marker = tmp_path / "started"
    write_profile(rwk, "strict", ["/bin/sh", "-c", f"touch {marker}"], keys={"APP_KEY": "app/key"},
                  sandbox={"require": ["tree"]})
    run = subprocess.run([*NO_PIDNS, *rwk.argv("run", "strict")], env=rwk.env(), cwd=rwk.root,
                         capture_output=True, timeout=30)
    assert run.returncode == 125, run.stderr
    err = run.stderr.decode().splitlines()
    assert err[0].startswith("run-with-keys: error: process-tree containment is required"), err
    assert not marker.exists(), "the bot was started"


RESTARTS = {"policy": "on-failure", "delay": "0s", "max_delay": "0s", "burst": 3, "interval": "1h"}


def ns_report(out: Path) -> str:
    """A shell bot line: its PID namespace and its pid inside."""
    return f'echo "$(readlink /proc/self/ns/pid) $$" >> {out}'


@pytest.mark.skipif(not ROOT, reason="needs root: a PID namespace for the bot needs CAP_SYS_ADMIN")
def test_restarted_bots_start_in_the_same_namespace(rwk, tmp_path):
    """One init per run, not per start: each restart starts the bot into the
    namespace of the first, as a new process there (PID 2 first, higher later)."""
    out = tmp_path / "ns.txt"
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "again", ["/bin/sh", "-c", f"{ns_report(out)}; exit 3"], keys={"APP_KEY": "app/key"},
                  restart=RESTARTS)
    r = rwk.run("run", "again")
    assert r.returncode == 3, r.stderr
    assert r.stderr.decode().count("restart in 0 ms") == 2, r.stderr
    lines = [l.split() for l in out.read_text().splitlines()]
    assert len(lines) == 3, lines
    namespaces = {l[0] for l in lines}
    assert len(namespaces) == 1 and lines[0][0] != os.readlink("/proc/self/ns/pid"), lines
    inner = [int(l[-1]) for l in lines]
    assert inner[0] == 2 and inner == sorted(set(inner)), inner


@pytest.mark.skipif(not ROOT, reason="needs root: a PID namespace for the bot needs CAP_SYS_ADMIN")
def test_what_a_bot_leaves_behind_is_stopped_before_the_restart(rwk, tmp_path):
    """The init reports the namespace busy after the bot's exit: the leftover
    gets the stop signal, and the next bot starts only once it is gone."""
    out = tmp_path / "order.txt"
    vault_with(rwk, app__key=rwk.secret())
    leftover = f'(trap "echo leftover-stopped >> {out}; exit 0" TERM; sleep 30 & wait) &'
    write_profile(rwk, "leaves", ["/bin/sh", "-c", f"echo start >> {out}; {leftover} sleep 0.2; exit 3"],
                  keys={"APP_KEY": "app/key"}, restart=RESTARTS)
    r = rwk.run("run", "leaves", timeout=60)
    assert r.returncode == 3, r.stderr
    assert out.read_text().split() == ["start", "leftover-stopped"] * 3, out.read_text()
    assert b"killing" not in r.stderr, r.stderr    # the stop signal was enough


@pytest.mark.skipif(not ROOT, reason="needs root: a PID namespace for the bot needs CAP_SYS_ADMIN")
def test_a_killed_init_is_replaced_at_the_next_start(rwk, supervise, tmp_path):
    """SIGKILL to the init from outside takes its namespace and the bot with it;
    the restart makes a new init and namespace."""
    out = tmp_path / "ns.txt"
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "sturdy", ["/bin/sh", "-c", f"{ns_report(out)}; exec sleep 60"], keys={"APP_KEY": "app/key"},
                  restart=RESTARTS)
    s = supervise("sturdy")
    wait_until(lambda: out.exists() and len(out.read_text().splitlines()) == 1, 15, "the first bot")
    (init,) = [p for p in children(s.pid) if comm(p) == "rwk-init"]
    os.kill(init, signal.SIGKILL)
    wait_until(lambda: len(out.read_text().splitlines()) == 2, 15, "the restarted bot")
    first, second = (l.split() for l in out.read_text().splitlines())
    assert first[0] != second[0] and int(second[-1]) == 2, (first, second)
    assert s.of("exit")[0]["status"] == "killed by signal 9", s.of("exit")
    (new_init,) = wait_until(lambda: [p for p in children(s.pid) if comm(p) == "rwk-init"] or None, 5, "a new init")
    assert new_init != init
    s.signal(signal.SIGTERM)
    assert s.wait(10) == 128 + signal.SIGTERM


CLONE_PARENT_BOT = r'''
import ctypes, os, signal, sys, time
out = sys.argv[1]
def note(what):
    with open(out, "a") as f:
        f.write(what + "\n")
note("start")
clone = {"x86_64": 56, "aarch64": 220}[os.uname().machine]
# clone(CLONE_PARENT | SIGCHLD) on our stack, like fork: the child's parent is ours (the supervisor)
if ctypes.CDLL(None).syscall(clone, 0x8000 | 17, 0, 0, 0, 0) == 0:
    signal.signal(signal.SIGTERM, lambda *_: (note("leftover-stopped"), os._exit(0)))
    time.sleep(30)
    os._exit(0)
time.sleep(0.2)
sys.exit(3)
'''


@pytest.mark.skipif(not ROOT, reason="needs root: a PID namespace for the bot needs CAP_SYS_ADMIN")
def test_a_process_the_bot_gives_our_parentage_is_stopped_before_the_restart(rwk, tmp_path):
    """clone(CLONE_PARENT) makes the supervisor the parent of a process in the
    bot's namespace, out of the init's sight: the supervisor counts its own
    children too, so it is stopped before the next bot, as any leftover is."""
    out = tmp_path / "order.txt"
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "sibling", [sys.executable, "-c", CLONE_PARENT_BOT, str(out)], keys={"APP_KEY": "app/key"},
                  restart=RESTARTS)
    r = rwk.run("run", "sibling", timeout=60)
    assert r.returncode == 3, r.stderr
    assert out.read_text().split() == ["start", "leftover-stopped"] * 3, out.read_text()


@pytest.mark.skipif(not ROOT, reason="needs root: a PID namespace for the bot needs CAP_SYS_ADMIN")
def test_an_init_that_never_answers_is_killed_after_stop_timeout(rwk, supervise, tmp_path):
    """An init stopped from outside can't say whether its namespace is empty:
    after stop_timeout the supervisor kills it (and the namespace) and goes on."""
    out = tmp_path / "ns.txt"
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "stuck", ["/bin/sh", "-c", f"{ns_report(out)}; exec sleep 60"], keys={"APP_KEY": "app/key"},
                  restart={**RESTARTS, "stop_timeout": "1s"})
    s = supervise("stuck")
    wait_until(lambda: out.exists() and len(out.read_text().splitlines()) == 1, 15, "the first bot")
    (init,) = [p for p in children(s.pid) if comm(p) == "rwk-init"]
    os.kill(init, signal.SIGSTOP)
    t0 = time.monotonic()
    os.kill(s.bot_pid(), signal.SIGKILL)
    wait_until(lambda: len(out.read_text().splitlines()) == 2, 15, "the restarted bot")
    took = time.monotonic() - t0
    first, second = (l.split() for l in out.read_text().splitlines())
    assert first[0] != second[0], "a new init and namespace"
    assert 0.9 < took < 5, took
    s.signal(signal.SIGTERM)
    assert s.wait(10) == 128 + signal.SIGTERM
