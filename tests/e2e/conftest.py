"""Shared helpers for the end-to-end tests of the vault CLI.

Every test drives the real binary ($RWK_BIN, default .build/debug/run-with-keys)
with a clean environment, a private RUN_WITH_KEYS_HOME under tmp_path, and
throwaway keys from age-keygen / pyrage. Nothing here is a real key.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RWK_BIN = os.environ.get("RWK_BIN", str(REPO / ".build/debug/run-with-keys"))
AGE = shutil.which("age") or "/usr/bin/age"
AGE_KEYGEN = shutil.which("age-keygen") or "/usr/bin/age-keygen"
FORMAT = "run-with-keys/v1"
ERR = "run-with-keys: error: "
HINT = "run-with-keys: hint: "
WARN = "run-with-keys: warning: "
RECIPIENT_RE = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")
CLEAN_PATH = "/usr/local/bin:/usr/bin:/bin"


# --------------------------------------------------------------------------- binary


def _binary_ready() -> bool:
    try:
        r = subprocess.run([RWK_BIN, "--version"], capture_output=True, timeout=20,
                           env={"PATH": CLEAN_PATH}, start_new_session=True)
    except (FileNotFoundError, PermissionError, OSError):
        return False
    return r.returncode == 0


@pytest.fixture(scope="session", autouse=True)
def rwk_binary() -> str:
    """The binary may be missing for a moment while the lead relinks it: wait."""
    deadline = time.monotonic() + 90
    while not _binary_ready():
        if time.monotonic() > deadline:
            pytest.exit(f"run-with-keys binary not usable at {RWK_BIN}", returncode=3)
        time.sleep(0.5)
    return RWK_BIN


def popen_retry(argv, **kw) -> subprocess.Popen:
    """Popen that rides out a relink (ENOENT / ETXTBSY) of the binary."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return subprocess.Popen(argv, **kw)
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ETXTBSY) or time.monotonic() > deadline:
                raise
            time.sleep(0.3)


# --------------------------------------------------------------------------- small helpers


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snapshot(directory: Path) -> dict[str, str]:
    """name -> sha256 of every file below `directory` (empty if it is missing)."""
    out = {}
    directory = Path(directory)
    if not directory.exists():
        return out
    for p in sorted(directory.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(directory))] = sha256(p)
    return out


def write_private(path: Path, data: bytes | str, mode: int = 0o600) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


