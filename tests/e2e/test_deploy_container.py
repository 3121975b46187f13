"""examples/Dockerfile's command as PID 1 (no container engine here): the image's
files and the read-only volumes are mounted at the image's paths in a fresh mount +
PID namespace, and ENTRYPOINT + CMD run with the image's ENV in its WORKDIR."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, RWK_BIN
from deploy_helpers import (KEYS_DIR, NOBODY, PROBE, coinbase_vault, final_stage, image_tree,
                            need_root_and_unshare, run_image)


def test_dockerfile_shape():
    text = (REPO / "examples" / "Dockerfile").read_text()
    stage = final_stage()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2, "multi-stage build"
    # The release flags have one home, the Makefile, which the context therefore carries.
    assert "make -s release" in text and "COPY --from=build" in text
    assert stage["workdir"].startswith("/") and stage["entrypoint"][0] == "run-with-keys"
    assert stage["env"]["RUN_WITH_KEYS_IDENTITY"] == KEYS_DIR + "/identity"
    assert KEYS_DIR + "/vault.age" in stage["entrypoint"]
    # An allowlist: everything is ignored, then only sources, profiles and the bots come back.
    rules = [l.strip() for l in (REPO / ".dockerignore").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    assert rules[0] == "*", rules
    allowed = [r[1:] for r in rules[1:]]
    assert all(r.startswith("!") for r in rules[1:]), rules
    assert "Sources/" in allowed and "Package.swift" in allowed
    for a in allowed:   # nothing that could bring a key file, a vault or a build tree back
        assert a in ("Package.swift", "Makefile", "Sources/") or a.endswith((".toml", ".py")), a


def runtime_packages() -> set[str]:
    """The packages the runtime stage apt-get installs."""
    text = DOCKERFILE_TEXT().split("FROM debian")[1]
    words = text.split("--no-install-recommends", 1)[1].split("&&")[0].split()
    return {w for w in words if not w.startswith("-") and w != "\\"}


def DOCKERFILE_TEXT() -> str:
    return (REPO / "examples" / "Dockerfile").read_text()


def test_runtime_stage_has_every_library_the_binary_links():
    """ldd of a -static-stdlib build (what the build stage makes), mapped to Debian packages."""
    ldd = subprocess.run(["ldd", RWK_BIN], capture_output=True, text=True, timeout=30).stdout
    if "libswift" in ldd or not shutil.which("dpkg"):
        pytest.skip("RWK_BIN is not a -static-stdlib build (set RWK_BIN to a release build), or no dpkg")
    needed = set()
    for line in ldd.splitlines():
        if "=>" in line and "/" in line.split("=>")[1]:
            lib = line.split("=>")[1].split()[0]
            owner = subprocess.run(["dpkg", "-S", os.path.realpath(lib)], capture_output=True, text=True)
            if owner.returncode != 0:
                owner = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True)
            needed.add(owner.stdout.split(":")[0])
    essential = {"libc6", "libgcc-s1"}   # in every debian:12-slim
    assert needed - essential <= runtime_packages(), (needed, runtime_packages())


def docker_volume(root: Path, identity: Path, vault: Path, owner: int) -> Path:
    """`docker run -v host:/run/secrets/run-with-keys/…:ro`: the host files keep their owner and mode."""
    keys = root / "volume"
    keys.mkdir()
    for src, name in ((identity, "identity"), (vault, "vault.age")):
        shutil.copy(src, keys / name)
        os.chown(keys / name, owner, owner)
        os.chmod(keys / name, 0o600)
    return keys


@pytest.mark.parametrize("owner", [0, NOBODY], ids=["same-uid", "host-user-differs"])
def test_shipped_cmd_runs_as_pid1(rwk, tmp_path, owner):
    need_root_and_unshare()
    coinbase_vault(rwk)
    keys = docker_volume(tmp_path, rwk.identity, rwk.vault, owner)
    res = run_image(image_tree(tmp_path), keys)
    err = res.stderr.decode(errors="replace")
    assert res.returncode == 0, err
    assert b"coinbase-exchange: ok, signed GET /accounts offline" in res.stdout
    rwk.assert_no_leak(res)


def test_read_only_mount_is_what_makes_another_owner_acceptable(rwk, tmp_path):
    """The same file owned by 65534 on a writable path is refused with the owner and mode."""
    need_root_and_unshare()
    coinbase_vault(rwk)
    keys = docker_volume(tmp_path, rwk.identity, rwk.vault, NOBODY)
    res = rwk.run("--identity", keys / "identity", "--vault", keys / "vault.age", "list")
    assert res.returncode == 125
    err = res.stderr.decode()
    assert "owned by uid 65534" in err and "mode 0600" in err and "read-only mount" in err


def test_sigterm_to_pid1_stops_the_bot_tree(rwk, tmp_path):
    need_root_and_unshare()
    coinbase_vault(rwk)
    keys = docker_volume(tmp_path, rwk.identity, rwk.vault, NOBODY)
    sleeper = {"profiles/sleeper.toml": 'command = ["/bin/sh", "-c", "sleep 299.25 & sleep 299.25"]\n'
                                        '[keys]\nK = "coinbase/key"\n[restart]\nstop_timeout = "5s"\n'}
    p = run_image(image_tree(tmp_path, sleeper), keys, args=["profiles/sleeper.toml"], popen=True)
    try:
        deadline = time.monotonic() + 20
        pid1 = None
        while time.monotonic() < deadline and pid1 is None:
            kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
            for k in kids:
                status = Path(f"/proc/{k}/status").read_text()
                nspid = [l for l in status.splitlines() if l.startswith("NSpid:")][0].split()
                if Path(f"/proc/{k}/exe").resolve().name == "run-with-keys" and nspid[-1] == "1":
                    sleepers = subprocess.run(["pgrep", "-f", "sleep 299.25"], capture_output=True, text=True).stdout
                    if sleepers.strip():
                        pid1 = int(k)
            time.sleep(0.2)
        assert pid1, "run-with-keys did not become PID 1 with its bot running"
        os.kill(pid1, signal.SIGTERM)
        out, err = p.communicate(timeout=20)
        assert p.returncode == 128 + signal.SIGTERM, err.decode(errors="replace")   # the bot's own death
        assert not Path(f"/proc/{pid1}").exists()
        left = subprocess.run(["pgrep", "-f", "sleep 299.25"], capture_output=True, text=True).stdout
        assert not left.strip(), "the bot's background child outlived PID 1"
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()


def test_bot_cannot_read_the_mounted_keys(rwk, tmp_path):
    need_root_and_unshare()
    coinbase_vault(rwk)
    keys = docker_volume(tmp_path, rwk.identity, rwk.vault, NOBODY)
    res = run_image(image_tree(tmp_path, PROBE), keys, args=["profiles/probe.toml"])
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    assert "key-length 32" in out
    assert "READABLE" not in out and out.count("denied") >= 2, out


def test_build_context_holds_what_the_package_manifest_needs(tmp_path):
    """The files .dockerignore lets into the build context are a package SwiftPM
    loads (found by review: the test targets' directories were missing, and the
    Dockerfile's build failed before compiling anything)."""
    if not shutil.which("swift"):
        pytest.skip("needs the Swift toolchain")
    import fnmatch
    rules = [l.strip() for l in (REPO / ".dockerignore").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    allowed = [r[1:].rstrip("/") for r in rules[1:]]
    ctx = tmp_path / "ctx"
    for p in sorted(REPO.rglob("*")):
        rel = p.relative_to(REPO).as_posix()
        if rel.startswith((".build", ".venv", ".git")) or not p.is_file():
            continue
        if any(rel == a or rel.startswith(a + "/") or fnmatch.fnmatch(rel, a) for a in allowed):
            (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, ctx / rel)
    assert (ctx / "Makefile").exists() and (ctx / "Sources").is_dir()
    r = subprocess.run(["swift", "package", "--package-path", str(ctx), "describe", "--type", "json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "run-with-keys" in r.stdout
