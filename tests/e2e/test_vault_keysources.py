"""Where the vault's key comes from (docs/ARCHITECTURE.md, "The vault and its key"), first match wins:
--identity > RUN_WITH_KEYS_IDENTITY > $CREDENTIALS_DIRECTORY/run-with-keys.identity
> RUN_WITH_KEYS_IDENTITY_COMMAND > <home>/identity.txt."""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import age_decrypt_doc, age_encrypt, age_keygen, assert_cli_error, make_doc, values, write_private

LEVELS = ["flag", "env", "credentials", "command", "home"]


@pytest.fixture
def keys(rwk):
    """A vault encrypted (by the age CLI) to `good` only; `wrong` is a valid unrelated key."""
    kd = rwk.root / "keys"
    good, wrong = kd / "good.txt", kd / "wrong.txt"
    rec = age_keygen(good)
    age_keygen(wrong)
    for kind, src in (("good", good), ("wrong", wrong)):
        d = kd / f"creds-{kind}"
        d.mkdir()
        shutil.copy(src, d / "run-with-keys.identity")
        (d / "run-with-keys.identity").chmod(0o400)  # as systemd hands credentials over
    rwk.home.mkdir()
    age_encrypt(make_doc({"ks/name": rwk.secret()}), [rec], rwk.vault)
    return {"good": good, "wrong": wrong}


def configure(rwk, keys, choice: dict[str, str]) -> tuple[list, dict]:
    """Puts the good or wrong key at each level named in `choice`; returns (args, env)."""
    args, env = [], {}
    kd = rwk.root / "keys"
    for level, kind in choice.items():
        path = keys[kind]
        if level == "flag":
            args += ["--identity", path]
        elif level == "env":
            env["RUN_WITH_KEYS_IDENTITY"] = path
        elif level == "credentials":
            env["CREDENTIALS_DIRECTORY"] = kd / f"creds-{kind}"
        elif level == "command":
            env["RUN_WITH_KEYS_IDENTITY_COMMAND"] = f"cat '{path}'"
        elif level == "home":
            write_private(rwk.identity, path.read_bytes())
    return args, env


def source_label(rwk, keys, level: str) -> str:
    return {"flag": f"--identity {keys['wrong']}", "env": f"RUN_WITH_KEYS_IDENTITY ({keys['wrong']})",
            "credentials": "systemd credential", "command": "RUN_WITH_KEYS_IDENTITY_COMMAND",
            "home": str(rwk.identity)}[level]


@pytest.mark.parametrize("level", LEVELS)
def test_source_wins_over_every_lower_source(rwk, keys, level):
    i = LEVELS.index(level)
    choice = {level: "good", **{lower: "wrong" for lower in LEVELS[i + 1:]}}
    args, env = configure(rwk, keys, choice)
    assert rwk.names(*args, env=env) == ["ks/name"]


@pytest.mark.parametrize("level", LEVELS)
def test_wrong_key_at_a_source_is_not_rescued_by_lower_sources(rwk, keys, level):
    i = LEVELS.index(level)
    choice = {level: "wrong", **{lower: "good" for lower in LEVELS[i + 1:]}}
    args, env = configure(rwk, keys, choice)
    res = rwk.run("list", *args, env=env)
    assert_cli_error(res, "can't decrypt", source_label(rwk, keys, level))


@pytest.mark.parametrize("command,reason", [("exit 3", "exit status 3"),
                                            ("kill -9 $$", "killed by signal 9"),
                                            ("echo not-a-key", "malformed identity"),
                                            ("true", "no identities")])
def test_failing_identity_command(rwk, keys, command, reason):
    configure(rwk, keys, {"home": "good"})  # a working lower source must not be used
    res = rwk.run("list", env={"RUN_WITH_KEYS_IDENTITY_COMMAND": command})
    assert_cli_error(res, "RUN_WITH_KEYS_IDENTITY_COMMAND", reason)


