"""`list` and `audit` take a fast path that skips ArgumentParser (ReportFastPath).
Its output must be the same bytes as the ArgumentParser path's, which
RUN_WITH_KEYS_ARGUMENT_PARSER=1 forces: checked on a vault of 1,000 secrets with
varied names, times (past, future, missing), expiries, scopes (unicode included)
and notes, written directly as a run-with-keys/v1 document and encrypted with `age`."""
from __future__ import annotations

import json
import random
import time

from conftest import FORMAT, age_encrypt

SLOW = {"RUN_WITH_KEYS_ARGUMENT_PARSER": "1"}


def rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def big_vault(rwk, n: int = 1000) -> dict:
    recipient = rwk.init()
    rng = random.Random(14)
    now = time.time()
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-"
    scopes_pool = ["prod", "dev", "ci", "withdraw", "équipe", "e\u0301t\u00e9", "日本", "a,b", "🔑"]
    secrets = {}
    while len(secrets) < n:
        name = rng.choice("abcdefghijklmnopqrstuvwxyz") + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        entry = {"value": rwk.secret(8)}
        if rng.random() < 0.9:
            created = now - rng.randint(0, 3000) * 86400 - rng.randint(0, 86399)
            entry["created"] = rfc3339(created)
            if rng.random() < 0.9:
                entry["updated"] = rfc3339(created + rng.randint(0, 400) * 3600)
        if rng.random() < 0.5:
            entry["scopes"] = rng.sample(scopes_pool, rng.randint(1, 3))
        if rng.random() < 0.3:
            entry["note"] = rng.choice(["rotated by hand", "ünïcødé \"quoted\" \\ tab\there", "line\nbreak", "\u0001ctl"])
        if rng.random() < 0.4:
            entry["expires"] = rfc3339(now + rng.randint(-500, 500) * 86400)
        secrets[name] = entry
    doc = {"format": FORMAT, "recipients": [recipient], "secrets": secrets}
    age_encrypt(json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode(), [recipient], rwk.vault)
    return secrets


def both(rwk, *args):
    fast = rwk.run(*args)
    slow = rwk.run(*args, env=SLOW)
    assert fast.returncode == slow.returncode, (fast.returncode, slow.returncode, slow.stderr)
    assert fast.stderr == slow.stderr
    assert fast.stdout == slow.stdout, f"{args}: fast and ArgumentParser paths differ"
    return fast


def test_list_and_audit_fast_path_is_byte_identical(rwk):
    secrets = big_vault(rwk)
    table = both(rwk, "list")
    assert table.returncode == 0
    lines = table.stdout.decode().splitlines()
    assert len(lines) == 1001 and lines[0].startswith("NAME ")
    assert [l.split(" ")[0] for l in lines[1:]] == sorted(secrets)
    assert any("EXPIRED " in l for l in lines) and any("日本" in l for l in lines)

    listed = json.loads(both(rwk, "list", "--json").stdout)
    assert [e["name"] for e in listed] == sorted(secrets)
    for e in listed:
        s = secrets[e["name"]]
        assert (e["created"], e["note"], e["scopes"]) == (s.get("created"), s.get("note"), s.get("scopes", []))

    both(rwk, "list", "--home", str(rwk.home), "--lock-timeout", "5")
    both(rwk, "--home", str(rwk.home), "list", "--json")
    audit = both(rwk, "audit")
    assert audit.returncode == 1 and audit.stdout.decode().rstrip().endswith("audit: flagged, see above")
    assert len(json.loads(both(rwk, "audit", "--json", "--launch-log", str(rwk.root / "none.log")).stdout)["secrets"]) == 1000


def test_fast_path_errors_and_odd_arguments_match(rwk):
    rwk.init()
    rwk.set("a", rwk.secret())
    for args in [("list", "--lock-timeout", "-1"), ("list", "--json", "--json"), ("list", "extra"),
                 ("list", "--bogus"), ("list", "--passphrase-fd"), ("audit", "--launch-log"),
                 ("--json", "list"), ("--launch-log", "x", "audit"), ("--home", "list", "list"), ("list", "audit"),
                 ("list", "--lock-timeout=5"), ("list", "--lock-timeout=1=2"), ("list", "--vault="), ("list", "--json="),
                 (f"--home={rwk.home}", "list", "--json"), ("audit", "--launch-log=", "--json")]:
        both(rwk, *args)
    res = both(rwk, "list", "--vault", str(rwk.root / "missing.age"))
    assert res.returncode == 125
