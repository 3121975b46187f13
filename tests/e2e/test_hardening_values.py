"""Issue 13, fault 2 (values that can't be delivered intact are refused) and
fault 7 (a malformed vault document never echoes a value). Throwaway keys only."""
from __future__ import annotations

import json
import os
import secrets

from conftest import age_encrypt, age_keygen, assert_cli_error
from launch_helpers import assert_error, launch, profile_text  # noqa: F401

ENV = "/usr/bin/env"
TOUCH = "/usr/bin/touch"


def hand_written_vault(rwk, text: str):
    """Replaces the vault with a hand-written JSON document encrypted by the age CLI."""
    rec = age_keygen(rwk.identity)
    rwk.vault.unlink(missing_ok=True)
    age_encrypt(text.encode(), [rec], rwk.vault)


def test_nul_in_a_vault_value_is_refused_at_launch(launch):
    rwk = launch.rwk
    tail = secrets.token_hex(8)
    rwk.track(tail)
    hand_written_vault(rwk, '{"format":"run-with-keys/v1","secrets":{"app/key":{"value":"head\\u0000' + tail
                       + '"},"app/ok":{"value":"fine"}}}')
    marker = launch.out / "ran"
    p = launch.profile("nul", [TOUCH, str(marker)], keys={"K": "app/key"})
    for res in (launch.run(p), launch.check(p)):
        line = assert_error(res, 125, '"app/key"', "nul", hint="run-with-keys set app/key")
        assert "head" not in line
    assert not marker.exists()
    # As a file, too; and through exec.
    p = launch.profile("nulfile", [TOUCH, str(marker)], keys={"K": {"secret": "app/key", "as": "file"}})
    assert_error(launch.run(p), 125, '"app/key"', "nul")
    assert_error(rwk.run("exec", "--key", "K=app/key", "--", TOUCH, marker), 125, '"app/key"', "nul")
    assert not marker.exists()
    # The rest of the vault still works, and the value can be replaced.
    assert sorted(rwk.names()) == ["app/key", "app/ok"]
    rwk.set("app/key", "now-fine")
    p = launch.profile("ok", [TOUCH, str(marker)], keys={"K": "app/key"})
    assert launch.run(p).returncode == 0
    assert marker.exists()


def test_nul_in_a_previous_value_is_refused(launch):
    rwk = launch.rwk
    hand_written_vault(rwk, '{"format":"run-with-keys/v1","secrets":{"app/key":{"value":"cur",'
                       '"previous":"old\\u0000x","previous_until":"2999-01-01T00:00:00Z"}}}')
    p = launch.profile("prev", [TOUCH, str(launch.out / "ran")], keys={"K": "app/key"})
    assert_error(launch.check(p), 125, '"app/key"', "nul")


def test_toml_nul_in_command_and_env_is_refused(launch):
    marker = launch.out / "ran"
    # --dry-run\u0000 --live would run as --dry-run
    text = f'command = ["{TOUCH}", "{marker}\\u0000 --live"]\n'
    p = launch.write("cmd", text)
    for res in (launch.run(p), launch.check(p)):
        assert_error(res, 125, "cmd.toml", "nul", "line 1", hint="\\u0000")
    p = launch.write("env", f'command = ["{TOUCH}", "{marker}"]\n[env]\nset = {{ MODE = "paper\\u0000live" }}\n')
    assert_error(launch.check(p), 125, "env.toml", "nul", "line 3")
    p = launch.write("wd", f'command = ["{TOUCH}", "{marker}"]\nworkdir = "/tmp\\u0000/x"\n')
    assert_error(launch.check(p), 125, "wd.toml", "nul", "line 2")
    # In a literal string or a comment it is just text: no NUL.
    p = launch.write("lit", f"command = ['{TOUCH}', '{marker}']  # not a \\u0000 escape\n[env]\nset = {{ X = '\\u0000' }}\n")
    assert launch.check(p).returncode == 0
    assert not marker.exists()


def test_oversized_env_value_is_caught_by_check(launch):
    big = "x" * 200_000
    launch.secret("big/value", big)
    marker = launch.out / "ran"
    p = launch.profile("big", [TOUCH, str(marker)], keys={"BIG": "big/value"})
    for res in (launch.check(p), launch.run(p)):
        line = assert_error(res, 125, "BIG", "131072", "MAX_ARG_STRLEN", hint='as = "file"')
        assert "E2BIG" in line
    assert not marker.exists()
    # As a file it works.
    p = launch.profile("bigfile", [TOUCH, str(marker)], keys={"BIG": {"secret": "big/value", "as": "file"}})
    res = launch.run(p)
    assert res.returncode == 0, res.stderr
    assert marker.exists()


def test_total_environment_over_arg_max_is_caught(launch):
    """Many values each under 128 KiB, together over ARG_MAX (the stack rlimit / 4)."""
    limit = os.sysconf("SC_ARG_MAX")
    count = limit // 120_000 + 2
    keys = {}
    for i in range(count):
        launch.secret(f"part/{i}", secrets.token_hex(60_000))
        keys[f"PART{i}"] = f"part/{i}"
    p = launch.profile("total", [TOUCH, str(launch.out / "ran")], keys=keys)
    assert_error(launch.check(p), 125, "ARG_MAX", str(limit), hint='as = "file"')


def test_value_where_a_name_should_be_is_not_echoed(rwk):
    value = "sk_live_" + secrets.token_hex(20)   # an "API key" typed as a name, with a space to make it invalid
    rwk.track(value)
    hand_written_vault(rwk, json.dumps({"format": "run-with-keys/v1",
                                        "secrets": {"ok": {"value": "v"}, value + " !": {"value": "y"}}}))
    res = rwk.run("list")
    line = assert_cli_error(res, "secret #2", "not a valid secret name")
    assert value[:8] not in res.stderr.decode()
    assert "sk_live" not in line


def test_nul_from_every_other_source_is_refused(rwk):
    """set (pipe and --from-file), import and exec --env-file refuse a NUL byte too."""
    rwk.init()
    tail = secrets.token_hex(8)
    rwk.track(tail)
    value = b"head\0" + tail.encode()
    assert_cli_error(rwk.run("set", "a/pipe", input=value), '"a/pipe"', "nul")
    f = rwk.input_file("v.bin", value)
    assert_cli_error(rwk.run("set", "a/file", "--from-file", f), '"a/file"', "nul")
    env = rwk.input_file("x.env", b"API_KEY=" + value + b"\n")
    assert_cli_error(rwk.run("import", env), "nul")
    plain = rwk.input_file("p.env", b"MODE=paper\0live\n")
    assert_cli_error(rwk.run("exec", "--env-file", plain, "--", TOUCH, rwk.root / "ran"), "nul")
    assert not (rwk.root / "ran").exists()
    assert rwk.names() == []
