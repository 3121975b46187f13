"""Every failure: exit 125, one `run-with-keys: error:` line (plus hints), a useful
message, and nothing changed on disk."""
from __future__ import annotations

import fcntl
import os
import time

import pyrage
import pytest

from conftest import (age_encrypt, age_keygen, assert_cli_error, flip_bit, flip_header_mac, header_end, sha256,
                      snapshot, values, write_private)


@pytest.fixture
def ready(vault_with_secret):
    """(rwk, name, value): an initialised vault holding one secret."""
    return vault_with_secret


def unchanged(rwk, before: dict, vault_hash: str | None = None):
    assert snapshot(rwk.home) == before, "files under the home changed"
    if vault_hash is not None:
        assert sha256(rwk.vault) == vault_hash


@pytest.mark.parametrize("command", ["list", "set", "rm"])
def test_wrong_identity(ready, command):
    rwk, name, value = ready
    other = rwk.root / "keys" / "other.txt"
    age_keygen(other)
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    args = {"list": ["list"], "set": ["set", "new/key"], "rm": ["rm", name]}[command]
    res = rwk.run(*args, "--identity", other, input=rwk.secret() if command == "set" else None)
    line = assert_cli_error(res, "can't decrypt", str(other), hint="--identity")
    assert str(rwk.vault) in line
    unchanged(rwk, before, h)


