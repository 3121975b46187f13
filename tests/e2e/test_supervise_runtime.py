"""The supervisor while the bot runs: no wake-ups when the bot is quiet, no
secret in any readable page of its memory, and systemd notifications
(READY=1, STOPPING=1, WATCHDOG=1)."""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from supervise_helpers import (bot, children, comm, ctx_switches, scan_memory, supervise, vault_with,  # noqa: F401
                               wait_until, write_profile)


def start_quiet(rwk, supervise, tmp_path, values: dict[str, str], env=None, restart=None, name="quiet"):
    vault_with(rwk, **{k.replace("/", "__"): v for k, v in values.items()})
    marker = tmp_path / "quiet.ready"
    keys = {f"K{i}": n for i, n in enumerate(values)}
    write_profile(rwk, name, bot("quiet", marker, *keys), keys=keys, restart=restart)
    s = supervise(name, env=env)
    wait_until(marker.exists, 15, "the quiet bot")
    s.wait_for(lambda: s.stdout.count(b"\n") >= len(values), 5, "the bot's output")
    return s


def test_idle_supervisor_makes_no_wakeups(rwk, supervise, tmp_path):
    s = start_quiet(rwk, supervise, tmp_path, {"app/key": rwk.secret(24)})
    assert len(os.listdir(f"/proc/{s.pid}/task")) == 1, "the supervisor is one thread"
    # let the launch log write and the output relay settle, and the one timed
    # wake-up pass: the code-page trim, 1 s after the start (CodePages.settle)
    time.sleep(1.5)
    before = ctx_switches(s.pid)
    time.sleep(10)
    after = ctx_switches(s.pid)
    print(f"\nidle 10 s: voluntary {before[0]} -> {after[0]}, nonvoluntary {before[1]} -> {after[1]}")
    assert after[0] == before[0], f"the idle supervisor woke up {after[0] - before[0]} times in 10 s"
    assert s.alive()
    # without WATCHDOG_USEC every timerfd is disarmed
    armed = []
    for fd in os.listdir(f"/proc/{s.pid}/fdinfo"):
        info = open(f"/proc/{s.pid}/fdinfo/{fd}").read()
        if "it_value:" in info and "it_value: (0, 0)" not in info:
            armed.append((fd, info))
    assert not armed, armed


def test_no_readable_page_holds_a_secret(rwk, supervise, tmp_path):
    plain = secrets.token_hex(24)                                   # 48 hex chars
    tricky = secrets.token_hex(16) + '"q\\b\n/' + secrets.token_hex(16)  # has a JSON escape form
    for v in (plain, tricky):
        rwk.track(v)
    s = start_quiet(rwk, supervise, tmp_path, {"app/key": plain, "app/tricky": tricky})
    assert s.stdout.count(b"[redacted:app/") == 2, s.stdout     # both went through the redactor
    time.sleep(0.3)
    needles = [plain.encode(), tricky.encode(), json.dumps(tricky)[1:-1].encode(),
               json.dumps(tricky)[1:-1].replace("/", "\\/").encode(),
               plain[:24].encode(), plain[24:].encode()]              # halves too: no partial copies
    hits = scan_memory(s.pid, needles)
    assert not hits, "secret bytes in readable memory of the supervisor:\n" + "\n".join(
        f"{m}  <- {needles.index(n)}" for m, n in hits)
    # nor of the PID namespace's init (as root), which lives as long as the
    # supervisor, in the bot's namespace
    for init in [p for p in children(s.pid) if comm(p) == "rwk-init"]:
        hits = scan_memory(init, needles)
        assert not hits, "secret bytes in readable memory of the init:\n" + "\n".join(
            f"{m}  <- {needles.index(n)}" for m, n in hits)
        # and it has no environment strings (a root bot may read them)
        environ = open(f"/proc/{init}/environ", "rb").read()
        assert environ.strip(b"\0") == b"", environ[:200]
    # the scan works: it finds a value in the bot, which holds its key in its environment
    bot_pid = s.bot_pid()
    assert scan_memory(bot_pid, [plain.encode()]), "scanner self-check failed"


@pytest.mark.parametrize("pidns", [True, False], ids=["pid-namespace", "no-namespace"])
def test_sigchld_ignored_by_our_parent_changes_nothing(rwk, pidns):
    """A parent may start us with SIGCHLD ignored, which an exec keeps. Ignored, it
    makes the kernel reap the bot in our place: the supervisor then spun at 100 % CPU
    on a pidfd with no status behind it. The bot's exit code comes back as usual."""
    if pidns and os.geteuid() != 0:
        pytest.skip("needs root: the PID namespace's persistent init")
    vault_with(rwk, app__key=rwk.secret(16))
    write_profile(rwk, "ign", ["/bin/sh", "-c", "exit 3"], keys={"APP_KEY": "app/key"},
                  sandbox={"pid_namespace": pidns})
    res = subprocess.run(rwk.argv("run", "ign"), env=rwk.env(), cwd=rwk.root, capture_output=True, timeout=30,
                         preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
    assert res.returncode == 3, res.stderr.decode()


def notify_socket():
    d = tempfile.mkdtemp(prefix="rwk-n")
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    return sock, path, d


def recv_all(sock, seconds):
    """Every datagram that arrives within `seconds`, with its arrival time."""
    msgs = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            msgs.append((time.monotonic(), sock.recv(4096).decode()))
        except socket.timeout:
            break
    return msgs


def test_sd_notify_ready_and_stopping(rwk, supervise, tmp_path):
    sock, path, d = notify_socket()
    try:
        s = start_quiet(rwk, supervise, tmp_path, {"app/key": rwk.secret(24)}, env={"NOTIFY_SOCKET": path})
        start_seen = s.event_times[0]
        msgs = recv_all(sock, 0.5)
        assert len(msgs) == 1, msgs
        fields = dict(l.split("=", 1) for l in msgs[0][1].split("\n") if l)
        assert fields == {"READY": "1", "MAINPID": str(s.pid)}
        assert s.events[0]["event"] == "start"       # logged before READY=1 was sent
        s.signal(signal.SIGTERM)
        msgs = recv_all(sock, 1.0)
        assert [m for _, m in msgs] == ["STOPPING=1"], msgs
        assert s.wait(10) == 128 + signal.SIGTERM   # quiet.py dies of SIGTERM
        assert start_seen
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(d)


def test_sd_notify_watchdog_pings_while_the_bot_runs(rwk, supervise, tmp_path):
    sock, path, d = notify_socket()
    try:
        s = start_quiet(rwk, supervise, tmp_path, {"app/key": rwk.secret(24)},
                        env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
        bot_pid = s.bot_pid()
        env = open(f"/proc/{bot_pid}/environ", "rb").read().split(b"\0")
        assert not any(e.startswith((b"NOTIFY_SOCKET=", b"WATCHDOG_USEC=")) for e in env), env
        msgs = recv_all(sock, 1.0)
        pings = [t for t, m in msgs if m == "WATCHDOG=1"]
        assert 5 <= len(pings) <= 15, msgs     # every 100 ms (half of WATCHDOG_USEC)
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        assert max(gaps) < 0.25, gaps
        s.signal(signal.SIGTERM)
        s.wait(10)
        late = [m for _, m in recv_all(sock, 0.3)]
        assert "STOPPING=1" in late, late
        # at most one ping can race the bot's exit after STOPPING=1; none after the supervisor exits
        assert late[late.index("STOPPING=1") + 1:].count("WATCHDOG=1") <= 1, late
        assert not recv_all(sock, 0.3)
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(d)
