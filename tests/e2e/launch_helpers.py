"""Helpers for the end-to-end tests of launching bots: `run-with-keys run PROFILE`,
`run-with-keys PROFILE` and `run-with-keys check PROFILE [--json]`.

Builds on conftest.py's `Rwk` (clean environment, private home, every tracked
secret checked to be absent from the CLI's stdout and stderr). Profiles are
written as TOML from Python values; bots are the small scripts in bots/.
Every key is a throwaway value made by the test.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CLEAN_PATH, ERR, HINT, Rwk

HERE = Path(__file__).resolve().parent
BOTS = HERE / "bots"
REPO = HERE.parent.parent
# The interpreter with the client libraries installed (pyenv; under /root).
PY = sys.executable
# The system interpreter (stdlib only), reachable by an unprivileged bot user.
SYS_PY = "/usr/bin/python3"
# PATH for bots: the test interpreter's directory first.
BOT_PATH = os.path.dirname(PY) + ":" + CLEAN_PATH


def bot(name: str) -> str:
    return str(BOTS / name)


def public_bot(name: str, directory: Path) -> str:
    """bots/NAME copied into DIRECTORY (made 0755; the copy 0644), for a bot that runs as
    another user: the checkout may sit where only root can read (a clone under /root)."""
    directory.mkdir(exist_ok=True)
    os.chmod(directory, 0o755)
    copy = directory / name
    copy.write_bytes((BOTS / name).read_bytes())
    os.chmod(copy, 0o644)
    return str(copy)


# --------------------------------------------------------------------------- TOML


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML for {v!r}")


def profile_text(command, top: dict | None = None, **sections: dict | None) -> str:
    """`command` and top-level keys, then one [section] per keyword (env, keys,
    limits, sandbox, restart, output, policy). Values are Python values."""
    lines = [f"command = {toml_value(list(command))}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in (top or {}).items()]
    for name, body in sections.items():
        if body is None:
            continue
        lines += ["", f"[{name}]"] + [f"{k} = {toml_value(v)}" for k, v in body.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- results


def last_json(res: subprocess.CompletedProcess):
    """The bot's report: the last line of stdout, as JSON."""
    lines = res.stdout.decode(errors="replace").strip().splitlines()
    assert lines, f"the bot printed nothing (exit {res.returncode}); stderr:\n{res.stderr.decode(errors='replace')}"
    return json.loads(lines[-1])


def stderr_text(res) -> str:
    return res.stderr.decode(errors="replace")


def assert_error(res: subprocess.CompletedProcess, code: int, *substrings: str, hint: str | None = None) -> str:
    """Exit `code`, one `run-with-keys: error:` line first, then only hint lines
    (a `run` failure may not print anything else either: no child ran)."""
    err = stderr_text(res)
    assert res.returncode == code, f"exit {res.returncode}, want {code}; stderr:\n{err}"
    lines = err.splitlines()
    assert lines and lines[0].startswith(ERR), err
    assert sum(line.startswith(ERR) for line in lines) == 1, err
    assert all(line.startswith(HINT) for line in lines[1:]), err
    low = lines[0].lower()
    for s in substrings:
        assert s.lower() in low, f"{s!r} not in {lines[0]!r}"
    if hint is not None:
        assert any(hint.lower() in line.lower() for line in lines[1:]), f"no hint with {hint!r}:\n{err}"
    assert res.stdout == b"", res.stdout
    return lines[0]


def wait_for(predicate, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


# --------------------------------------------------------------------------- the launcher


class Launch:
    """A vault with secrets, profiles under <tmp>/profiles, and the commands
    that launch them. `run` and `check` go through `Rwk.run`, so no tracked
    secret value may show up on the CLI's stdout or stderr."""

    def __init__(self, rwk: Rwk):
        self.rwk = rwk
        self.dir = rwk.root / "profiles"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.out = rwk.root / "out"
        self.out.mkdir(parents=True, exist_ok=True)
        rwk.init()

    def secret(self, name: str, value: str | bytes | None = None) -> str | bytes:
        """Stores `value` (default: 32 random hex digits) as `name`; tracked as a
        leak. Multi-line values go through --from-file, which keeps the bytes
        exactly (piped stdin drops one trailing newline)."""
        if value is None:
            value = self.rwk.secret(16)
        else:
            self.rwk.track(value)
        if "\n" in (value if isinstance(value, str) else value.decode(errors="replace")):
            f = self.rwk.input_file(name.replace("/", "_"), value)
            self.rwk.run("set", name, "--from-file", str(f), check=True)
            f.unlink()
        else:
            self.rwk.set(name, value)
        return value

    def profile(self, name: str, command, top: dict | None = None, **sections) -> Path:
        return self.write(name, profile_text(command, top, **sections))

    def write(self, name: str, text: str) -> Path:
        path = self.dir / f"{name}.toml"
        path.write_text(text)
        return path

    def run(self, profile: Path, *args, env: dict | None = None, timeout: float = 60,
            subcommand: str | None = "run") -> subprocess.CompletedProcess:
        argv = ([subcommand] if subcommand else []) + [str(profile)] + (["--", *map(str, args)] if args else [])
        return self.rwk.run(*argv, env=env, timeout=timeout)

    def check(self, profile: Path, *flags, env: dict | None = None) -> subprocess.CompletedProcess:
        return self.rwk.run("check", *flags, str(profile), env=env)

    def start(self, profile: Path, *args, env: dict | None = None) -> subprocess.Popen:
        """`run PROFILE` in the background (stdout/stderr piped)."""
        argv = ["run", str(profile)] + (["--", *map(str, args)] if args else [])
        return self.rwk.popen(*argv, env=env)

    def finish(self, p: subprocess.Popen, timeout: float = 20) -> subprocess.CompletedProcess:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise
        res = subprocess.CompletedProcess(p.args, p.returncode, out, err)
        self.rwk.assert_no_leak(res)
        return res


@pytest.fixture
def launch(rwk) -> Launch:
    return Launch(rwk)


@pytest.fixture(scope="module")
def module_launch(tmp_path_factory) -> Launch:
    """One vault for a module's many quick runs (exit codes)."""
    return Launch(Rwk(tmp_path_factory.mktemp("launch")))


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"{what} needs root (run-with-keys drops privileges only as root)")