def _tamper(kind: str, data: bytes) -> bytes:
    payload = header_end(data)
    return {
        "header-mac-bit": lambda: flip_header_mac(data),
        "header-version-bit": lambda: flip_bit(data, 5, 1),  # age-encryption.org -> age-encryptmon.org
        "payload-nonce-bit": lambda: flip_bit(data, payload + 3, 0),
        "payload-middle-bit": lambda: flip_bit(data, (payload + len(data)) // 2, 6),
        "payload-last-bit": lambda: flip_bit(data, len(data) - 1, 7),
        "truncated-payload": lambda: data[:-1],
        "truncated-to-header": lambda: data[:payload],
        "truncated-mid-header": lambda: data[:payload // 2],
        "trailing-garbage": lambda: data + b"\x00",
    }[kind]()


@pytest.mark.parametrize("kind", ["header-mac-bit", "payload-nonce-bit", "payload-middle-bit", "payload-last-bit",
                                  "truncated-payload", "truncated-to-header", "truncated-mid-header",
                                  "trailing-garbage"])
@pytest.mark.parametrize("command", ["list", "set"])
def test_tampered_vault(ready, kind, command):
    rwk, name, value = ready
    rwk.set("pad/key", "x" * 70_000)  # two payload chunks
    data = _tamper(kind, rwk.vault.read_bytes())
    write_private(rwk.vault, data)
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    args = ["list"] if command == "list" else ["set", "new/key"]
    res = rwk.run(*args, input=rwk.secret() if command == "set" else None)
    assert_cli_error(res, "damaged or was tampered with", hint="backup")
    unchanged(rwk, before, h)


def test_tampered_header_version_is_not_an_age_file(ready):
    rwk, name, value = ready
    write_private(rwk.vault, _tamper("header-version-bit", rwk.vault.read_bytes()))
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    assert_cli_error(rwk.run("list"), "not an age")
    unchanged(rwk, before, h)


# (a file with no newline used to be reported as "damaged or was tampered with"; fixed)


def _not_age(content: str, token: str) -> bytes:
    rnd = bytes(b for b in os.urandom(600) if b != 0x0A)[:500]
    return {
        "random-with-newline": rnd[:100] + b"\n" + rnd[100:],
        "random-no-newline": rnd,
        "json-with-newline": b'{"format":"run-with-keys/v1","secrets":{}}\n',
        "json-no-newline": b'{"format":"run-with-keys/v1","secrets":{}}',
        "dotenv": b"API_KEY=" + token.encode() + b"\n",
    }[content]


@pytest.mark.parametrize("content", ["random-with-newline", "random-no-newline", "json-with-newline",
                                     "json-no-newline", "dotenv"])
def test_not_an_age_file(rwk, content):
    rwk.init()
    write_private(rwk.vault, _not_age(content, rwk.secret()))
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    assert_cli_error(rwk.run("list"), "not an age-encrypted vault", hint="age-encryption.org/v1")
    assert_cli_error(rwk.set("k", rwk.secret(), check=False), "not an age-encrypted vault")
    unchanged(rwk, before, h)


def test_empty_vault_file(rwk):
    rwk.init()
    write_private(rwk.vault, b"")
    before = snapshot(rwk.home)
    line = assert_cli_error(rwk.run("list"))
    assert "not an age" in line or "damaged" in line
    unchanged(rwk, before)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
@pytest.mark.parametrize("which", ["identity", "vault"])
def test_unsafe_permissions(ready, which, mode):
    rwk, name, value = ready
    path = rwk.identity if which == "identity" else rwk.vault
    os.chmod(path, mode)
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    for args, inp in ((["list"], None), (["set", "new/key"], rwk.secret())):
        res = rwk.run(*args, input=inp)
        assert_cli_error(res, str(path), "group or others", oct(mode)[2:], hint=f"chmod 600 {path}")
    unchanged(rwk, before, h)
    assert path.stat().st_mode & 0o777 == mode  # we report, we don't silently fix
    os.chmod(path, 0o600)
    assert rwk.names() == [name]


@pytest.mark.parametrize("which", ["identity", "vault"])
def test_file_owned_by_someone_else(ready, which):
    rwk, name, value = ready
    if os.geteuid() != 0:
        pytest.skip("needs root to chown")
    path = rwk.identity if which == "identity" else rwk.vault
    os.chown(path, 65534, 65534)
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    assert_cli_error(rwk.run("list"), str(path), "owned by uid 65534", hint="chown")
    assert_cli_error(rwk.set("new/key", rwk.secret(), check=False), "owned by uid 65534")
    unchanged(rwk, before, h)
    assert path.stat().st_uid == 65534


def test_vault_that_is_a_directory(rwk):
    rwk.init()
    rwk.vault.unlink()
    rwk.vault.mkdir()
    assert_cli_error(rwk.run("list"), "not a regular file")


MISSING_CASES = ["list", "list --json", "set", "recipients list", "rm", "import", "recipients add", "recipients rm"]


@pytest.mark.parametrize("home_state", ["no-home-dir", "empty-home-dir"])
@pytest.mark.parametrize("command", MISSING_CASES)
def test_missing_vault(rwk, home_state, command):
    if home_state == "empty-home-dir":
        rwk.home.mkdir(mode=0o700)
    rec = age_keygen(rwk.root / "keys" / "id.txt")
    args = command.split()
    inp = None
    if args[0] == "set":
        args += ["some/key"]
        inp = rwk.secret()
    elif args[0] == "rm":
        args += ["some/key"]
    elif args[0] == "import":
        args += [rwk.input_file("a.env", f"A={rwk.secret()}\n")]
    elif args[0] == "recipients" and args[1] != "list":
        args += [rec]
    before = snapshot(rwk.home)
    existed = rwk.home.exists()
    res = rwk.run(*args, "--identity", rwk.root / "keys" / "id.txt", input=inp)
    assert_cli_error(res, "no vault at", str(rwk.vault), hint="init")
    assert rwk.home.exists() == existed
    assert snapshot(rwk.home) == before
    if existed:
        assert os.listdir(rwk.home) == []


def test_rm_unknown_name(ready):
    rwk, name, value = ready
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    assert_cli_error(rwk.run("rm", "no/such-key"), 'no secret named "no/such-key"', hint="list")
    unchanged(rwk, before, h)
    rwk.run("rm", name, check=True)
    assert rwk.names() == []


@pytest.mark.parametrize("bad", ["bad name", "a" * 129, "", "caf\u00e9", "new\nline", "semi;colon", "$HOME"],
                         ids=["space", "129-chars", "empty", "non-ascii", "newline", "semicolon", "dollar"])
@pytest.mark.parametrize("command", ["set", "rm"])
def test_invalid_name(ready, bad, command):
    rwk, name, value = ready
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    res = rwk.run(command, bad, input=rwk.secret() if command == "set" else None)
    assert_cli_error(res, "invalid secret name", hint="1 to 128")
    unchanged(rwk, before, h)


def test_name_of_128_chars_is_accepted(ready):
    rwk, name, value = ready
    long = "a/" + "B-._9" * 25 + "z"
    assert len(long) == 128
    v = rwk.secret()
    rwk.set(long, v)
    assert values(rwk.doc())[long] == v


@pytest.mark.parametrize("source", ["stdin-empty", "stdin-newline", "stdin-crlf", "file-empty"])
def test_empty_value(ready, source):
    rwk, name, value = ready
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    if source == "file-empty":
        res = rwk.run("set", name, "--from-file", rwk.input_file("empty", b""))
    else:
        res = rwk.run("set", name, input={"stdin-empty": b"", "stdin-newline": b"\n", "stdin-crlf": b"\r\n"}[source])
    assert_cli_error(res, "empty value", hint="--from-file")
    unchanged(rwk, before, h)
    assert values(rwk.doc())[name] == value  # the old value is intact


@pytest.mark.parametrize("data,message", [(b"\xff\xfe\xc3(binary", "not utf-8"), (b"ab\x00cd", "nul byte")],
                         ids=["not-utf8", "nul-byte"])
def test_value_that_is_binary(ready, data, message):
    rwk, name, value = ready
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    res = rwk.run("set", name, "--from-file", rwk.input_file("bin", data))
    assert_cli_error(res, message)
    unchanged(rwk, before, h)
    assert values(rwk.doc())[name] == value


def test_vault_locked_by_another_writer(ready):
    rwk, name, value = ready
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    lock = rwk.home / "vault.age.lock"
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        t = time.monotonic()
        res = rwk.run("set", "new/key", "--lock-timeout", "0.5", input=rwk.secret())
        elapsed = time.monotonic() - t
        assert_cli_error(res, "locked", hint="--lock-timeout")
        assert 0.45 <= elapsed < 5, elapsed
        res = rwk.run("rm", name, "--lock-timeout", "0")
        assert_cli_error(res, "locked")
        # readers don't need the lock
        assert rwk.names() == [name]
    unchanged(rwk, before, h)
    # once released, the write goes through
    v = rwk.secret()
    rwk.set("new/key", v, "--lock-timeout", "0.5")
    assert values(rwk.doc()) == {name: value, "new/key": v}


@pytest.mark.parametrize("timeout", ["nan", "inf", "1e300"])
def test_lock_timeout_out_of_range_is_a_usage_error(ready, timeout):
    rwk, name, value = ready
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    res = rwk.run("set", "new/key", f"--lock-timeout={timeout}", input=rwk.secret())
    assert_cli_error(res, "lock-timeout")
    unchanged(rwk, before, h)


def test_unknown_option_is_a_usage_error(ready):
    rwk, name, value = ready
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    assert_cli_error(rwk.run("set", name, "--value", "x"), "--value", hint="--help")
    unchanged(rwk, before, h)


def test_no_identity_anywhere(rwk):
    write_private(rwk.vault, pyrage.encrypt(b'{"format":"run-with-keys/v1","secrets":{}}',
                                            [pyrage.x25519.Identity.generate().to_public()]))
    # an X25519 vault with no identity anywhere: a clear "no identity" error; the vault
    # exists, so the hint is --identity (`init` would refuse: a vault exists)
    res = rwk.run("list")
    assert_cli_error(res, "no identity", hint="--identity")
    assert b"`run-with-keys init`" not in res.stderr


def test_age_file_for_another_tool_is_wrong_key_not_damage(rwk):
    """A valid age file for someone else is 'wrong key', never 'tampered'."""
    age_keygen(rwk.identity)
    rec = age_keygen(rwk.root / "keys" / "other.txt")
    age_encrypt(b'{"format":"run-with-keys/v1","secrets":{}}', [rec], rwk.vault)
    line = assert_cli_error(rwk.run("list"), "can't decrypt")
    assert "tampered" not in line
