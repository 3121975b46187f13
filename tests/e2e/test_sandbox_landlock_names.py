"""The Landlock entries rules (rwk_landlock_add_entries) and names that bytes
and Swift Strings see differently: NFC/NFD twins, non-UTF-8 names (realpath's
bytes decoded with repair), a name that starts with a combining mark (one
Character with the slash before it). Every such hidden path stays hidden; where
the two disagree, the entry gets no rule. A directory on the way that
run-with-keys can search but not list, or list but not search, leaves its
entries hidden and does not stop the launch. (Found by review, 2026-11-30.)"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import Rwk
from launch_helpers import SYS_PY, Launch, bot, profile_text, stderr_text
from test_sandbox_landlock import EACCES, probe

SETPRIV = shutil.which("setpriv")


@pytest.fixture
def outside_tmp(scratch_dir):
    return scratch_dir("rwk-names-")


def _probe_profile(path: Path, *actions: str) -> Path:
    path.write_text(profile_text([SYS_PY, "-B", bot("landlock_probe.py"), *actions]))
    return path


def test_canonically_equivalent_names_keep_both_hidden(outside_tmp):
    # Two different directories whose names differ only in Unicode normalization:
    # run-with-keys' home under the NFC one, the profile under the NFD one.
    nfc, nfd = outside_tmp / "caf\u00e9", outside_tmp / "cafe\u0301"
    assert os.fsencode(nfc) != os.fsencode(nfd)
    nfc.mkdir(), nfd.mkdir()
    rwk = Rwk(outside_tmp / "root", home=nfc / "home")
    launch = Launch(rwk)
    launch.secret("app/key")
    prof = nfd / "bot.toml"
    actions = [f"read:{rwk.identity}", f"read:{rwk.vault}", f"write:{nfd / 'planted.toml'}"]
    _probe_profile(prof, *actions)
    out = probe_run(launch, prof)
    assert out[f"read:{rwk.identity}"] == EACCES, out
    assert out[f"read:{rwk.vault}"] == EACCES, out
    assert out[f"write:{nfd / 'planted.toml'}"] == EACCES, out


def test_a_hidden_path_through_a_non_utf8_directory_stays_hidden(outside_tmp):
    # run-with-keys' home reached through a link to a directory whose name is not UTF-8.
    raw = os.fsencode(outside_tmp) + b"/\xff"
    os.mkdir(raw, 0o700)
    os.symlink(b"\xff", os.fsencode(outside_tmp / "link"))
    rwk = Rwk(outside_tmp / "root", home=outside_tmp / "link" / "home")
    launch = Launch(rwk)
    launch.secret("app/key")
    real_identity = raw + b"/home/identity.txt"
    assert os.path.exists(real_identity)
    actions = [f"read:{rwk.identity}", f"read:{rwk.vault}"]
    prof = _probe_profile(launch.dir / "bot.toml", *actions)
    out = probe_run(launch, prof)
    assert out[f"read:{rwk.identity}"] == EACCES, out
    assert out[f"read:{rwk.vault}"] == EACCES, out


def probe_run(launch: Launch, prof: Path) -> dict:
    import json
    res = launch.run(prof)
    assert res.returncode == 0, stderr_text(res)
    return dict(json.loads(res.stdout.decode().strip().splitlines()[-1]))


@pytest.mark.skipif(os.geteuid() != 0 or SETPRIV is None, reason="needs root and setpriv to drop the DAC capabilities")
@pytest.mark.parametrize("mode", [0o711, 0o744], ids=["searchable-not-listable", "listable-not-searchable"])
def test_a_directory_on_the_way_we_cant_read_leaves_its_entries_hidden(outside_tmp, mode):
    """run-with-keys as root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (as a
    non-root operator would be): $CREDENTIALS_DIRECTORY lies under a directory of
    another user that it can't list (0711) or can list but not search (0744)."""
    os.chmod(outside_tmp, 0o755)
    rwk = Rwk(outside_tmp / "root", home=outside_tmp / "rwkhome")
    launch = Launch(rwk)
    launch.secret("app/key")
    shared = outside_tmp / "shared"
    (shared / "creds").mkdir(parents=True)
    (shared / "other").mkdir()
    os.chown(shared, 65534, 65534)
    os.chmod(shared, mode)
    prof = launch.profile("nodac", ["/bin/true"])
    argv = [SETPRIV, "--bounding-set", "-dac_override,-dac_read_search", "--", *rwk.argv("run", str(prof))]
    res = subprocess.run(argv, env=rwk.env({"CREDENTIALS_DIRECTORY": str(shared / "creds")}),
                         capture_output=True, timeout=30, cwd=rwk.root)
    assert res.returncode == 0, res.stderr.decode()


def test_a_name_that_starts_with_a_combining_mark_does_not_open_its_parent(outside_tmp):
    # run-with-keys' home under a directory whose name starts with U+0301: everythingBut
    # takes "<outside>/\u0301rwk" for one name in /var/tmp and rules <outside> itself.
    rwk = Rwk(outside_tmp / "root", home=outside_tmp / "\u0301rwk" / "home")
    launch = Launch(rwk)
    launch.secret("app/key")
    actions = [f"read:{rwk.identity}", f"read:{rwk.vault}"]
    out = probe_run(launch, _probe_profile(launch.dir / "bot.toml", *actions))
    assert out[f"read:{rwk.identity}"] == EACCES, out
    assert out[f"read:{rwk.vault}"] == EACCES, out


def test_an_allowlist_entry_above_key_material_is_refused_whatever_the_names(outside_tmp):
    area = outside_tmp / "area"   # the allowlisted directory; the profiles live beside it
    (area / "\u0301rwk" / "home").mkdir(mode=0o700, parents=True)   # init splits the path at Characters too
    rwk = Rwk(outside_tmp / "root", home=area / "\u0301rwk" / "home")
    launch = Launch(rwk)
    launch.secret("app/key")
    p = launch.profile("allow", [SYS_PY, "-B", bot("landlock_probe.py"), f"read:{rwk.identity}"],
                       sandbox={"filesystem": "allowlist", "exec": ["/usr"],
                                "read": [str(area), str(Path(bot("landlock_probe.py")).parent)]})
    res = launch.check(p)
    if res.returncode == 0:   # accepted: then the bot must still not read the identity
        out = probe_run(launch, p)
        assert out[f"read:{rwk.identity}"] == EACCES, out
    assert res.returncode == 125 and b"contains run-with-keys' key material" in res.stderr, res.stderr
