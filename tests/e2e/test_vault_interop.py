"""Interop with the age CLI and pyrage, in both directions (docs/ARCHITECTURE.md, "The vault and its key":
`age -d -i identity.txt vault.age | jq` always works)."""
from __future__ import annotations

import json
import os
import secrets
import string
import subprocess

import pexpect
import pyrage
import pytest

from conftest import (AGE, FORMAT, RWK_BIN, age_decrypt, age_decrypt_doc, age_encrypt, age_keygen, assert_cli_error,
                      interrupt_at_prompt, make_doc, values, write_private)


def rand_names(n: int) -> list[str]:
    return sorted(f"svc{i}/{secrets.token_hex(4)}" for i in range(n))


def passphrase_pipe(passphrase: str) -> int:
    """A pipe holding `passphrase\\n`; returns the read end (the caller closes it)."""
    r, w = os.pipe()
    os.write(w, passphrase.encode() + b"\n")
    os.close(w)
    return r


def list_with_passphrase_fd(rwk, passphrase: str, *args) -> subprocess.CompletedProcess:
    fd = passphrase_pipe(passphrase)
    try:
        return rwk.run(*args, "--passphrase-fd", fd, pass_fds=(fd,))
    finally:
        os.close(fd)


# =========================================================================== age CLI -> us


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_age_cli_x25519_vault_is_listed(rwk, armor):
    rec = age_keygen(rwk.identity)
    names = rand_names(3)
    doc = make_doc({n: rwk.secret() for n in names})
    age_encrypt(doc, [rec], rwk.vault, armor=armor)
    assert rwk.vault.read_bytes().startswith(b"-----BEGIN AGE ENCRYPTED FILE-----" if armor else b"age-encryption.org/v1\n")
    assert rwk.names() == names
    # and a write keeps it readable by the age CLI
    v = rwk.secret()
    rwk.set("added", v)
    assert values(rwk.doc())["added"] == v


def test_age_cli_several_recipients_each_identity_reads(rwk):
    ids = [rwk.root / "keys" / f"id{i}.txt" for i in range(3)]
    recs = [age_keygen(p) for p in ids]
    names = rand_names(2)
    age_encrypt(make_doc({n: rwk.secret() for n in names}), recs, rwk.vault)
    for p in ids:
        assert rwk.names("--identity", p) == names
    # and a key that is not a recipient is refused
    stranger = rwk.root / "keys" / "stranger.txt"
    age_keygen(stranger)
    assert_cli_error(rwk.run("list", "--identity", stranger), "can't decrypt")


def test_write_to_multi_recipient_age_vault_keeps_or_refuses(rwk):
    """A vault made by `age -r A -r B` has no "recipients" list: a write must not
    silently re-encrypt it to the writer alone (B would lose access)."""
    ida, idb = rwk.root / "keys" / "laptop.txt", rwk.root / "keys" / "server.txt"
    reca, recb = age_keygen(ida), age_keygen(idb)
    age_encrypt(make_doc({"k": rwk.secret()}), [reca, recb], rwk.vault)
    before = rwk.vault.read_bytes()
    v = rwk.secret()
    res = rwk.set("new", v, "--identity", ida, check=False)
    if res.returncode == 0:
        assert age_decrypt(rwk.vault, idb).returncode == 0, "server.txt silently lost access"
    else:
        assert_cli_error(res, "recipients", hint="recipients add")
        assert rwk.vault.read_bytes() == before
        # following the hint works, and keeps both
        rwk.run("recipients", "add", recb, "--identity", ida, check=True)
        rwk.set("new", v, "--identity", ida)
    for ident in (ida, idb):
        assert values(age_decrypt_doc(rwk.vault, ident))["new"] == v


