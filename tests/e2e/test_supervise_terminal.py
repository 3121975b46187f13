"""The terminal and job control, on a real pty (pexpect), no mocks.

- redact = true with stdin and stdout terminals: the bot's stdin, stdout and
  stderr are its own pty; our terminal is raw and keystrokes are relayed.
- redact = false: the bot is the terminal's foreground process group.
Both: getpass gets the typed code without echo, Ctrl-C interrupts a REPL's
line, Ctrl-Z / fg suspend and resume the supervisor and the bot together, and
the terminal's modes are the same afterwards (read from the pty device itself:
a shell would restore its own modes and hide a leak)."""
from __future__ import annotations

import os
import secrets
import signal
import sys
import termios
import time
from pathlib import Path

import pexpect
import pytest

from conftest import RWK_BIN
from supervise_helpers import vault_with, write_profile

PY = sys.executable
GETPASS = ("import getpass, hashlib\n"
           "c = getpass.getpass('Code: ')\n"
           "print('got', len(c), hashlib.sha256(c.encode()).hexdigest())\n")


def profile(rwk, name, command, *, redact, pidns=True):
    vault_with(rwk, app__key=rwk.secret(16))
    write_profile(rwk, name, command, keys={"APP_KEY": "app/key"}, inherit=("PATH", "TERM"),
                  output={"redact": redact}, restart={"policy": "no", "stop_timeout": "500ms"},
                  sandbox=None if pidns else {"pid_namespace": False})


def env(rwk):
    return rwk.env({"TERM": "xterm"})


def children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(d.name))
    return out


def descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        for c in children(queue.pop()):
            found.append(c)
            queue.append(c)
    return found


