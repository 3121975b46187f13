"""Helpers for the deployment tests (test_deploy_*.py): no container engine runs here,
so the image's command runs as PID 1 of a fresh PID + mount namespace
(`unshare --pid --fork --mount-proc`) in which the image's files and the volumes are
mounted at the paths the Dockerfile and the manifests give them.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, RWK_BIN

DOCKERFILE = REPO / "examples" / "Dockerfile"
KEYS_DIR = "/run/secrets/run-with-keys"   # where the Dockerfile and the manifests put the key material
NOBODY = 65534


def need_root_and_unshare() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: mount namespaces, chown and setpriv")
    if not shutil.which("unshare") or not shutil.which("setpriv"):
        pytest.skip("needs util-linux unshare and setpriv")


def final_stage() -> dict:
    """The runtime stage of examples/Dockerfile: WORKDIR, ENV, ENTRYPOINT, CMD, COPY (no --from)."""
    lines, cur = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        if raw.lstrip().startswith("#"):
            continue
        cur += raw.rstrip("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            lines.append(cur.strip())
            cur = ""
    stages = []
    for line in lines:
        if not line:
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            stages.append({"from": rest, "env": {}, "copy": [], "workdir": "/"})
        elif stages:
            st = stages[-1]
            w = word.upper()
            if w == "WORKDIR":
                st["workdir"] = rest
            elif w == "ENV":
                for item in shlex.split(rest):
                    k, _, v = item.partition("=")
                    st["env"][k] = v
            elif w in ("ENTRYPOINT", "CMD"):
                st[w.lower()] = json.loads(rest)
            elif w == "COPY":
                parts = rest.split()
                if not parts[0].startswith("--from"):
                    st["copy"].append((parts[0], parts[1]))
            elif w == "USER":
                st["user"] = rest
    return stages[-1]


def image_tree(root: Path, extra: dict[str, str] | None = None) -> Path:
    """The image's WORKDIR content, as the Dockerfile's COPY lines lay it out (root-owned)."""
    stage = final_stage()
    tree = root / "image-workdir"
    for src, dst in stage["copy"]:
        target = tree / dst
        shutil.copytree(REPO / src, target, dirs_exist_ok=True)
    for name, text in (extra or {}).items():   # what a derived image adds (FROM mybot; COPY …)
        (tree / name).write_text(text)
    for p in [tree, *tree.rglob("*")]:
        os.chown(p, 0, 0)
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return tree


def pid1_script(tree: Path, keys: Path, home_mode: int = 0o700, home_owner: tuple[int, int] = (0, 0),
                mounts: list[tuple[Path, str]] = ()) -> str:
    """Shell run as PID 1 of the new namespaces: mounts the image and the volumes, then execs."""
    stage = final_stage()
    workdir = stage["workdir"]
    home = stage["env"]["RUN_WITH_KEYS_HOME"]
    q = shlex.quote
    return "\n".join([
        "set -e",
        # The image's files at the image's paths, in this mount namespace only.
        f"mount -t tmpfs -o mode=0755 tmpfs {q(str(Path(workdir).parent))}",
        f"mkdir -p {q(workdir)} && mount --bind {q(str(tree))} {q(workdir)}",
        "mount -t tmpfs -o mode=0755 tmpfs /usr/local/bin",
        f"touch /usr/local/bin/run-with-keys && mount --bind {q(RWK_BIN)} /usr/local/bin/run-with-keys",
        f"mount -t tmpfs -o mode=0755 tmpfs {q(str(Path(home).parent))}",
        f"mkdir -p {q(home)} && chmod {home_mode:o} {q(home)} && chown {home_owner[0]}:{home_owner[1]} {q(home)}",
        # The volume, read-only, as the runtime mounts it.
        "mount -t tmpfs -o mode=0755 tmpfs /run",
        f"mkdir -p {q(KEYS_DIR)} && mount --bind {q(str(keys))} {q(KEYS_DIR)} && mount -o remount,bind,ro {q(KEYS_DIR)}",
        *[f"mount --bind {q(str(src))} {q(dst)} && mount -o remount,bind,ro {q(dst)}" for src, dst in mounts],
    ])


def run_image(tree: Path, keys: Path, args: list[str] | None = None, user: tuple[int, int] | None = None,
              groups: list[int] | None = None, timeout: float = 60, home_owner=(0, 0), home_mode=0o700,
              popen: bool = False, mounts: list[tuple[Path, str]] = ()):
    """Runs ENTRYPOINT + (args or CMD) with the image's ENV and WORKDIR as PID 1."""
    stage = final_stage()
    argv = stage["entrypoint"] + (args if args is not None else stage.get("cmd", []))
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", **stage["env"]}
    drop = []
    if user is not None:
        drop = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}"]
        drop += [f"--groups={','.join(map(str, groups))}"] if groups else ["--clear-groups"]
        env["HOME"] = "/"
    q = shlex.quote
    script = pid1_script(tree, keys, home_mode=home_mode, home_owner=home_owner, mounts=mounts) + "\n" + \
        f"cd {q(stage['workdir'])} && exec env -i {' '.join(q(f'{k}={v}') for k, v in env.items())} " + \
        " ".join(map(q, drop + argv))
    cmd = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "sh", "-c", script]
    if popen:
        out = popen if not isinstance(popen, bool) else subprocess.PIPE   # a file to write stdout to
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    return subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def coinbase_vault(rwk) -> dict[str, str]:
    """A vault with the secrets profiles/coinbase-exchange.toml's header names (throwaway values)."""
    import base64
    import secrets as s
    rwk.init()
    values = {"coinbase/key": rwk.secret(), "coinbase/secret": base64.b64encode(s.token_bytes(32)).decode(),
              "coinbase/passphrase": rwk.secret()}
    rwk.track(values["coinbase/secret"])
    for k, v in values.items():
        rwk.set(k, v)
    return values


# A bot for the probe profile: tries the key material through every path the volume offers.
PROBE_BOT = r'''
import os, sys
keys = sys.argv[1]
paths = [os.path.join(keys, n) for n in sorted(os.listdir(keys))]
paths += [os.path.join(keys, "..data", n) for n in ("identity", "vault.age")]
for p in paths:
    if os.path.isdir(p) and not os.path.islink(p):
        paths += [os.path.join(p, n) for n in os.listdir(p)]
for p in paths:
    if os.path.isdir(p):
        continue
    try:
        open(p, "rb").read(1)
        print("READABLE", p)
    except OSError as e:
        print("denied", p, e.errno)
print("uid", os.getuid(), "key-length", len(os.environ.get("APP_KEY", "")))
'''

PROBE = {"examples/bots/probe.py": PROBE_BOT, "profiles/probe.toml": None}
PROBE["profiles/probe.toml"] = """
command = ["python3", "examples/bots/probe.py", "%s"]
workdir = ".."
[env]
inherit = ["PATH"]
[keys]
APP_KEY = "coinbase/key"
[sandbox]
require = ["filesystem"]
""" % KEYS_DIR
