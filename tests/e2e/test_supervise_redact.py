"""Redaction of the bot's output by the supervisor: whole secrets, secrets
written a byte at a time, JSON-escaped secrets, stream separation, redact =
false, and a pty when the supervisor's stdout is a terminal.

What the redactor guarantees (Sources/Supervisor/Redactor.swift): bytes that
may begin a secret are held back and released flush_delay (5 ms) after the
bot last wrote. A secret written with pauses shorter than that is always
masked; one written slower is emitted in pieces (documented limitation)."""
from __future__ import annotations

import json
import secrets
import time

import pexpect
import pytest

from conftest import RWK_BIN
from supervise_helpers import bot, supervise, vault_with, write_profile  # noqa: F401

PEM = ("-----BEGIN PRIVATE KEY-----\n" + "\n".join(secrets.token_urlsafe(48)[:64] for _ in range(3))
       + '\n"quoted" back\\slash a/b\n-----END PRIVATE KEY-----\n')


def substrings(value: str, n: int = 12):
    return {value[i:i + n].encode() for i in range(0, len(value) - n + 1)}


def assert_masked(output: bytes, value: str, name: str, times: int | None = None):
    for part in substrings(value):
        assert part not in output, f"a 12-byte piece of the secret {part!r} reached the output:\n{output!r}"
    marker = f"[redacted:{name}]".encode()
    assert marker in output, output
    if times is not None:
        assert output.count(marker) == times, output


def run_printer(rwk, supervise, mode, *args, value=None, redact=True, name="print"):
    value = value or rwk.secret(24)
    vault_with(rwk, app__key=value)
    write_profile(rwk, name, bot("printer", mode, "APP_KEY", *args), keys={"APP_KEY": "app/key"},
                  output={"redact": redact})
    s = supervise(name)
    assert s.wait(20) == 0, s.stderr_text()
    return s, value


def test_whole_secret_is_masked_on_stdout_and_stderr(rwk, supervise):
    s, value = run_printer(rwk, supervise, "whole")
    assert_masked(s.stdout, value, "app/key", times=3)
    assert s.stdout.splitlines()[0] == b"[redacted:app/key]"
    assert b"the key is [redacted:app/key], again: [redacted:app/key]." in s.stdout
    assert_masked(s.stderr, value, "app/key", times=1)
    assert b"stderr: [redacted:app/key]\n" in s.stderr


@pytest.mark.parametrize("gap_ms", [0, 1])
def test_secret_written_a_byte_at_a_time_is_masked(rwk, supervise, tmp_path, gap_ms):
    """One write+flush per byte, with pauses well under the 5 ms flush delay. The
    bot measures its real pauses; a run where the box stalled the bot for 4 ms
    or more proves nothing and is repeated."""
    value = rwk.secret(24)
    vault_with(rwk, app__key=value)
    for attempt in range(4):
        report = tmp_path / f"gap{attempt}.txt"
        write_profile(rwk, "bytes", bot("printer", "bytes", "APP_KEY", gap_ms, report), keys={"APP_KEY": "app/key"})
        s = supervise("bytes")
        assert s.wait(20) == 0
        worst = float(report.read_text())
        if worst < 4.0:
            break
    else:
        pytest.skip(f"the bot was stalled >= 4 ms between bytes in every run (last {worst:.1f} ms)")
    assert s.stdout == b"before:[redacted:app/key]:after\n", (worst, s.stdout)


@pytest.mark.xfail(strict=True, reason="documented limitation (Redactor.flush): a secret written slower than "
                                       "the 5 ms flush delay is released in pieces and reaches the output")
def test_secret_written_slower_than_the_flush_delay_is_masked(rwk, supervise, tmp_path):
    s, value = run_printer(rwk, supervise, "bytes", 20, tmp_path / "gap.txt")
    assert value.encode() not in s.stdout


def test_secret_written_slowly_is_passed_on_intact(rwk, supervise, tmp_path):
    """What does hold for a slow writer: nothing is lost, duplicated or reordered."""
    s, value = run_printer(rwk, supervise, "bytes", 20, tmp_path / "gap.txt")
    assert s.stdout == b"before:" + value.encode() + b":after\n"


def test_json_escaped_pem_is_masked(rwk, supervise):
    s, value = run_printer(rwk, supervise, "json", value=PEM)
    out = s.stdout
    lines = out.splitlines()
    assert json.loads(lines[0]) == {"key": "[redacted:app/key]", "n": 1}, lines[0]
    for line in PEM.splitlines():
        if len(line) >= 12 and "PRIVATE KEY" not in line:
            assert line.encode() not in out, f"a PEM line reached the output: {line!r}"
    assert json.loads(lines[1]) == {"slashes": "[redacted:app/key]"}, lines[1]
    assert lines[2] == b"[redacted:app/key]"
    assert json.dumps(PEM)[1:-1].encode() not in out
    assert out.count(b"[redacted:app/key]") == 3, out