def state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_for(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


@pytest.mark.parametrize("redact", [True, False], ids=["redact", "no-redact"])
def test_getpass_receives_the_code_without_echo(rwk, redact):
    profile(rwk, "pw", [PY, "-c", GETPASS], redact=redact)
    code = secrets.token_hex(6)
    child = pexpect.spawn(RWK_BIN, ["run", "pw"], env=env(rwk), cwd=str(rwk.root), timeout=20)
    try:
        child.expect_exact("Code: ")
        time.sleep(0.2)
        child.send(code + "\r")
        child.expect(r"got (\d+) ([0-9a-f]{64})")
        seen = child.before + child.after
        n, digest = child.match.group(1).decode(), child.match.group(2).decode()
        child.expect(pexpect.EOF)
        seen += child.before
    finally:
        child.close()
    import hashlib
    assert (n, digest) == (str(len(code)), hashlib.sha256(code.encode()).hexdigest())
    assert code.encode() not in seen, seen
    assert child.exitstatus == 0


def repl(rwk, redact, pidns=True):
    profile(rwk, "repl", [PY, "-q", "-i"], redact=redact, pidns=pidns)


def interrupt_and_continue(child):
    child.expect_exact(">>> ")
    child.send("while True: pass\r")
    time.sleep(0.5)
    child.send("\x03")
    child.expect_exact("KeyboardInterrupt")
    child.expect_exact(">>> ")
    time.sleep(1)   # longer than stop_timeout: ^C must not have been taken as a stop
    child.send("print(6 * 7)\r")
    child.expect_exact("42")
    child.expect_exact(">>> ")


@pytest.mark.parametrize("redact", [True, False], ids=["redact", "no-redact"])
def test_ctrl_c_interrupts_the_repl_line(rwk, redact):
    repl(rwk, redact)
    child = pexpect.spawn(RWK_BIN, ["run", "repl"], env=env(rwk), cwd=str(rwk.root), timeout=20)
    try:
        interrupt_and_continue(child)
        child.send("exit()\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def shell(rwk) -> pexpect.spawn:
    sh = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=env(rwk) | {"PS1": "PROMPT$ "},
                       cwd=str(rwk.root), timeout=20, echo=False)
    sh.expect_exact("PROMPT$ ")
    return sh


@pytest.mark.parametrize("pidns", [True, False], ids=["pidns", "no-pidns"])
@pytest.mark.parametrize("redact", [True, False], ids=["redact", "no-redact"])
def test_ctrl_z_and_fg_suspend_and_resume_both(rwk, redact, pidns):
    repl(rwk, redact, pidns)
    sh = shell(rwk)
    try:
        sh.sendline(f"{RWK_BIN} run repl")
        sh.expect_exact(">>> ")
        # Without redaction or a PID namespace (restart "no"), nothing needs a
        # supervisor: run-with-keys execs the bot in place, and job control is the shell's own.
        sup = next(p for p in children(sh.pid) if "run-with-keys" in cmdline(p) or RWK_BIN in cmdline(p)
                   or "-q -i" in cmdline(p))
        in_place = "-q -i" in cmdline(sup)
        assert in_place == (not redact and not pidns)
        bot = sup if in_place else next(p for p in descendants(sup) if "-q -i" in cmdline(p))
        sh.send("\x1a")
        sh.expect("Stopped")
        sh.expect_exact("PROMPT$ ")
        assert wait_for(lambda: state(sup) == "T" and state(bot) == "T"), (state(sup), state(bot))
        sh.sendline("fg")
        assert wait_for(lambda: state(sup) != "T" and state(bot) != "T"), (state(sup), state(bot))
        sh.send("print(6 * 7)\r")
        sh.expect_exact("42")
        # Again, then bg (the job runs on without the terminal; a read stops it again) and fg.
        sh.send("\x1a")
        sh.expect("Stopped")
        sh.expect_exact("PROMPT$ ")
        sh.sendline("bg; sleep 0.5; jobs -l; fg")
        assert wait_for(lambda: state(sup) != "T" and state(bot) != "T"), (state(sup), state(bot))
        sh.send("print(6 * 8)\r")
        sh.expect_exact("48")
        interrupt_and_continue(sh)
        sh.send("exit()\r")
        sh.expect_exact("PROMPT$ ")
        sh.sendline("echo status=$?")
        sh.expect(r"status=(\d+)")
        assert sh.match.group(1) == b"0"
    finally:
        sh.close(force=True)


def modes_test(rwk, redact, end):
    """Runs the REPL under `sh -c 'read; rwk run; read'` (sh keeps the pty open
    and never changes its modes); compares the pty's modes before and after."""
    repl(rwk, redact)
    child = pexpect.spawn("sh", ["-c", f"read go; {RWK_BIN} run repl; echo rwk-exit=$?; read done"],
                          env=env(rwk), cwd=str(rwk.root), timeout=20)
    try:
        before = termios.tcgetattr(child.child_fd)
        child.send("\r")
        child.expect_exact(">>> ")
        during = termios.tcgetattr(child.child_fd)
        if redact:
            assert during != before   # raw while the bot runs
        sup = next(p for p in children(child.pid) if RWK_BIN in cmdline(p))
        bot = next(p for p in descendants(sup) if "-q -i" in cmdline(p))
        end(child, sup, bot)
        child.expect(r"rwk-exit=(\d+)")
        code = int(child.match.group(1))
        after = termios.tcgetattr(child.child_fd)
        child.send("\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert after == before, (before, after)
    return code


def by_exit(child, sup, bot):
    child.send("exit()\r")


def by_sigterm(child, sup, bot):
    os.kill(sup, signal.SIGTERM)


def by_bot_sigkill(child, sup, bot):
    os.kill(bot, signal.SIGKILL)


def by_sigalrm(child, sup, bot):
    os.kill(sup, signal.SIGALRM)   # would end us with the terminal raw if not caught: passed on to the bot


def by_sighup(child, sup, bot):
    os.kill(sup, signal.SIGHUP)


@pytest.mark.parametrize("redact", [True, False], ids=["redact", "no-redact"])
@pytest.mark.parametrize("end,code", [(by_exit, 0), (by_sigterm, None), (by_bot_sigkill, 137),
                                      (by_sigalrm, 128 + signal.SIGALRM), (by_sighup, 128 + signal.SIGHUP)],
                         ids=["exit", "sigterm", "bot-sigkill", "sigalrm", "sighup"])
def test_terminal_modes_are_restored(rwk, redact, end, code):
    got = modes_test(rwk, redact, end)
    if code is not None:
        assert got == code


@pytest.mark.parametrize("redact", [True, False], ids=["redact", "no-redact"])
def test_terminal_modes_are_restored_when_the_spawn_fails(rwk, redact):
    profile(rwk, "bad", ["/nonexistent/bot"], redact=redact)
    child = pexpect.spawn("sh", ["-c", f"read go; {RWK_BIN} run bad; echo rwk-exit=$?; read done"],
                          env=env(rwk), cwd=str(rwk.root), timeout=20)
    try:
        before = termios.tcgetattr(child.child_fd)
        child.send("\r")
        child.expect(r"rwk-exit=(\d+)")
        assert child.match.group(1) == b"127"
        after = termios.tcgetattr(child.child_fd)
        child.send("\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert after == before


def test_background_job_does_not_touch_the_terminal(rwk):
    """Started with &: no raw mode, no stop by SIGTTOU/SIGTTIN; it runs to the end."""
    profile(rwk, "bg", [PY, "-c", "import time; time.sleep(1); print('bg-done')"], redact=True)
    sh = shell(rwk)
    try:
        sh.sendline("stty -g > before.txt")
        sh.expect_exact("PROMPT$ ")
        sh.sendline(f"{RWK_BIN} run bg & sleep 0.3; stty -g > during.txt; wait $!; echo status=$?")
        sh.expect(r"status=(\d+)")
        assert sh.match.group(1) == b"0"
        sh.expect_exact("PROMPT$ ")
    finally:
        sh.close(force=True)
    assert (rwk.root / "before.txt").read_text() == (rwk.root / "during.txt").read_text()


def test_stdin_not_a_terminal_is_the_bots_as_is(rwk):
    """stdout a terminal, stdin a pipe: nothing read, swallowed or reordered; EOF arrives."""
    profile(rwk, "cat", [PY, "-c", "import sys; d = sys.stdin.read(); print('read', len(d), d.split())"], redact=True)
    child = pexpect.spawn("sh", ["-c", f"printf 'one\\ntwo\\nthree\\n' | {RWK_BIN} run cat; echo rwk-exit=$?"],
                          env=env(rwk), cwd=str(rwk.root), timeout=20)
    try:
        child.expect_exact("read 14 ['one', 'two', 'three']")
        child.expect(r"rwk-exit=(\d+)")
        assert child.match.group(1) == b"0"
    finally:
        child.close(force=True)
