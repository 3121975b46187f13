"""Key hygiene end to end: age warnings and enforcement at launch, forbidden
scopes, `audit --json` and its exit codes, the launch log, and `rotate`'s
bookkeeping (created kept, updated moved, previous value with a grace period).

Old keys are made the honest way: the test writes a vault document with past
timestamps and encrypts it with the real `age` CLI to the test's identity.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

from conftest import ERR, HINT, age_decrypt_doc, age_encrypt, assert_cli_error

DAY = 86400


def stamp(days_ago: float) -> str:
    t = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=days_ago * DAY)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_vault(rwk, entries: dict[str, dict]) -> None:
    """Replaces the vault with a document of `entries` (name -> fields), encrypted by age."""
    recipient = rwk.run("recipients", "list", check=True).stdout.decode().split()[0]
    doc = {"format": "run-with-keys/v1", "recipients": [recipient], "secrets": entries}
    rwk.vault.unlink()
    age_encrypt(json.dumps(doc).encode(), [recipient], rwk.vault)


def profile(rwk, name: str, keys: dict[str, str], extra: str = "", script: str = "import sys; sys.exit(0)") -> Path:
    marker = rwk.root / f"{name}.ran"
    body = (f'command = ["{sys.executable}", "-c", "open({str(marker)!r}, \\"w\\").close(); {script}"]\n'
            f"{extra}\n[keys]\n" + "".join(f'{v} = "{s}"\n' for v, s in keys.items()))
    path = rwk.home / "profiles" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return marker


def test_stale_key_warns_and_names_the_rotate_command(rwk):
    rwk.init()
    v = rwk.secret()
    write_vault(rwk, {"ex/key": {"value": v, "created": stamp(200), "updated": stamp(91)}})
    marker = profile(rwk, "bot", {"K": "ex/key"})
    res = rwk.run("run", "bot")
    assert res.returncode == 0, res.stderr
    assert marker.exists()
    err = res.stderr.decode()
    warning = [l for l in err.splitlines() if "warning" in l and "ex/key" in l]
    assert warning, err
    assert "91 days old" in warning[0] and "run-with-keys rotate ex/key" in warning[0]


def test_key_just_inside_max_age_does_not_warn(rwk):
    rwk.init()
    write_vault(rwk, {"ex/key": {"value": rwk.secret(), "created": stamp(89.9), "updated": stamp(89.9)}})
    profile(rwk, "bot", {"K": "ex/key"})
    res = rwk.run("run", "bot")
    assert res.returncode == 0
    assert b"warning" not in res.stderr, res.stderr


def test_enforce_max_age_refuses_and_starts_nothing(rwk):
    rwk.init()
    write_vault(rwk, {"ex/key": {"value": rwk.secret(), "updated": stamp(31)}})
    marker = profile(rwk, "bot", {"K": "ex/key"}, extra='[policy]\nmax_key_age = "30d"\nenforce_max_age = true')
    res = rwk.run("run", "bot")
    assert_cli_error(res, "ex/key", "31 days old", hint="run-with-keys rotate ex/key")
    assert not marker.exists()
    # One day younger passes.
    write_vault(rwk, {"ex/key": {"value": rwk.secret(), "updated": stamp(29)}})
    assert rwk.run("run", "bot").returncode == 0
    assert marker.exists()


def test_forbidden_scope_refuses(rwk):
    rwk.init()
    rwk.set("ex/key", rwk.secret(), "--scope", "view", "--scope", "withdraw")
    marker = profile(rwk, "bot", {"K": "ex/key"}, extra='[policy]\nforbid_scopes = ["withdraw"]')
    assert_cli_error(rwk.run("run", "bot"), "withdraw")
    assert not marker.exists()


def test_audit_json_flags_and_exit_codes(rwk):
    rwk.init()
    write_vault(rwk, {
        "ok/key": {"value": rwk.secret(), "created": stamp(5), "updated": stamp(5), "scopes": ["view"]},
        "old/key": {"value": rwk.secret(), "created": stamp(300), "updated": stamp(120), "scopes": ["trade"]},
        "orphan/key": {"value": rwk.secret(), "created": stamp(40), "updated": stamp(40)},
        "cash/key": {"value": rwk.secret(), "created": stamp(2), "updated": stamp(2), "scopes": ["view", "withdraw"]},
    })
    profile(rwk, "bot", {"A": "ok/key", "B": "old/key", "C": "cash/key", "D": "ghost/key"})
    res = rwk.run("audit", "--json")
    assert res.returncode == 1, res.stderr
    report = json.loads(res.stdout)
    flags = {s["name"]: s["flags"] for s in report["secrets"]}
    assert flags["ok/key"] == []
    assert flags["old/key"] == ["stale", "unused"]   # used by bot, but never launched in 30 days
    assert flags["orphan/key"] == ["unused"]
    assert flags["cash/key"] == ["withdraw-scope"]
    assert report["missing_secrets"] == [{"profile": "bot", "secret": "ghost/key"}]
    by_name = {s["name"]: s for s in report["secrets"]}
    assert by_name["ok/key"]["profiles"] == ["bot"] and by_name["orphan/key"]["profiles"] == []
    assert by_name["old/key"]["age_days"] == 120
    assert report["flagged"] is True

    # A clean vault and profile: exit 0.
    write_vault(rwk, {"ok/key": {"value": rwk.secret(), "created": stamp(5), "updated": stamp(5)}})
    profile(rwk, "bot", {"A": "ok/key"})
    res = rwk.run("audit", "--json")
    assert res.returncode == 0, res.stdout
    assert json.loads(res.stdout)["flagged"] is False
    assert rwk.run("audit").stdout.decode().rstrip().endswith("audit: clean")


def test_audit_reads_last_launch_from_the_launch_log(rwk):
    rwk.init()
    rwk.set("ok/key", rwk.secret())
    profile(rwk, "bot", {"A": "ok/key"})
    assert json.loads(rwk.run("audit", "--json").stdout)["secrets"][0]["last_launch"] is None
    assert rwk.run("run", "bot").returncode == 0
    last = json.loads(rwk.run("audit", "--json").stdout)["secrets"][0]["last_launch"]
    assert last is not None and abs(dt.datetime.strptime(last, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc).timestamp() - time.time()) < 120


def test_launch_log_records_names_never_values(rwk):
    rwk.init()
    value = rwk.secret(24)
    rwk.set("ex/key", value)
    profile(rwk, "bot", {"K": "ex/key"}, script="import sys; sys.exit(4)")
    assert rwk.run("run", "bot").returncode == 4
    log = rwk.home / "launches.log"
    raw = log.read_bytes()
    assert value.encode() not in raw
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    lines = [json.loads(l) for l in raw.decode().splitlines()]
    events = [l["event"] for l in lines]
    assert events == ["start", "exit"]
    start, end = lines
    assert start["profile"] == "bot" and start["keys"] == ["ex/key"] and start["pid"] > 0
    assert end["exit_code"] == 4 and "4" in end["status"] and end["restarts"] == 0
    assert start["uid"] == end["uid"]
    # --launch-log puts it elsewhere.
    other = rwk.root / "other.log"
    assert rwk.run("run", "--launch-log", other, "bot").returncode == 4
    assert len(other.read_text().splitlines()) == 2


def test_rotate_keeps_created_moves_updated_and_keeps_previous(rwk):
    rwk.init()
    old, new = rwk.secret(), rwk.secret()
    rwk.set("ex/key", old, "--scope", "trade")
    before = age_decrypt_doc(rwk.vault, rwk.identity)["secrets"]["ex/key"]
    time.sleep(1.1)
    res = rwk.run("rotate", "ex/key", "--keep-previous", "1h", input=new)
    assert res.returncode == 0, res.stderr
    after = age_decrypt_doc(rwk.vault, rwk.identity)["secrets"]["ex/key"]
    assert after["value"] == new and after["previous"] == old
    assert after["created"] == before["created"] and after["updated"] > before["updated"]
    assert after["scopes"] == ["trade"]
    until = dt.datetime.strptime(after["previous_until"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    assert 3500 < until.timestamp() - time.time() <= 3600

    # The bot sees both during the grace period.
    out = rwk.root / "env.json"
    script = f"import os,json; json.dump({{k: os.environ.get(k) for k in ['K','K_PREVIOUS']}}, open({str(out)!r},'w'))"
    profile(rwk, "bot", {"K": "ex/key"}, script=script)
    assert rwk.run("run", "bot").returncode == 0
    assert json.loads(out.read_text()) == {"K": new, "K_PREVIOUS": old}

    # A rotation without --keep-previous drops the old value.
    newer = rwk.secret()
    assert rwk.run("rotate", "ex/key", input=newer).returncode == 0
    doc = age_decrypt_doc(rwk.vault, rwk.identity)["secrets"]["ex/key"]
    assert doc["value"] == newer and "previous" not in doc


def test_rotate_unknown_name_and_empty_value(rwk):
    rwk.init()
    assert_cli_error(rwk.run("rotate", "nope", input="x"), "nope", hint="run-with-keys set nope")
    rwk.set("ex/key", rwk.secret())
    assert_cli_error(rwk.run("rotate", "ex/key", input=""), "empty")
    assert_cli_error(rwk.run("rotate", "ex/key", "--keep-previous", "soon", input="x"), "keep-previous")


def test_expires_is_recorded_warned_about_and_cleared(rwk):
    rwk.init()
    rwk.set("ex/key", rwk.secret(), "--expires", "90d")
    entry = rwk.list_json()[0]
    exp = dt.datetime.strptime(entry["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    assert abs(exp.timestamp() - (time.time() + 90 * DAY)) < 120
    # An expired key warns at launch (and audit flags it).
    rwk.run("rotate", "ex/key", "--expires", "2020-01-01T00:00:00Z", input=rwk.secret(), check=True)
    assert rwk.list_json()[0]["expires"] == "2020-01-01T00:00:00Z"
    marker = profile(rwk, "bot", {"K": "ex/key"})
    res = rwk.run("run", "bot")
    assert res.returncode == 0 and marker.exists()
    assert b"expired at 2020-01-01T00:00:00Z" in res.stderr, res.stderr
    assert "expired" in json.loads(rwk.run("audit", "--json").stdout)["secrets"][0]["flags"]
    # `none` clears it; a bad value is a usage error that changes nothing.
    rwk.run("rotate", "ex/key", "--expires", "none", input=rwk.secret(), check=True)
    assert rwk.list_json()[0]["expires"] is None
    before = rwk.vault.read_bytes()
    assert_cli_error(rwk.run("set", "ex/key", "--expires", "someday", input=rwk.secret()), "--expires")
    assert rwk.vault.read_bytes() == before