def age_keygen(path: Path) -> str:
    """Writes a fresh age identity to `path` (mode 0600); returns its recipient."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    r = subprocess.run([AGE_KEYGEN, "-o", str(path)], capture_output=True, text=True, check=True)
    os.chmod(path, 0o600)
    rec = subprocess.run([AGE_KEYGEN, "-y", str(path)], capture_output=True, text=True, check=True).stdout.strip()
    assert RECIPIENT_RE.match(rec), rec
    assert rec in r.stderr
    return rec


def age_encrypt(plaintext: bytes, recipients: list[str], out: Path, armor: bool = False) -> Path:
    argv = [AGE, "-e"] + (["-a"] if armor else [])
    for r in recipients:
        argv += ["-r", r]
    argv += ["-o", str(out)]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(argv, input=plaintext, capture_output=True, check=True)
    os.chmod(out, 0o600)
    return Path(out)


def age_decrypt(vault: Path, identity: Path) -> subprocess.CompletedProcess:
    return subprocess.run([AGE, "-d", "-i", str(identity), str(vault)], capture_output=True,
                          env={"PATH": CLEAN_PATH}, timeout=30)


def age_decrypt_doc(vault: Path, identity: Path) -> dict:
    r = age_decrypt(vault, identity)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    doc = json.loads(r.stdout)
    assert doc["format"] == FORMAT
    return doc


def values(doc: dict) -> dict[str, str]:
    return {k: v["value"] for k, v in doc.get("secrets", {}).items()}


def make_doc(secrets_: dict[str, str], **extra) -> bytes:
    doc = {"format": FORMAT, "secrets": {k: {"value": v} for k, v in secrets_.items()}}
    doc.update(extra)
    return json.dumps(doc).encode()


def flip_bit(data: bytes, index: int, bit: int = 0) -> bytes:
    b = bytearray(data)
    b[index] ^= 1 << bit
    return bytes(b)


def header_end(file: bytes) -> int:
    """Offset of the first payload byte of a binary age file."""
    i = file.index(b"\n---")
    return file.index(b"\n", i + 1) + 1


def flip_header_mac(file: bytes) -> bytes:
    """Flips one bit of the header MAC (still valid base64)."""
    i = file.index(b"\n--- ") + 5
    j = file.index(b"\n", i)
    mac = base64.b64decode(file[i:j] + b"=" * (-(j - i) % 4))
    mac = flip_bit(mac, 7, 3)
    return file[:i] + base64.b64encode(mac).rstrip(b"=") + file[j:]


def interrupt_at_prompt(command: str, prompt: str, env: dict, cwd: str, typed: str = "") -> str:
    """Runs `command` under a shell on a pty, waits for `prompt`, types `typed`, sends
    Ctrl-C: the command must exit 130 and leave the terminal's echo on (a
    non-interactive sh doesn't restore modes itself, so its `stty -a` afterwards
    shows what run-with-keys left on the pty). Returns that `stty -a`."""
    import pexpect
    script = f"trap 'true' INT; {command}; echo rc=$?; stty -a"
    child = pexpect.spawn("/bin/sh", ["-c", script], env=env, cwd=cwd, timeout=60)
    child.expect(prompt)
    if typed:
        child.send(typed)
    time.sleep(0.2)
    child.sendintr()
    child.expect(r"rc=(\d+)")
    assert child.match.group(1) == b"130"
    child.expect(pexpect.EOF)
    modes = child.before.decode()
    child.close()
    assert re.search(r"(?<![-\w])echo(?![\w])", modes), modes   # "echo", not "-echo"
    return modes


def assert_cli_error(res: subprocess.CompletedProcess, *substrings: str, hint: str | None = None) -> str:
    """Exit 125; stderr is optional `warning:` lines, exactly one `error:` line, then only
    `hint:` lines. Returns the error line."""
    err = res.stderr.decode(errors="replace")
    assert res.returncode == 125, f"exit {res.returncode}, stderr:\n{err}"
    lines = err.splitlines()
    while lines and lines[0].startswith(WARN):
        lines.pop(0)
    assert lines, f"no error line on stderr:\n{err}"
    assert sum(line.startswith(ERR) for line in lines) == 1, err
    assert lines[0].startswith(ERR), err
    assert all(line.startswith(HINT) for line in lines[1:]), err
    low = lines[0].lower()
    for s in substrings:
        assert s.lower() in low, f"{s!r} not in {lines[0]!r}"
    if hint is not None:
        assert any(hint in line for line in lines[1:]), f"no hint with {hint!r}:\n{err}"
    assert res.stdout == b"", res.stdout
    return lines[0]


# --------------------------------------------------------------------------- the CLI driver


class Rwk:
    """Runs the binary with a clean environment and a private home.

    Every value registered with `secret()`/`track()` is checked to be absent from
    stdout and stderr of every command this object runs.
    """

    def __init__(self, root: Path, home: Path | None = None):
        self.root = Path(root)
        # run-with-keys' home is hidden from bots (filesystem = "hide-keys"), and
        # Landlock can't grant entries created later in a directory above a hidden
        # path. So the home lives beside `root`, not in it: bots may then create
        # files anywhere in `root` after launch, as they could before.
        if home is None:
            home = Path(tempfile.mkdtemp(prefix=self.root.name + "-rwkhome-", dir=self.root.parent)) / "home"
        self.home = Path(home)
        self.userhome = self.root / "user"
        self.inputs = self.root / "inputs"
        self.userhome.mkdir(parents=True, exist_ok=True)
        self.inputs.mkdir(parents=True, exist_ok=True)
        self.tracked: list[bytes] = []
        self.results: list[subprocess.CompletedProcess] = []

    # paths
    @property
    def vault(self) -> Path:
        return self.home / "vault.age"

    @property
    def identity(self) -> Path:
        return self.home / "identity.txt"

    def input_file(self, name: str, data: bytes | str, mode: int = 0o600) -> Path:
        return write_private(self.inputs / name, data, mode)

    # secrets
    def secret(self, nbytes: int = 16) -> str:
        s = secrets.token_hex(nbytes)
        self.track(s)
        return s

    def track(self, value: bytes | str) -> None:
        self.tracked.append(value.encode() if isinstance(value, str) else value)

    def env(self, extra: dict | None = None) -> dict:
        env = {"PATH": CLEAN_PATH, "HOME": str(self.userhome), "LANG": "C.UTF-8",
               "RUN_WITH_KEYS_HOME": str(self.home)}
        for k, v in (extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    def argv(self, *args) -> list[str]:
        return [RWK_BIN, *map(str, args)]

    def popen(self, *args, env: dict | None = None, **kw) -> subprocess.Popen:
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("cwd", self.root)  # no ./profiles or stray files from the checkout
        return popen_retry(self.argv(*args), env=self.env(env), start_new_session=True, **kw)

    def run(self, *args, input: bytes | str | None = None, env: dict | None = None, check: bool = False,
            timeout: float = 60, pass_fds=()) -> subprocess.CompletedProcess:
        if isinstance(input, str):
            input = input.encode()
        p = self.popen(*args, env=env, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                       pass_fds=pass_fds)
        try:
            out, err = p.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise
        res = subprocess.CompletedProcess(self.argv(*args), p.returncode, out, err)
        self.results.append(res)
        self.assert_no_leak(res)
        if check:
            assert res.returncode == 0, f"{args}: exit {res.returncode}\n{err.decode(errors='replace')}"
        return res

    def assert_no_leak(self, res: subprocess.CompletedProcess) -> None:
        for s in self.tracked:
            assert s not in res.stdout, f"secret value printed on stdout by {res.args}"
            assert s not in res.stderr, f"secret value printed on stderr by {res.args}"

    # common commands
    def init(self, *args) -> str:
        res = self.run("init", *args, check=True)
        rec = res.stdout.decode().strip()
        assert RECIPIENT_RE.match(rec), res.stdout
        return rec

    def set(self, name: str, value: bytes | str, *args, check: bool = True, **kw) -> subprocess.CompletedProcess:
        return self.run("set", name, *args, input=value, check=check, **kw)

    def list_json(self, *args, **kw) -> list[dict]:
        res = self.run("list", "--json", *args, check=True, **kw)
        return json.loads(res.stdout)

    def names(self, *args, **kw) -> list[str]:
        return [e["name"] for e in self.list_json(*args, **kw)]

    def doc(self, identity: Path | None = None, vault: Path | None = None) -> dict:
        return age_decrypt_doc(vault or self.vault, identity or self.identity)


@pytest.fixture
def rwk(tmp_path) -> Rwk:
    return Rwk(tmp_path)


@pytest.fixture
def vault_with_secret(rwk):
    """An initialised vault holding one random secret; returns (rwk, name, value)."""
    rwk.init()
    value = rwk.secret()
    rwk.set("app/key", value)
    return rwk, "app/key", value


def need_root_and_setpriv() -> None:
    """Skips a test that runs a launch as another user or with fewer capabilities."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv")


@pytest.fixture
def scratch_dir():
    """Makes directories outside pytest's tmp_path, which sits under a 0700 parent
    that other users can't traverse and that is an ancestor of nothing real:
    `scratch_dir(prefix, parent="/var/tmp", mode=None)` returns a new directory
    (chmod'ed to `mode` if given); all are removed afterwards."""
    made: list[Path] = []

    def make(prefix: str, parent: str = "/var/tmp", mode: int | None = None) -> Path:
        d = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        if mode is not None:
            os.chmod(d, mode)
        made.append(d)
        return d
    yield make
    for d in made:
        shutil.rmtree(d, ignore_errors=True)
