"""Helpers for the supervision end-to-end tests (tests/e2e/test_supervise_*.py).

`Supervised` runs `run-with-keys run --log-format json PROFILE` as a real
process, collects its stdout and parses its stderr into events while it runs.
The bots under supbots/ are small Python scripts; their environment is empty
apart from [env] inherit/set and their keys, so everything they need (state
file paths, modes) comes in argv.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import RWK_BIN, Rwk, popen_retry

BOTS = Path(__file__).resolve().parent / "supbots"
PY = sys.executable


def bot(name: str, *args) -> list[str]:
    """argv for a bot script in supbots/."""
    return [PY, "-B", str(BOTS / f"{name}.py"), *map(str, args)]  # -B: no __pycache__ in the tree


# --------------------------------------------------------------------------- profiles


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def write_profile(rwk: Rwk, name: str, command: list[str], *, keys: dict | None = None,
                  inherit=("PATH",), env_set: dict | None = None, restart: dict | None = None,
                  output: dict | None = None, sandbox: dict | None = None) -> Path:
    """<home>/profiles/NAME.toml. keys: VAR -> secret name (or an inline-table dict)."""
    lines = [f"command = {_toml_value(list(command))}", "", "[env]", f"inherit = {_toml_value(list(inherit))}"]
    if env_set:
        lines.append(f"set = {_toml_value(env_set)}")
    for section, table in (("keys", keys), ("restart", restart), ("output", output), ("sandbox", sandbox)):
        if table:
            lines += ["", f"[{section}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    path = rwk.home / "profiles" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- a running supervisor


class Supervised:
    """A running supervisor. stdout is collected as bytes, stderr as lines,
    and every stderr line that is a JSON object is also kept as an event."""

    def __init__(self, rwk: Rwk, profile: str, *extra, env: dict | None = None, prefix: list[str] | None = None,
                 log_format: str = "json", bot_args: list[str] | None = None):
        argv = [*(prefix or []), RWK_BIN, "run", "--log-format", log_format, profile]
        if bot_args:
            argv += ["--", *map(str, bot_args)]
        self.rwk = rwk
        self.argv = argv
        self.started_at = time.monotonic()
        self.proc = popen_retry(argv, env=rwk.env(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=rwk.root, start_new_session=True)
        self.pid = self.proc.pid
        self.out = bytearray()
        self.err_lines: list[bytes] = []
        self.events: list[dict] = []
        self.event_times: list[float] = []
        self.by_event: dict[str, list[dict]] = {}
        self.cond = threading.Condition()
        self.ended_at: float | None = None
        self._threads = [threading.Thread(target=self._pump_out, daemon=True),
                         threading.Thread(target=self._pump_err, daemon=True)]
        for t in self._threads:
            t.start()

    def _pump_out(self):
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            with self.cond:
                self.out += chunk
                self.cond.notify_all()

    def _pump_err(self):
        for line in self.proc.stderr:
            now = time.monotonic()
            with self.cond:
                self.err_lines.append(line)
                try:
                    ev = json.loads(line)
                except ValueError:
                    ev = None
                if isinstance(ev, dict):
                    self.events.append(ev)
                    self.event_times.append(now)
                    self.by_event.setdefault(ev.get("event"), []).append(ev)
                self.cond.notify_all()

    # ---- queries

    @property
    def stderr(self) -> bytes:
        with self.cond:
            return b"".join(self.err_lines)

    @property
    def stdout(self) -> bytes:
        with self.cond:
            return bytes(self.out)

    def of(self, event: str) -> list[dict]:
        with self.cond:
            return list(self.by_event.get(event, ()))

    def count(self, event: str) -> int:
        with self.cond:
            return len(self.by_event.get(event, ()))

    def wait_for(self, predicate, timeout: float = 10, what: str = "condition"):
        """Waits until predicate() is truthy (re-checked on every output); returns its value."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                v = predicate()
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}; stderr:\n"
                                         + self.stderr_text()[-4000:])
                self.cond.wait(min(left, 0.05))

    def wait_event(self, event: str, n: int = 1, timeout: float = 10) -> dict:
        evs = self.wait_for(lambda: (lambda l: l if len(l) >= n else None)(self.of(event)), timeout,
                            f"{n}x {event!r} event")
        return evs[n - 1]

    def stderr_text(self) -> str:
        with self.cond:
            return b"".join(self.err_lines).decode(errors="replace")

    def bot_pid(self) -> int:
        """pid of the bot of the latest start event."""
        with self.cond:
            return int(self.by_event["start"][-1]["pid"])

    # ---- control

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def wait(self, timeout: float = 15) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"supervisor still running after {timeout}s; stderr:\n" + self.stderr_text()[-4000:])
        if self.ended_at is None:
            self.ended_at = time.monotonic()
        for t in self._threads:
            t.join(5)
        return rc

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cleanup(self) -> None:
        """SIGTERM, then SIGKILL to the supervisor and anything left below it."""
        if self.proc.poll() is None:
            left = descendants(self.pid)
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.proc.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            if self.proc.poll() is None:
                left += descendants(self.pid)
                self.proc.kill()
                self.proc.wait(5)
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for t in self._threads:
            t.join(2)


