"""The output relay under a consumer that is slow, stalled or gone, and at the
bot's exit (Sources/Supervisor/OutputRelay.swift): the supervisor never blocks
in a write (signals and stop_timeout are served), a consumer that goes away
reaches the bot as EPIPE/SIGPIPE, a slow consumer slows the bot down instead
of growing our memory, and nothing the bot wrote is lost when it exits at once."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import tty

import pytest

from conftest import RWK_BIN, popen_retry
from supervise_helpers import bot, bot_children, status_field, vault_with, wait_until, write_profile

MARK = b"[redacted:app/key]"


def start_rwk(rwk, profile: str, *, stdout, stderr) -> subprocess.Popen:
    return popen_retry([RWK_BIN, "run", "--log-format", "json", profile], env=rwk.env(), cwd=rwk.root,
                       stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True)


def kill_all(proc: subprocess.Popen):
    if proc.poll() is None:
        for p in bot_children(proc.pid):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.kill()
        proc.wait(5)


# ---- a consumer that never reads


@pytest.mark.parametrize("bot_ignores_sigterm,kind", [(False, "pipe"), (True, "pipe"), (True, "socket")])
def test_sigterm_is_served_while_the_reader_never_reads(rwk, tmp_path, bot_ignores_sigterm, kind):
    """stdout is a pipe (a socket: written with MSG_DONTWAIT) nobody reads: the bot
    fills it and blocks (in its own write, or ours would block); SIGTERM still stops
    it within stop_timeout + 1 s."""
    vault_with(rwk, app__key=rwk.secret(24))
    script = ("trap '' TERM; " if bot_ignores_sigterm else "") + "exec yes 'a line of output'"
    write_profile(rwk, "flood", ["/bin/sh", "-c", script], keys={"APP_KEY": "app/key"},
                  restart={"policy": "no", "stop_timeout": "1s"})
    if kind == "pipe":
        r, w = os.pipe()
    else:
        r, w = (s.detach() for s in socket.socketpair())
    err = open(tmp_path / "stderr", "wb")
    proc = start_rwk(rwk, "flood", stdout=w, stderr=err)
    os.close(w)
    try:
        wait_until(lambda: bot_children(proc.pid), 10, "the bot to start")
        time.sleep(0.5)   # the pipe is full and the bot blocked by now
        assert proc.poll() is None
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(3)
        except subprocess.TimeoutExpired:
            raise AssertionError("the supervisor ignored SIGTERM with a stalled reader:\n"
                                 + (tmp_path / "stderr").read_text()[-3000:])
        took = time.monotonic() - t0
    finally:
        kill_all(proc)
        os.close(r)
        err.close()
    assert took <= 1.0 + 1.0, f"stopped after {took:.2f}s, stop_timeout is 1s"
    assert code == (128 + signal.SIGKILL if bot_ignores_sigterm else 128 + signal.SIGTERM), code


# ---- a consumer that goes away


@pytest.mark.parametrize("writer", ["yes", "python"])
def test_pipeline_into_head_ends_within_a_second(rwk, tmp_path, writer):
    """`run-with-keys run P | head -1`: head exits after one line, our write gets
    EPIPE, we close the bot's pipe, and the bot's next write gets EPIPE/SIGPIPE as
    it would without us (yes dies of SIGPIPE: 141; Python ignores SIGPIPE and
    dies of BrokenPipeError)."""
    vault_with(rwk, app__key=rwk.secret(24))
    if writer == "yes":
        command = ["/usr/bin/yes", "first line"]
    else:
        command = [bot("printer")[0], "-c", "import sys\nwhile True: sys.stdout.write('first line\\n')"]
    write_profile(rwk, "head", command, keys={"APP_KEY": "app/key"}, restart={"policy": "no"})
    code_file = tmp_path / "code"
    pipeline = f"{{ '{RWK_BIN}' run head 2>/dev/null; echo $? > '{code_file}'; }} | head -1"
    proc = popen_retry(["/bin/sh", "-c", pipeline], env=rwk.env(), cwd=rwk.root, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, start_new_session=True)
    try:
        line = proc.stdout.readline()
        t0 = time.monotonic()
        proc.wait(5)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert line == b"first line\n"
    assert took < 1.0, f"the pipeline took {took:.2f}s to end after head exited"
    code = int(code_file.read_text())
    assert code == (128 + signal.SIGPIPE if writer == "yes" else 1), code


def test_terminal_hang_up_reaches_the_bot_as_sighup(rwk):
    """On the pty path our stdout is a terminal: when it goes away (EIO), we close the
    bot's pty master, and the bot gets the hang-up a terminal would give it."""
    vault_with(rwk, app__key=rwk.secret(24))
    write_profile(rwk, "hup", ["/usr/bin/yes", "tty line"], keys={"APP_KEY": "app/key"}, restart={"policy": "no"})
    master, slave = os.openpty()
    tty.setraw(slave)
    proc = start_rwk(rwk, "hup", stdout=slave, stderr=subprocess.DEVNULL)
    os.close(slave)
    try:
        assert os.read(master, 100).startswith(b"tty line")
        os.close(master)
        t0 = time.monotonic()
        code = proc.wait(5)
        took = time.monotonic() - t0
    finally:
        kill_all(proc)
    assert took < 1.0, f"took {took:.2f}s after the hang-up"
    assert code == 128 + signal.SIGHUP, code