def test_streams_stay_separate(rwk, supervise, tmp_path):
    """Bytes held back from stderr (they could begin the secret) come out on stderr."""
    value = "s" + rwk.secret(24)
    vault_with(rwk, app__key=value)
    code = ("import sys,time; sys.stderr.write('err-ends-with-s'); sys.stderr.flush(); time.sleep(0.2);"
            "sys.stdout.write('out-line\\n'); sys.stdout.flush(); time.sleep(0.2);"
            "sys.stdout.write('o-s'); sys.stdout.flush(); time.sleep(0.05); sys.stderr.write('E\\n')")
    write_profile(rwk, "streams", [bot("printer")[0], "-c", code], keys={"APP_KEY": "app/key"})
    s = supervise("streams")
    assert s.wait(20) == 0
    assert s.stdout == b"out-line\no-s", s.stdout
    bot_err = [l for l in s.stderr.split(b"\n") if not l.startswith(b"{")]
    assert b"err-ends-with-sE" in s.stderr or b"err-ends-with-s" in bot_err, s.stderr


def test_redact_false_leaves_output_untouched(rwk, supervise):
    s, value = run_printer(rwk, supervise, "raw", redact=False)
    assert s.stdout == value.encode() + b"\nraw-done\n"


def test_bot_output_is_complete_at_exit(rwk, supervise):
    """The last bytes the bot writes before exiting are relayed, even a held-back tail."""
    value = rwk.secret(24)
    vault_with(rwk, app__key=value)
    code = "import sys; sys.stdout.write('x' * 300000 + 'tail-' + '%s'[:5])" % value
    write_profile(rwk, "big", [bot("printer")[0], "-c", code], keys={"APP_KEY": "app/key"})
    s = supervise("big")
    assert s.wait(20) == 0
    assert s.stdout == b"x" * 300000 + b"tail-" + value[:5].encode()


# ---- a terminal


def spawn_on_pty(rwk, profile: str) -> pexpect.spawn:
    return pexpect.spawn(RWK_BIN, ["run", profile], env=rwk.env({"TERM": "xterm-256color"}), cwd=str(rwk.root),
                         timeout=20)


def test_pty_bot_sees_a_terminal_and_output_is_still_masked(rwk):
    value = rwk.secret(24)
    vault_with(rwk, app__key=value)
    write_profile(rwk, "tty", bot("printer", "tty", "APP_KEY"), keys={"APP_KEY": "app/key"},
                  inherit=("PATH", "TERM"))
    child = spawn_on_pty(rwk, "tty")
    try:
        child.expect(r"isatty (\d)(\d)(\d) term=(\S+)")
        stdin_tty, out_tty, err_tty, term = (g.decode() for g in child.match.groups())
        assert (out_tty, err_tty) == ("1", "1")
        assert term == "xterm-256color"
        child.expect_exact("\x1b[31mred\x1b[0m")                 # colours pass through
        child.expect_exact("[redacted:app/key]")
        t0 = time.monotonic()
        child.expect_exact("unflushed-line", timeout=2)          # line buffered: before the bot's 3 s sleep ends
        assert time.monotonic() - t0 < 2
        child.expect_exact("done")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    seen = child.before or b""
    assert value.encode() not in seen


def test_pty_multiline_secret_is_masked(rwk):
    """On a pty the line discipline turns "\\n" into "\\r\\n" (ONLCR) before the
    redactor sees the bytes; a multi-line secret must still be masked."""
    vault_with(rwk, app__key=PEM)
    code = "import os,sys; sys.stdout.write(os.environ['APP_KEY']); sys.stdout.write('end\\n')"
    write_profile(rwk, "ttypem", [bot("printer")[0], "-c", code], keys={"APP_KEY": "app/key"})
    child = spawn_on_pty(rwk, "ttypem")
    chunks = []
    try:
        child.expect_exact("end")
        chunks.append(child.before)
        child.expect(pexpect.EOF)
        chunks.append(child.before)
    finally:
        child.close()
    out = b"".join(chunks)
    assert b"[redacted:app/key]" in out, out
    for line in PEM.splitlines():
        if len(line) >= 12 and "PRIVATE KEY" not in line:
            assert line.encode() not in out, f"a PEM line reached the terminal: {line!r}\n{out!r}"
