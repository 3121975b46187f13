"""examples/systemd/run-with-keys@.service: `systemd-analyze verify` accepts it, and the
documented way to edit the vault when the identity exists only as a credential (a
pipe into --identity) works; after `shred -u identity.txt` the hints point at
--identity, not back and forth between `set` and `init`."""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, RWK_BIN, assert_cli_error

UNIT = REPO / "examples" / "systemd" / "run-with-keys@.service"


def verify(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)


def test_unit_verifies(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    text = UNIT.read_text()
    assert "LoadCredentialEncrypted=run-with-keys.identity" in text and "%i" in text
    # As an instance, with the binary under test standing in for the installed one.
    inst = tmp_path / "run-with-keys@coinbase-exchange.service"
    inst.write_text(text.replace("/usr/local/bin/run-with-keys", RWK_BIN))
    res = verify(inst)
    assert res.returncode == 0 and inst.name not in res.stdout + res.stderr, res.stdout + res.stderr
    # The check can fail: systemd has no inline comments, and says so.
    bad = tmp_path / "run-with-keys@bad.service"
    bad.write_text(text.replace("ProtectSystem=full", "ProtectSystem=full  # note"))
    assert bad.name in verify(bad).stderr


def test_unit_leaves_out_what_breaks_the_sandbox():
    lines = [l for l in UNIT.read_text().splitlines() if l and not l.startswith("#")]
    keys = {l.split("=", 1)[0]: l.split("=", 1)[1] for l in lines if "=" in l}
    for key in ("SystemCallFilter", "PrivateUsers", "MemoryDenyWriteExecute", "User", "DynamicUser"):
        assert key not in keys, key
    assert keys["RestrictNamespaces"] == "pid" and keys["NoNewPrivileges"] == "yes"
    assert "ExecStart" in keys and "profiles/%i.toml" in keys["ExecStart"]


def test_shredded_identity_hints_at_identity_not_init(vault_with_secret):
    rwk, name, value = vault_with_secret
    saved = rwk.identity.read_bytes()
    rwk.identity.unlink()   # the unit's `shred -u identity.txt`
    res = rwk.set("other/key", rwk.secret(), check=False)
    assert_cli_error(res, "no identity found", str(rwk.vault))
    assert b"--identity" in res.stderr and b"run-with-keys init" not in res.stderr
    res = rwk.run("init")
    assert_cli_error(res, "a vault already exists")
    assert b"--identity" in res.stderr
    # The documented fix: the identity through a pipe (process substitution), value prompted/piped.
    src = rwk.input_file("cred", saved)
    res = subprocess.run(["bash", "-c", f'printf v2 | "$0" --identity <(cat "$1") set other/key', RWK_BIN, str(src)],
                         env=rwk.env(), capture_output=True, timeout=60, cwd=rwk.root)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([RWK_BIN, "--identity", "/dev/stdin", "list"], input=saved, env=rwk.env(),
                         capture_output=True, timeout=60, cwd=rwk.root)
    assert res.returncode == 0 and b"other/key" in res.stdout, res.stderr
    assert not rwk.identity.exists()


def unit_settings() -> dict[str, str]:
    lines = [l for l in UNIT.read_text().splitlines() if l and not l.startswith(("#", "["))]
    return {l.split("=", 1)[0]: l.split("=", 1)[1] for l in lines if "=" in l}


def test_unit_capabilities_and_no_new_privs_are_enough(rwk, tmp_path):
    """The unit's CapabilityBoundingSet= and NoNewPrivileges=, applied with setpriv (no systemd
    runs here): run-with-keys as root still drops the bot to its user in its own PID namespace."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv")
    settings = unit_settings()
    assert settings["NoNewPrivileges"] == "yes"
    caps = [c.lower().removeprefix("cap_") for c in settings["CapabilityBoundingSet"].split()]
    rwk.init()
    rwk.set("app/key", rwk.secret())
    profile = rwk.root / "bot" / "profiles" / "bot.toml"
    profile.parent.mkdir(parents=True)
    profile.write_text('command = ["/bin/sh", "-c", "echo uid=$(id -u) key=${#K}; grep NSpid /proc/self/status"]\n'
                       'user = "nobody"\n[keys]\nK = "app/key"\n')
    for p in (rwk.root, rwk.root / "bot", profile.parent):
        os.chmod(p, 0o755)
    argv = ["setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all," + ",".join("+" + c for c in caps),
            RWK_BIN, "run", "profiles/bot.toml"]
    res = subprocess.run(argv, env=rwk.env(), capture_output=True, timeout=60, cwd=rwk.root / "bot")
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr.decode()
    assert "uid=65534 key=32" in out
    assert out.split("NSpid:")[1].split()[-1] != out.split("NSpid:")[1].split()[0], "own PID namespace"
    # Without CAP_SYS_ADMIN the bot gets no PID namespace of its own: that capability is needed.
    argv[3] = "--bounding-set=-all," + ",".join("+" + c for c in caps if c != "sys_admin")
    res = subprocess.run(argv, env=rwk.env(), capture_output=True, timeout=60, cwd=rwk.root / "bot")
    out = res.stdout.decode()
    assert res.returncode != 0 or len(out.split("NSpid:")[1].splitlines()[0].split()) == 1, out


def test_restricted_to_pid_namespaces_restarts_share_one(rwk, tmp_path):
    """RestrictNamespaces=pid (the unit's), emulated with the same seccomp rules
    systemd installs: run-with-keys makes the bot's PID namespace and starts each
    restarted bot into it with nothing but CLONE_NEWPID."""
    if os.geteuid() != 0 or platform.machine() != "x86_64":
        pytest.skip("needs root (a PID namespace) and x86_64 (the emulation's syscall numbers)")
    rwk.init()
    rwk.set("app/key", rwk.secret())
    out = tmp_path / "ns.txt"
    profile = rwk.home / "profiles" / "svc.toml"
    profile.parent.mkdir(parents=True, exist_ok=True)
    profile.write_text(f'command = ["/bin/sh", "-c", "echo $(readlink /proc/self/ns/pid) $$ >> {out}; exit 3"]\n'
                       '[keys]\nK = "app/key"\n'
                       '[restart]\npolicy = "on-failure"\ndelay = "0s"\nburst = 2\ninterval = "1h"\n')
    tool = Path(__file__).resolve().parent / "tools" / "no_landlock.py"
    res = subprocess.run([sys.executable, str(tool), "--only-pid-namespace", RWK_BIN, "run", "svc"],
                         env=rwk.env(), capture_output=True, timeout=60, cwd=rwk.root)
    assert res.returncode == 3, res.stderr.decode()
    assert b"warning" not in res.stderr, res.stderr.decode()
    lines = [l.split() for l in out.read_text().splitlines()]
    assert len(lines) == 2 and lines[0][0] == lines[1][0] != os.readlink("/proc/self/ns/pid"), lines
    assert lines[0][1] == "2", lines