@pytest.fixture
def supervise(rwk):
    """Factory: supervise(profile, *extra, env=…) -> Supervised; all are stopped at teardown."""
    started: list[Supervised] = []

    def start(profile: str, *extra, **kw) -> Supervised:
        s = Supervised(rwk, profile, *extra, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.cleanup()


def vault_with(rwk: Rwk, **named: str) -> dict[str, str]:
    """init + one `set` per name=value (name with '__' for '/'); returns {secret name: value}."""
    rwk.init()
    out = {}
    for k, v in named.items():
        name = k.replace("__", "/")
        rwk.track(v)
        rwk.set(name, v)
        out[name] = v
    return out


# --------------------------------------------------------------------------- /proc


def read_stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a process, None if it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    rest = data[data.rindex(b")") + 2:].split()
    return rest[0].decode(), int(rest[1])


def children(pid: int) -> dict[int, str]:
    """child pid -> state letter, for every process whose parent is `pid`."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = read_stat(int(d))
            if st and st[1] == pid:
                out[int(d)] = st[0]
    return out


def comm(pid: int) -> str | None:
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return None


def bot_children(pid: int) -> dict[int, str]:
    """children(), looking through the bot's PID-namespace init ("rwk-init"),
    which sits between the supervisor and the bot when the tree is contained."""
    out = {}
    for p, state in children(pid).items():
        if comm(p) == "rwk-init":
            out.update(children(p))
        else:
            out[p] = state
    return out


def descendants(pid: int) -> list[int]:
    tree: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = read_stat(int(d))
            if st:
                tree.setdefault(st[1], []).append(int(d))
    out, todo = [], list(tree.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo += tree.get(p, [])
    return out


def alive(pid: int) -> bool:
    """True when the process exists and is not a zombie."""
    st = read_stat(pid)
    return st is not None and st[0] != "Z"


def status_field(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def ctx_switches(pid: int) -> tuple[int, int]:
    """(voluntary, nonvoluntary) summed over every thread of the process."""
    v = n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        text = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        for line in text.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                v += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                n += int(line.split()[1])
    return v, n


def wait_until(predicate, timeout: float = 10, what: str = "condition", interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def read_json(path: Path):
    """The JSON in `path`, or None while it is missing or half-written."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def scan_memory(pid: int, needles: list[bytes]) -> list[tuple[str, bytes]]:
    """(maps line, needle) for each readable mapping of `pid` that contains a needle."""
    hits = []
    longest = max(len(n) for n in needles)
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5] if len(parts) > 5 else ""
            if "r" not in parts[1] or name in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
                continue
            pos, tail = lo, b""
            while pos < hi:
                size = min(1 << 20, hi - pos)
                try:
                    mem.seek(pos)
                    chunk = mem.read(size)
                except OSError:
                    chunk = b""
                if not chunk:
                    # unreadable page: skip it
                    pos += 4096
                    tail = b""
                    continue
                buf = tail + chunk
                for n in needles:
                    if n in buf:
                        hits.append((line.strip(), n))
                tail = buf[-(longest - 1):] if longest > 1 else b""
                pos += len(chunk)
    return hits
