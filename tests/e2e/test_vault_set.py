"""`set`: rotation bookkeeping, scopes and notes, input sources."""
from __future__ import annotations

import re
import time

from conftest import assert_cli_error, sha256, snapshot, values

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_rotation_keeps_created_and_moves_updated(rwk):
    rwk.init()
    v1, v2, v3 = rwk.secret(), rwk.secret(), rwk.secret()
    t0 = time.time()
    res = rwk.set("cb/key", v1, "--scope", "view", "--scope", "trade", "--note", "main account")
    assert b"added cb/key" in res.stderr
    e1 = rwk.doc()["secrets"]["cb/key"]
    assert e1["value"] == v1
    assert RFC3339_Z.match(e1["created"]) and e1["created"] == e1["updated"]
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 - 2)) <= e1["created"]
    assert e1["scopes"] == ["view", "trade"] and e1["note"] == "main account"

    time.sleep(1.1)
    res = rwk.set("cb/key", v2)
    assert b"rotated cb/key" in res.stderr
    e2 = rwk.doc()["secrets"]["cb/key"]
    assert e2["value"] == v2
    assert e2["created"] == e1["created"]
    assert e2["updated"] > e1["updated"]
    assert e2["scopes"] == ["view", "trade"] and e2["note"] == "main account"  # kept when not given

    rwk.set("cb/key", v3, "--scope", "view", "--note", "read only now")
    e3 = rwk.doc()["secrets"]["cb/key"]
    assert e3["value"] == v3 and e3["created"] == e1["created"]
    assert e3["scopes"] == ["view"] and e3["note"] == "read only now"

    [listed] = rwk.list_json()
    assert listed["name"] == "cb/key" and listed["created"] == e1["created"] and listed["updated"] == e3["updated"]
    assert listed["scopes"] == ["view"] and listed["note"] == "read only now" and listed["age_days"] == 0
    assert set(listed) >= {"name", "created", "updated", "age_days", "scopes", "note"}
    assert "value" not in listed
    table = rwk.run("list", check=True).stdout.decode()
    assert "cb/key" in table and "view" in table and e1["created"][:10] in table


def test_rotation_of_one_name_leaves_others_alone(rwk):
    rwk.init()
    a, b = rwk.secret(), rwk.secret()
    rwk.set("a", a, "--scope", "x")
    rwk.set("b", b)
    before = rwk.doc()["secrets"]["a"]
    rwk.set("b", rwk.secret())
    assert rwk.doc()["secrets"]["a"] == before


def test_from_file_keeps_exact_bytes(rwk):
    rwk.init()
    token = rwk.secret()
    data = f"\n  leading and trailing whitespace {token}  \r\n\n"
    rwk.run("set", "f/exact", "--from-file", rwk.input_file("v", data), check=True)
    assert values(rwk.doc())["f/exact"] == data


def test_set_missing_from_file_changes_nothing(rwk):
    rwk.init()
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    assert_cli_error(rwk.run("set", "k", "--from-file", rwk.inputs / "missing"), "can't read")
    assert snapshot(rwk.home) == before and sha256(rwk.vault) == h


def test_set_refuses_oversized_stdin(rwk):
    rwk.init()
    before = snapshot(rwk.home)
    assert_cli_error(rwk.set("big", b"x" * (2 << 20), check=False), "larger than")
    assert snapshot(rwk.home) == before


def test_rm_removes_only_that_name(rwk):
    rwk.init()
    keep = rwk.secret()
    rwk.set("keep", keep)
    rwk.set("drop", rwk.secret())
    res = rwk.run("rm", "drop", check=True)
    assert b"removed drop" in res.stderr
    assert values(rwk.doc()) == {"keep": keep}