@pytest.fixture(scope="session")
def age_passphrase_vault(tmp_path_factory):
    """A vault encrypted by `age -p` (through a pty). Built once: scrypt is slow."""
    d = tmp_path_factory.mktemp("agep")
    passphrase = secrets.token_urlsafe(12)
    names = rand_names(2)
    plain = d / "plain.json"
    plain.write_bytes(make_doc({n: secrets.token_hex(8) for n in names}))
    out = d / "vault.age"
    child = pexpect.spawn(AGE, ["-p", "-o", str(out), str(plain)], timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    child.expect("passphrase")
    child.sendline(passphrase)
    child.expect("onfirm")
    child.sendline(passphrase)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    data = out.read_bytes()
    assert b"-> scrypt " in data
    return data, passphrase, names


def test_age_cli_passphrase_vault_via_passphrase_fd(rwk, age_passphrase_vault):
    data, passphrase, names = age_passphrase_vault
    write_private(rwk.vault, data)
    res = list_with_passphrase_fd(rwk, passphrase, "list", "--json")
    assert res.returncode == 0, res.stderr
    assert [e["name"] for e in json.loads(res.stdout)] == names
    # a wrong passphrase is an error, not an empty vault
    res = list_with_passphrase_fd(rwk, passphrase + "x", "list", "--json")
    assert_cli_error(res)


def test_age_cli_passphrase_vault_via_tty_prompt(rwk, age_passphrase_vault):
    data, passphrase, names = age_passphrase_vault
    write_private(rwk.vault, data)
    child = pexpect.spawn(RWK_BIN, ["list", "--json"], env=rwk.env(), cwd=str(rwk.root), timeout=60)
    child.expect("Vault passphrase: ")
    child.sendline(passphrase)
    child.expect(pexpect.EOF)
    out = child.before.decode()
    child.close()
    assert child.exitstatus == 0, out
    assert passphrase not in out, "the passphrase was echoed"
    assert [e["name"] for e in json.loads(out.replace("\r\n", "\n").strip())] == names


def padded_document(size: int, padding: str, a: tuple[str, str], z: tuple[str, str]) -> tuple[bytes, str | None]:
    """A valid document of exactly `size` bytes. Returns (document, note or None)."""
    (na, va), (nz, vz) = a, z
    if padding == "inner_whitespace":
        head = '{"format":"%s","secrets":{"%s":{"value":"%s"},' % (FORMAT, na, va)
        tail = '"%s":{"value":"%s"}}}' % (nz, vz)
        n = size - len(head) - len(tail)
        return (head + (" \n\t\r" * (n // 4 + 1))[:n] + tail).encode(), None
    if padding == "trailing_whitespace":
        body = '{"format":"%s","secrets":{"%s":{"value":"%s"},"%s":{"value":"%s"}}}' % (FORMAT, na, va, nz, vz)
        n = size - len(body)
        return (body + (" \n" * (n // 2 + 1))[:n]).encode(), None
    assert padding == "note"
    head = '{"format":"%s","secrets":{"%s":{"value":"%s","note":"' % (FORMAT, na, va)
    tail = '"},"%s":{"value":"%s"}}}' % (nz, vz)
    n = size - len(head) - len(tail)
    note = "".join(secrets.choice(string.ascii_letters + " ") for _ in range(n))
    return (head + note + tail).encode(), note


@pytest.mark.parametrize("padding", ["inner_whitespace", "trailing_whitespace", "note"])
@pytest.mark.parametrize("size", [65535, 65536, 65537, 131072])
def test_age_cli_chunk_boundary_documents(rwk, size, padding):
    rec = age_keygen(rwk.identity)
    a = ("a/first", rwk.secret())
    z = ("z/last", rwk.secret())
    doc, note = padded_document(size, padding, a, z)
    assert len(doc) == size
    json.loads(doc)  # the document itself is valid JSON
    age_encrypt(doc, [rec], rwk.vault)
    listed = rwk.list_json()
    assert [e["name"] for e in listed] == ["a/first", "z/last"]
    assert listed[0]["note"] == note


def test_age_cli_minimal_document(rwk):
    rec = age_keygen(rwk.identity)
    age_encrypt(('{"format":"%s","secrets":{}}' % FORMAT).encode(), [rec], rwk.vault)
    assert rwk.list_json() == []
    res = rwk.run("list", check=True)
    assert b"empty" in res.stderr


def test_age_cli_escaped_json_values_survive_a_rewrite(rwk):
    """Values written by other tools with \\u escapes (surrogate pairs too), \\/ and
    control characters are decoded exactly and kept when we re-encrypt."""
    rec = age_keygen(rwk.identity)
    token = rwk.secret()
    vals = {
        "esc/unicode": "caf\u00e9 \u4e2d\u6587 \U0001F511 " + token,
        "esc/controls": "a\tb\nc\rd\x01e\x1f \"q\" \\ / " + token,
        "esc/long": token * 3000,
    }
    doc = json.dumps({"format": FORMAT, "secrets": {k: {"value": v} for k, v in vals.items()}},
                     ensure_ascii=True).replace("/", "\\/").encode()
    assert b"\\ud83d\\udd11" in doc and b"\\/" in doc
    age_encrypt(doc, [rec], rwk.vault)
    extra = rwk.secret()
    rwk.set("esc/added", extra)
    got = values(rwk.doc())
    assert got == {**vals, "esc/added": extra}


# =========================================================================== us -> age CLI and pyrage


def test_init_writes_private_files_and_prints_recipient(rwk):
    rec = rwk.init()
    assert rwk.home.stat().st_mode & 0o077 == 0  # the home is created private
    for p in (rwk.identity, rwk.vault):
        st = p.stat()
        assert st.st_mode & 0o777 == 0o600, (p, oct(st.st_mode))
        assert st.st_uid == os.getuid()
    derived = subprocess.run(["age-keygen", "-y", str(rwk.identity)], capture_output=True, text=True, check=True)
    assert derived.stdout.strip() == rec
    doc = rwk.doc()
    assert doc["secrets"] == {} and doc["recipients"] == [rec]
    # a second init refuses and changes nothing
    before = rwk.vault.read_bytes(), rwk.identity.read_bytes()
    assert_cli_error(rwk.run("init"), "already exists")
    assert (rwk.vault.read_bytes(), rwk.identity.read_bytes()) == before


def tricky_values(rwk) -> dict[str, tuple[bytes, str, str]]:
    """name -> (input bytes, how, expected stored value)."""
    token = rwk.secret()
    pem = ("-----BEGIN EC PRIVATE KEY-----\n"
           f"MHcCAQEEI{token}oAoGCCqGSM49\n"
           "AwEHoUQDQgAE\"quoted\" and 'single' \\back\\slash\\n \u00e9\u4e2d\U0001F511\ttab\r\n"
           "-----END EC PRIVATE KEY-----\n")
    t = [rwk.secret() for _ in range(4)]
    return {
        "pem/from-file": (pem.encode(), "file", pem),  # exact bytes, trailing newline kept
        "stdin/newline": (f"{t[0]}\n".encode(), "stdin", t[0]),
        "stdin/two-newlines": (f"{t[1]}\n\n".encode(), "stdin", f"{t[1]}\n"),
        "stdin/crlf": (f"{t[2]}\r\n".encode(), "stdin", t[2]),
        "stdin/multiline": (pem.replace(token, t[3]).encode(), "stdin", pem.replace(token, t[3])[:-1]),
    }


def test_values_decrypt_with_age_cli_and_pyrage(rwk):
    rwk.init()
    expected = {}
    for name, (data, how, want) in tricky_values(rwk).items():
        if how == "file":
            rwk.run("set", name, "--from-file", rwk.input_file(name.replace("/", "_"), data), check=True)
        else:
            rwk.set(name, data)
        expected[name] = want
    assert values(rwk.doc()) == expected
    ident = next(line for line in rwk.identity.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-1"))
    plain = pyrage.decrypt(rwk.vault.read_bytes(), [pyrage.x25519.Identity.from_str(ident)])
    assert values(json.loads(plain)) == expected


@pytest.mark.parametrize("target", [65535, 65536, 65537])
def test_our_chunk_boundary_vault_decrypts_with_age(rwk, target):
    rwk.init()
    rwk.set("pad", "p" * 1000)
    base = len(age_decrypt(rwk.vault, rwk.identity).stdout)
    rwk.set("pad", "q" * (1000 + target - base))  # a rotation keeps the layout
    r = age_decrypt(rwk.vault, rwk.identity)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) == target
    assert values(json.loads(r.stdout))["pad"] == "q" * (1000 + target - base)
    assert rwk.names() == ["pad"]


def test_recipients_add_and_rm_with_age_cli(rwk):
    rec1 = rwk.init()
    value = rwk.secret()
    rwk.set("shared/key", value)
    id2 = rwk.root / "keys" / "server.txt"
    rec2 = age_keygen(id2)

    res = rwk.run("recipients", "add", rec2, check=True)
    assert rec2.encode() in res.stderr
    assert rwk.run("recipients", "list", check=True).stdout.decode().split() == [rec1, rec2]
    for ident in (rwk.identity, id2):
        doc = age_decrypt_doc(rwk.vault, ident)
        assert values(doc) == {"shared/key": value}
        assert doc["recipients"] == [rec1, rec2]
    assert rwk.names("--identity", id2) == ["shared/key"]
    assert_cli_error(rwk.run("recipients", "add", rec2), "already")

    rwk.run("recipients", "rm", rec2, check=True)
    r = age_decrypt(rwk.vault, id2)
    assert r.returncode != 0 and b"no identity matched" in r.stderr
    assert values(rwk.doc()) == {"shared/key": value}
    assert rwk.run("recipients", "list", check=True).stdout.decode().split() == [rec1]
    assert_cli_error(rwk.run("list", "--identity", id2), "can't decrypt")
    assert_cli_error(rwk.run("recipients", "rm", rec1), "last recipient")
    assert_cli_error(rwk.run("recipients", "add", "age1" + "q" * 20), "recipient")


# =========================================================================== pyrage -> us


def test_pyrage_x25519_vault_is_listed(rwk):
    ident = pyrage.x25519.Identity.generate()
    write_private(rwk.identity, f"# throwaway\n{ident}\n")
    names = rand_names(3)
    doc = make_doc({n: rwk.secret() for n in names})
    write_private(rwk.vault, pyrage.encrypt(doc, [ident.to_public()]))
    assert rwk.names() == names
    # and our rewrite decrypts with pyrage again
    v = rwk.secret()
    rwk.set("added", v)
    assert values(json.loads(pyrage.decrypt(rwk.vault.read_bytes(), [ident])))["added"] == v


def test_pyrage_passphrase_vault_is_listed(rwk):
    passphrase = secrets.token_urlsafe(12)
    names = rand_names(2)
    write_private(rwk.vault, pyrage.passphrase.encrypt(make_doc({n: rwk.secret() for n in names}), passphrase))
    res = list_with_passphrase_fd(rwk, passphrase, "list", "--json")
    assert res.returncode == 0, res.stderr
    assert [e["name"] for e in json.loads(res.stdout)] == names


def test_init_passphrase_via_tty_then_set_decrypts_with_pyrage(rwk):
    passphrase = secrets.token_urlsafe(12)
    # mismatched confirmation: refused, nothing written
    child = pexpect.spawn(RWK_BIN, ["init", "--passphrase"], env=rwk.env(), cwd=str(rwk.root), timeout=60)
    child.expect("New vault passphrase: ")
    child.sendline(passphrase)
    child.expect("Confirm passphrase: ")
    child.sendline(passphrase + "x")
    child.expect(pexpect.EOF)
    out = child.before.decode()
    child.close()
    assert child.exitstatus == 125 and "do not match" in out
    assert not rwk.vault.exists()

    child = pexpect.spawn(RWK_BIN, ["init", "--passphrase"], env=rwk.env(), cwd=str(rwk.root), timeout=60)
    child.expect("New vault passphrase: ")
    child.sendline(passphrase)
    child.expect("Confirm passphrase: ")
    child.sendline(passphrase)
    child.expect(pexpect.EOF)
    out = child.before.decode()
    child.close()
    assert child.exitstatus == 0, out
    assert passphrase not in out, "the passphrase was echoed"
    assert not rwk.identity.exists()
    assert rwk.vault.stat().st_mode & 0o777 == 0o600

    # a write keeps the vault passphrase-encrypted, with the same passphrase
    v = rwk.secret()
    fd = passphrase_pipe(passphrase)
    try:
        res = rwk.run("set", "added", "--passphrase-fd", fd, input=v, pass_fds=(fd,))
    finally:
        os.close(fd)
    assert res.returncode == 0, res.stderr
    data = rwk.vault.read_bytes()
    assert data.count(b"\n-> ") == 1 and b"\n-> scrypt " in data
    doc = json.loads(pyrage.passphrase.decrypt(data, passphrase))
    assert doc["format"] == FORMAT and values(doc) == {"added": v}


def test_launch_prompt_takes_ctrl_c_and_a_passphrase(rwk, age_passphrase_vault):
    """A launch prompts while its Landlock ruleset is built on a second thread
    (every signal blocked there): Ctrl-C at the prompt ends the launch with 130
    and the terminal's echo back; a passphrase starts the bot."""
    data, passphrase, names = age_passphrase_vault
    write_private(rwk.vault, data)
    p = rwk.root / "p.toml"
    p.write_text(f'command = ["sh", "-c", "echo bot-ran"]\n[env]\ninherit = ["PATH"]\n'
                 f'[keys]\nK = {{ secret = "{names[0]}" }}\n')
    interrupt_at_prompt(f"{RWK_BIN} {p}", "Vault passphrase: ", rwk.env(), str(rwk.root))
    child = pexpect.spawn(RWK_BIN, [str(p)], env=rwk.env(), cwd=str(rwk.root), timeout=60)
    child.expect("Vault passphrase: ")
    child.sendline(passphrase)
    child.expect(pexpect.EOF)
    assert "bot-ran" in child.before.decode(), child.before.decode()