def test_credentials_directory_without_the_file_falls_through(rwk, keys):
    args, env = configure(rwk, keys, {"command": "good", "home": "wrong"})
    empty = rwk.root / "creds-empty"
    empty.mkdir()
    env["CREDENTIALS_DIRECTORY"] = empty
    assert rwk.names(*args, env=env) == ["ks/name"]


def test_empty_variables_are_ignored(rwk, keys):
    configure(rwk, keys, {"home": "good"})
    env = {"RUN_WITH_KEYS_IDENTITY": "", "CREDENTIALS_DIRECTORY": "", "RUN_WITH_KEYS_IDENTITY_COMMAND": ""}
    assert rwk.names(env=env) == ["ks/name"]


def test_missing_identity_path_is_an_error_not_a_fallback(rwk, keys):
    configure(rwk, keys, {"home": "good"})
    missing = rwk.root / "keys" / "nope.txt"
    assert_cli_error(rwk.run("list", env={"RUN_WITH_KEYS_IDENTITY": missing}), str(missing))
    assert_cli_error(rwk.run("list", "--identity", missing), str(missing))


def test_identity_file_with_several_keys(rwk, keys):
    both = keys["wrong"].read_text() + "\n# and the right one\n" + keys["good"].read_text()
    path = write_private(rwk.root / "keys" / "both.txt", both)
    assert rwk.names("--identity", path) == ["ks/name"]


def test_home_identity_is_the_default(rwk, keys):
    configure(rwk, keys, {"home": "good"})
    assert rwk.names() == ["ks/name"]
    rwk.identity.unlink()
    assert_cli_error(rwk.run("list"), "no identity", hint="--identity")


def test_home_resolution_order(rwk):
    """--home > RUN_WITH_KEYS_HOME > $XDG_CONFIG_HOME/run-with-keys > ~/.config/run-with-keys."""
    r = rwk.root
    cases = [
        (["--home", r / "flag"], {"RUN_WITH_KEYS_HOME": r / "env", "XDG_CONFIG_HOME": r / "xdg"}, r / "flag"),
        ([], {"RUN_WITH_KEYS_HOME": r / "env", "XDG_CONFIG_HOME": r / "xdg"}, r / "env"),
        ([], {"RUN_WITH_KEYS_HOME": None, "XDG_CONFIG_HOME": r / "xdg"}, r / "xdg" / "run-with-keys"),
        ([], {"RUN_WITH_KEYS_HOME": None, "XDG_CONFIG_HOME": None}, rwk.userhome / ".config" / "run-with-keys"),
    ]
    for args, env, where in cases:
        res = rwk.run("init", *args, env=env, check=True)
        assert (where / "identity.txt").is_file() and (where / "vault.age").is_file(), (args, env)
        assert (where / "vault.age").stat().st_mode & 0o777 == 0o600
        assert res.stdout.decode().strip() in (where / "identity.txt").read_text()
    # --vault points anywhere; the identity still comes from the home
    v = rwk.secret()
    other = r / "elsewhere" / "v.age"
    other.parent.mkdir()
    (r / "flag" / "vault.age").rename(other)
    rwk.set("x", v, "--home", r / "flag", "--vault", other)
    assert values_of(other, r / "flag" / "identity.txt") == {"x": v}


def values_of(vault, identity):
    return values(age_decrypt_doc(vault, identity))


def test_global_options_before_the_subcommand(rwk, keys):
    """--home/--vault/--identity are global (docs/ARCHITECTURE.md, "The vault and its key"): they work before the subcommand too."""
    res = rwk.run("--home", rwk.home, "--identity", keys["good"], "list", "--json", env={"RUN_WITH_KEYS_HOME": None})
    assert res.returncode == 0, res.stderr
    assert [e["name"] for e in json.loads(res.stdout)] == ["ks/name"]
    res = rwk.run("--identity", keys["wrong"], "list")
    assert_cli_error(res, "can't decrypt")
