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


# ---- the escape forms serializers print by default (Sources/Supervisor/Redactor.swift, RedactionForm)

# `/ & < > " \`, a tab, a CR, an ESC, a newline, é and an astral character.
SPECIAL = '/&<>"\\\t\r\x1b\n\u00e9\U0001F600'

# Each line: a label, then the value as one serializer prints it by default. Go isn't
# installed here, so its HTML-safe output is made the way encoding/json makes it: the
# ensure_ascii=False JSON text with < > & U+2028 U+2029 replaced by \u003c \u003e \u0026
# \u2028 \u2029 (json.HTMLEscape's rules; Go's other escapes equal Python's).
FORMS_BOT = r'''
import json, os, re, sys
value = os.environb[b"APP_KEY"].decode("utf-8")
def go(s):
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(a, b)
    return s
lines = [
    ("python-default", json.dumps({"k": value})),
    ("python-utf8", json.dumps(value, ensure_ascii=False)),
    ("go", go(json.dumps(value, ensure_ascii=False))),
    ("jackson", re.sub(r"\\u00[0-9a-f]{2}", lambda m: m.group(0).upper().replace("\\U", "\\u"), json.dumps(value, ensure_ascii=False))),
    ("swift", json.dumps(value, ensure_ascii=False).replace("/", "\\/")),
    ("php", json.dumps(value).replace("/", "\\/")),
    ("raw", value),
]
for label, text in lines:
    sys.stdout.buffer.write(label.encode() + b": " + text.encode("utf-8") + b"\n")
sys.stdout.buffer.flush()
'''


def test_default_serializer_escapes_are_masked(rwk, supervise):
    value = rwk.secret(8) + SPECIAL + rwk.secret(8)
    vault_with(rwk, app__key=value)
    write_profile(rwk, "forms", [bot("printer")[0], "-c", FORMS_BOT], keys={"APP_KEY": "app/key"})
    s = supervise("forms")
    assert s.wait(20) == 0, s.stderr_text()
    out = s.stdout
    # What the bot would have printed without redaction differs from the raw value in
    # every line but the last, so each line below proves one form is matched.
    assert out.split(b"\n") == [
        b'python-default: {"k": "[redacted:app/key]"}',
        b'python-utf8: "[redacted:app/key]"',
        b'go: "[redacted:app/key]"',
        b'jackson: "[redacted:app/key]"',
        b'swift: "[redacted:app/key]"',
        b'php: "[redacted:app/key]"',
        b"raw: [redacted:app/key]",
        b"",
    ], out
    for piece in (value[:8], value[-8:], "\\u00e9\\ud83d", "\\u0026\\u003c"):
        assert piece.encode() not in out


def test_multiline_secret_on_a_pty_with_onlcr_switched_back_on_is_masked(rwk):
    """The supervisor's pty has output processing off, but the bot can turn
    OPOST|ONLCR back on; then each "\\n" of the value reaches the supervisor as
    "\\r\\n"."""
    vault_with(rwk, app__key=PEM)
    code = ("import os,sys,termios\n"
            "a = termios.tcgetattr(1); a[1] |= termios.OPOST | termios.ONLCR\n"
            "termios.tcsetattr(1, termios.TCSANOW, a)\n"
            "sys.stdout.write('probe\\n'); sys.stdout.flush()\n"
            "sys.stdout.write(os.environ['APP_KEY']); sys.stdout.write('end\\n')\n")
    write_profile(rwk, "onlcr", [bot("printer")[0], "-c", code], keys={"APP_KEY": "app/key"})
    child = spawn_on_pty(rwk, "onlcr")
    chunks = []
    try:
        child.expect_exact("end")
        chunks.append(child.before)
        child.expect(pexpect.EOF)
        chunks.append(child.before)
    finally:
        child.close()
    out = b"".join(chunks)
    # ONLCR is on for the bot's pty ("\r\n" from it); the outer terminal is raw
    # while the bot runs (its stdin is a terminal too), so it adds nothing.
    assert b"probe\r\n" in out, out
    assert out.count(b"[redacted:app/key]") == 1, out
    for line in PEM.splitlines():
        if len(line) >= 12 and "PRIVATE KEY" not in line:
            assert line.encode() not in out, f"a PEM line reached the terminal: {line!r}\n{out!r}"


# ---- values too short to redact (RedactionPatterns.minimumLength = 6 bytes)


def test_a_three_byte_secret_is_not_redacted_and_check_and_run_warn_once(rwk, supervise):
    pin = "zQ%"                   # not tracked: it is printed on purpose
    key = rwk.secret(12)
    rwk.init()
    rwk.set("app/pin", pin)
    rwk.track(key)
    rwk.set("app/key", key)
    code = "import os; print('pin', os.environ['APP_PIN'], 'key', os.environ['APP_KEY'], 'zQ%zQ')"
    write_profile(rwk, "short", [bot("printer")[0], "-c", code],
                  keys={"APP_PIN": "app/pin", "APP_KEY": "app/key", "APP_PIN2": "app/pin"})
    warning = b"secret app/pin is 3 bytes, too short to redact without masking ordinary output; it is passed through unredacted"

    check = rwk.run("check", "short", check=True)
    warnings = [l for l in check.stdout.splitlines() if l.startswith(b"warning:")]
    assert len(warnings) == 1 and warning in warnings[0], check.stdout
    assert b"at least 6 bytes" in warnings[0]
    as_json = json.loads(rwk.run("check", "--json", "short", check=True).stdout)
    assert as_json["warnings"] == [warning.decode()], as_json

    s = supervise("short")
    assert s.wait(20) == 0, s.stderr_text()
    assert s.stdout == b"pin zQ% key [redacted:app/key] zQ%zQ\n", s.stdout
    err = s.stderr_text().encode()
    assert err.count(b"run-with-keys: warning: " + warning + b"\n") == 1, err
    assert err.count(b"run-with-keys: hint: use a value of at least 6 bytes") == 1, err

    # With redact = false nothing is redacted, so there is nothing to warn about.
    write_profile(rwk, "short", [bot("printer")[0], "-c", code], keys={"APP_PIN": "app/pin"}, output={"redact": False})
    assert b"warning:" not in rwk.run("check", "short", check=True).stdout
