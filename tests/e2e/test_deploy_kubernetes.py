"""examples/kubernetes/: the projected Secret + ConfigMap volume as the kubelet writes
it (root-owned files in a timestamped directory, the `..data` symlink, one top-level
symlink per key, defaultMode, fsGroup), mounted read-only, and the image's command
run against it as PID 1, as the Deployment's uid and as root."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from deploy_helpers import KEYS_DIR, PROBE, coinbase_vault, final_stage, image_tree, need_root_and_unshare, run_image

K8S = REPO / "examples" / "kubernetes"


def deployment() -> dict:
    return yaml.safe_load((K8S / "deployment.yaml").read_text())


def test_manifest_matches_the_image():
    d = deployment()
    pod = d["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert "command" not in c, "run-with-keys stays the ENTRYPOINT"
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert mounts["keys"]["mountPath"] == KEYS_DIR and mounts["keys"]["readOnly"] is True
    assert mounts["state"]["mountPath"] == final_stage()["env"]["RUN_WITH_KEYS_HOME"]
    vol = {v["name"]: v for v in pod["volumes"]}["keys"]["projected"]
    kinds = {next(iter(s)) for s in vol["sources"]}
    assert kinds == {"secret", "configMap"}
    paths = {i["path"] for s in vol["sources"] for i in next(iter(s.values()))["items"]}
    assert paths == {"identity", "vault.age"}
    assert (REPO / c["args"][0]).is_file() or (REPO / "profiles" / Path(c["args"][0]).name).is_file()
    assert yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"] == ["deployment.yaml"]


def projected_volume(root: Path, identity: Path | None, vault: Path | None, mode: int, fs_group: int | None,
                     files: dict[str, Path] | None = None, name: str = "volume") -> Path:
    """The kubelet's atomic-writer layout of a projected volume: a sticky tmpfs root
    (setgid with fsGroup), a timestamped directory, `..data`, one symlink per key."""
    vol = root / name
    ts = vol / "..2026_11_29_21_00_00.123456789"
    ts.mkdir(parents=True)
    group = fs_group if fs_group is not None else 0
    file_mode = mode | 0o440 if fs_group is not None else mode   # fsGroup adds group read
    for name, src in (files or {"identity": identity, "vault.age": vault}).items():
        shutil.copy(src, ts / name)
        os.chown(ts / name, 0, group)
        os.chmod(ts / name, file_mode)
        os.symlink(f"..data/{name}", vol / name)
    os.symlink(ts.name, vol / "..data")
    for d in (vol, ts):
        os.chown(d, 0, group)
        os.chmod(d, (0o3777 if fs_group is not None else 0o1777) if d == vol else 0o755)
    return vol


CASES = [  # (uid, fsGroup, defaultMode)
    (10001, 10001, 0o440),   # the shipped Deployment
    (10001, 10001, 0o400),
    (10001, None, 0o644),    # no fsGroup: world-readable default, on a read-only mount
    (0, None, 0o400),        # as root
    (0, None, 0o644),        # as root, the default defaultMode
    (0, 10001, 0o440),
]


@pytest.mark.parametrize("uid,fs_group,mode", CASES, ids=[f"uid{u}-fsg{g}-{m:o}" for u, g, m in CASES])
def test_shipped_profile_against_the_projected_volume(rwk, tmp_path, uid, fs_group, mode):
    need_root_and_unshare()
    coinbase_vault(rwk)
    vol = projected_volume(tmp_path, rwk.identity, rwk.vault, mode, fs_group)
    assert os.path.islink(vol / "identity") and os.path.islink(vol / "..data")
    user = (uid, uid) if uid else None
    groups = [fs_group] if uid and fs_group is not None else None
    # emptyDir with fsGroup: group-owned by it, setgid, writable by the pod's user.
    res = run_image(image_tree(tmp_path), vol, args=deployment()["spec"]["template"]["spec"]["containers"][0]["args"],
                    user=user, groups=groups, home_owner=(0, fs_group or uid), home_mode=0o2777)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    assert b"coinbase-exchange: ok, signed GET /accounts offline" in res.stdout
    rwk.assert_no_leak(res)


@pytest.mark.parametrize("uid,profile_user", [(10001, None), (0, None), (0, "nobody")],
                         ids=["pod-uid-10001", "root", "root-drops-to-profile-user-nobody"])
def test_bot_cannot_reach_the_key_through_any_symlink(rwk, tmp_path, uid, profile_user):
    need_root_and_unshare()
    coinbase_vault(rwk)
    vol = projected_volume(tmp_path, rwk.identity, rwk.vault, 0o400 if profile_user else 0o440,
                           None if profile_user else 10001)
    probe = dict(PROBE)
    if profile_user:
        probe["profiles/probe.toml"] = f'user = "{profile_user}"\n' + probe["profiles/probe.toml"]
    res = run_image(image_tree(tmp_path, probe), vol, args=["profiles/probe.toml"],
                    user=(uid, uid) if uid else None, groups=[10001] if uid else None,
                    home_owner=(0, 10001), home_mode=0o2777)
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    bot_uid = 65534 if profile_user == "nobody" else uid
    assert f"uid {bot_uid} key-length 32" in out
    # identity, vault.age, ..data/{identity,vault.age}, ..2026…/{identity,vault.age}
    assert "READABLE" not in out and out.count("denied") >= 6, out


def test_group_writable_secret_file_is_still_refused(rwk, tmp_path):
    """The read-only mount excuses the owner and read bits, never write bits."""
    need_root_and_unshare()
    coinbase_vault(rwk)
    vol = projected_volume(tmp_path, rwk.identity, rwk.vault, 0o460, 10001)
    res = run_image(image_tree(tmp_path), vol, user=(10001, 10001), groups=[10001],
                    home_owner=(0, 10001), home_mode=0o2777)
    assert res.returncode == 125
    err = res.stderr.decode()
    assert "writable by group or others" in err and "mode 0460" in err and "read-only mount" in err
    assert b"coinbase-exchange" not in res.stdout


def test_profiles_from_a_configmap_volume(rwk, tmp_path):
    """Profiles mounted from a ConfigMap (root-owned files behind ..data in a sticky
    directory) pass the profile trust checks; relative paths resolve against the mount."""
    need_root_and_unshare()
    coinbase_vault(rwk)
    keys = projected_volume(tmp_path, rwk.identity, rwk.vault, 0o440, 10001)
    shipped = REPO / "profiles" / "coinbase-exchange.toml"
    profiles = projected_volume(tmp_path, None, None, 0o644, 10001, files={"coinbase-exchange.toml": shipped},
                                name="profiles-cm")
    workdir = final_stage()["workdir"]
    res = run_image(image_tree(tmp_path), keys, user=(10001, 10001), groups=[10001], home_owner=(0, 10001),
                    home_mode=0o2777, mounts=[(profiles, workdir + "/profiles")])
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    assert b"coinbase-exchange: ok, signed GET /accounts offline" in res.stdout


def test_secret_update_swaps_data_and_the_bot_reloads(rwk, tmp_path):
    """The kubelet updates a volume by writing a new timestamped directory and renaming a
    new `..data` symlink over the old one; with reload = "restart" the bot restarts with
    the new key (inotify sees the `..data` swap)."""
    import signal
    import time
    need_root_and_unshare()
    coinbase_vault(rwk)
    vol = projected_volume(tmp_path, rwk.identity, rwk.vault, 0o440, 10001)
    bot = {"profiles/reload.toml":
           'command = ["/bin/sh", "-c", "printf %s \\"$K\\" | sha256sum | cut -c1-16; exec sleep 299.75"]\n'
           '[keys]\nK = "coinbase/key"\n[restart]\nreload = "restart"\nstop_timeout = "2s"\n'}
    out_path = tmp_path / "stdout"
    with open(out_path, "wb") as out:
        p = run_image(image_tree(tmp_path, bot), vol, args=["profiles/reload.toml"], user=(10001, 10001),
                      groups=[10001], home_owner=(0, 10001), home_mode=0o2777, popen=out)
    try:
        def hashes():
            return [l for l in out_path.read_text().splitlines() if len(l) == 16]
        deadline = time.monotonic() + 20
        while not hashes() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(hashes()) == 1, out_path.read_text()
        time.sleep(0.5)
        rwk.set("coinbase/key", rwk.secret())               # rotate, then publish like the kubelet
        new = vol / "..2026_11_29_22_00_00.987654321"
        new.mkdir()
        for name, src in (("identity", rwk.identity), ("vault.age", rwk.vault)):
            shutil.copy(src, new / name)
            os.chown(new / name, 0, 10001)
            os.chmod(new / name, 0o440)
        os.chmod(new, 0o755)
        os.symlink(new.name, vol / "..data_tmp")
        os.rename(vol / "..data_tmp", vol / "..data")
        deadline = time.monotonic() + 20
        while len(hashes()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        h = hashes()
        assert len(h) == 2 and h[0] != h[1], (h, p.stderr.peek() if hasattr(p.stderr, "peek") else "")
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.communicate(timeout=30)