# ---- nothing lost at exit


def payload_profile(rwk, tmp_path, tty_probe: bool = False) -> bytes:
    """A bot that prints a multi-KB payload with the secret in it, and exits at once;
    returns what must arrive."""
    value = rwk.secret(24)
    vault_with(rwk, app__key=value)
    body = b"".join(b"%05d the quick brown fox jumps over the lazy dog\n" % i for i in range(200))  # 10 KB
    (tmp_path / "payload").write_bytes(body)
    script = ("test -t 1 && printf tty:; " if tty_probe else "") + 'cat "$0"; printf "key=%s\\n" "$APP_KEY"; cat "$0"; printf "last-bytes:%s" "$APP_KEY"'
    write_profile(rwk, "burst", ["/bin/sh", "-c", script, str(tmp_path / "payload")], keys={"APP_KEY": "app/key"},
                  restart={"policy": "no"})
    return (b"tty:" if tty_probe else b"") + body + b"key=" + MARK + b"\n" + body + b"last-bytes:" + MARK


RUNS = int(os.environ.get("RWK_OUTPUT_RUNS", "200"))


def test_output_of_a_bot_that_exits_at_once_is_complete_on_pipes(rwk, tmp_path):
    expected = payload_profile(rwk, tmp_path)
    bad = []
    for i in range(RUNS):
        p = subprocess.run([RWK_BIN, "run", "burst"], env=rwk.env(), cwd=rwk.root, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=20)
        if p.returncode != 0 or p.stdout != expected:
            bad.append((i, p.returncode, len(p.stdout), p.stdout[-60:], p.stderr[-300:]))
    assert not bad, f"{len(bad)} of {RUNS} runs lost output: {bad[:3]}"


def run_on_pty(rwk) -> tuple[int, bytes]:
    """run-with-keys with a terminal (raw: no "\\n" -> "\\r\\n") as its stdout; everything it printed."""
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        proc = popen_retry([RWK_BIN, "run", "burst"], env=rwk.env(), cwd=rwk.root, stdin=subprocess.DEVNULL,
                           stdout=slave, stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(slave)
        slave = -1
        out = bytearray()
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:   # EIO: every slave fd is closed
                break
            if not chunk:
                break
            out += chunk
        return proc.wait(20), bytes(out)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)


def test_output_of_a_bot_that_exits_at_once_is_complete_on_a_pty(rwk, tmp_path):
    expected = payload_profile(rwk, tmp_path, tty_probe=True)
    bad = []
    for i in range(RUNS):
        code, out = run_on_pty(rwk)
        if code != 0 or out != expected:
            bad.append((i, code, len(out), out[:10], out[-60:]))
    assert not bad, f"{len(bad)} of {RUNS} runs lost output: {bad[:3]}"


# ---- a slow consumer


def test_slow_reader_gets_everything_and_memory_stays_bounded(rwk, tmp_path):
    """A reader taking 1 KB every 10 ms: the bot is slowed down (it is still writing
    after 2 s of 20 MB), the supervisor's RSS doesn't grow with the output, and every
    byte arrives in order, redacted."""
    value = rwk.secret(24)
    vault_with(rwk, app__key=value)
    code = ("import os,sys\nk=os.environ['APP_KEY']\nout=sys.stdout.buffer\n"
            "for i in range(200000):\n"
            "    out.write(b'%08d ' % i + (k.encode() if i % 1000 == 0 else b'y' * 24) + b' ' + b'z' * 65 + b'\\n')\n")
    write_profile(rwk, "slow", [bot("printer")[0], "-c", code], keys={"APP_KEY": "app/key"},
                  restart={"policy": "no"})
    expected = b"".join(b"%08d " % i + (MARK if i % 1000 == 0 else b"y" * 24) + b" " + b"z" * 65 + b"\n"
                        for i in range(200000))
    err = open(tmp_path / "stderr", "wb")
    proc = start_rwk(rwk, "slow", stdout=subprocess.PIPE, stderr=err)
    fd = proc.stdout.fileno()
    out = bytearray()
    try:
        wait_until(lambda: bot_children(proc.pid), 10, "the bot to start")
        time.sleep(0.3)
        rss0 = status_field(proc.pid, "VmRSS")
        peak = rss0
        t_end = time.monotonic() + 2.0
        while time.monotonic() < t_end:
            out += os.read(fd, 1024)
            time.sleep(0.01)
            peak = max(peak, status_field(proc.pid, "VmRSS"))
        assert bot_children(proc.pid), "the bot finished 20 MB against a 100 KB/s reader: output was buffered"
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            out += chunk
            if proc.poll() is None:
                peak = max(peak, status_field(proc.pid, "VmRSS"))
        rc = proc.wait(20)
    finally:
        kill_all(proc)
        err.close()
    assert rc == 0, (tmp_path / "stderr").read_text()[-2000:]
    assert peak - rss0 < 4096, f"supervisor RSS grew from {rss0} to {peak} KiB"
    assert len(out) == len(expected) and bytes(out) == expected, (len(out), len(expected))
    assert value.encode() not in out
