"""Secret values never reach argv, stray files, or any command's output."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pexpect

from conftest import (RWK_BIN, age_encrypt, age_keygen, assert_cli_error, flip_bit, header_end, values,
                      write_private)


def proc_strings(kind: str):
    """(pid, bytes) of /proc/*/<kind> for every process we can read."""
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            yield int(d.name), (d / kind).read_bytes()
        except OSError:
            continue


def assert_not_in_proc(*needles: bytes) -> set[bytes]:
    cmdlines = set()
    for kind in ("cmdline", "environ"):
        for pid, data in proc_strings(kind):
            for n in needles:
                assert n not in data, f"secret found in /proc/{pid}/{kind}"
            if kind == "cmdline":
                cmdlines.add(data)
    return cmdlines


def test_value_never_in_any_cmdline_while_set_waits_on_slow_stdin(rwk):
    rwk.init()
    value = rwk.secret(24).encode()
    first, rest = value[:20], value[20:]
    p = rwk.popen("set", "slow/key", stdin=subprocess.PIPE)
    try:
        # wait until the binary has exec'd and is blocked reading stdin
        deadline = time.monotonic() + 20
        while True:
            try:
                cmd = Path(f"/proc/{p.pid}/cmdline").read_bytes()
                state = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                cmd, state = b"", "?"
            if b"slow/key" in cmd and state == "S":
                break
            assert time.monotonic() < deadline, "set never started waiting"
            time.sleep(0.02)
        time.sleep(0.2)
        assert p.poll() is None, "set did not wait for its value on stdin"
        cmdlines = assert_not_in_proc(value, first)
        assert any(b"slow/key" in c for c in cmdlines), "the scan did not see the set process"
        p.stdin.write(first)
        p.stdin.flush()
        for _ in range(5):
            assert_not_in_proc(value, first)
            time.sleep(0.05)
        assert p.poll() is None
        p.stdin.write(rest)
        p.stdin.close()
        while p.poll() is None:
            assert_not_in_proc(value, first)
        assert_not_in_proc(value, first)
    finally:
        if p.poll() is None:
            p.kill()
    out, err = p.stdout.read(), p.stderr.read()
    assert p.returncode == 0, err
    assert value not in out + err
    assert values(rwk.doc()) == {"slow/key": value.decode()}


def files_changed_since(roots: list[Path], since: float, skip: list[Path]):
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dp = Path(dirpath)
            if any(dp == s or s in dp.parents for s in skip):
                dirnames[:] = []
                continue
            for f in filenames:
                p = dp / f
                try:
                    st = p.lstat()
                    if not os.path.isfile(p) or os.path.islink(p):
                        continue
                    if max(st.st_mtime, st.st_ctime) >= since:
                        yield p
                except OSError:
                    continue


def test_value_never_written_anywhere_but_the_vault(rwk):
    since = time.time() - 1
    rwk.init()
    token = rwk.secret(24)
    other = rwk.secret(24)
    rwk.set("leak/stdin", f"stdin-{token}\n")
    rwk.run("set", "leak/file", "--from-file", rwk.input_file("pem", f"-----BEGIN-----\n{token}\n-----END-----\n"),
            check=True)
    rwk.set("leak/stdin", f"rotated-{token}", "--scope", "trade")
    rwk.run("import", rwk.input_file("app.env", f"IMPORTED='{token}'\nOTHER=\"{other}\"\n"),
            "--prefix", "imp/", check=True)
    rwk.run("list", check=True)
    rwk.list_json()
    id2 = rwk.root / "keys" / "second.txt"
    rec2 = age_keygen(id2)
    rwk.run("recipients", "add", rec2, check=True)
    rwk.run("recipients", "rm", rec2, check=True)
    rwk.run("list", env={"RUN_WITH_KEYS_IDENTITY_COMMAND": f"cat {rwk.identity}"}, check=True)
    assert_cli_error(rwk.set("bad name", token, check=False), "invalid")
    assert_cli_error(rwk.run("list", "--identity", id2), "can't decrypt")
    rwk.run("rm", "imp/OTHER", check=True)
    assert set(values(rwk.doc())) == {"leak/stdin", "leak/file", "imp/IMPORTED"}

    needles = [token.encode(), other.encode()]
    home_files = sorted(p.name for p in rwk.home.iterdir())
    assert home_files == ["identity.txt", "vault.age", "vault.age.lock"]
    for p in rwk.home.rglob("*"):
        data = p.read_bytes()
        for n in needles:
            assert n not in data, f"secret in plaintext in {p}"
    # new files anywhere in the temp dirs (our own inputs excluded: they are the plaintext sources)
    roots = [Path(d) for d in ("/tmp", "/var/tmp", "/dev/shm") if Path(d).is_dir()]
    scanned = 0
    for p in files_changed_since(roots, since, skip=[rwk.inputs]):
        try:
            data = p.read_bytes()
        except OSError:
            continue
        scanned += 1
        for n in needles:
            assert n not in data, f"secret in plaintext in {p}"
    assert scanned >= 3  # at least our home's files were looked at


def test_value_never_printed_on_any_path(rwk):
    rwk.init()
    token = rwk.secret(24)
    rwk.set("out/key", f"v-{token}", "--note", "a note", "--scope", "view")
    stranger = rwk.root / "keys" / "stranger.txt"
    age_keygen(stranger)

    results = [
        rwk.run("list", check=True),
        rwk.run("list", "--json", check=True),
        rwk.run("recipients", "list", check=True),
        rwk.set("out/key", f"v2-{token}", check=True),  # rotation message
    ]
    # error paths
    errors = [
        rwk.run("list", "--identity", stranger),
        rwk.set("out key", token, check=False),  # invalid name, value piped in
        rwk.set("out/bin", b"\xff\xfe" + token.encode(), check=False),  # not UTF-8
        rwk.run("import", rwk.input_file("bad1.env", f'A="{token}\n')),  # unterminated quote
        rwk.run("import", rwk.input_file("bad2.env", f'A="x"{token}\n')),  # junk after the quote
        rwk.run("import", rwk.input_file("bad3.env", f"1{token}\n")),  # no '=', not a key
        rwk.run("list", "--identity", rwk.input_file("notakey.env", f"SECRET={token}\n")),
        rwk.run("list", env={"RUN_WITH_KEYS_IDENTITY_COMMAND": f"echo {token}"}),
        rwk.run("list", env={"RUN_WITH_KEYS_IDENTITY_COMMAND": f"echo {token}; exit 1"}),
    ]
    tampered = rwk.root / "tampered.age"
    data = rwk.vault.read_bytes()
    write_private(tampered, flip_bit(data, header_end(data) + 20))
    errors.append(rwk.run("list", "--vault", tampered))
    # a document whose JSON breaks right after a secret value
    bad_doc = rwk.root / "baddoc.age"
    rec = age_keygen(rwk.root / "keys" / "doc.txt")
    age_encrypt(('{"format":"run-with-keys/v1","secrets":{"k":{"value":"%s\\q"}}}' % token).encode(), [rec], bad_doc)
    errors.append(rwk.run("list", "--vault", bad_doc, "--identity", rwk.root / "keys" / "doc.txt"))
    age_encrypt(('{"format":"run-with-keys/v1","secrets":{"k":{"value":"%s","bogus":1}}}' % token).encode(),
                [rec], bad_doc)
    errors.append(rwk.run("list", "--vault", bad_doc, "--identity", rwk.root / "keys" / "doc.txt"))

    for r in errors:
        assert_cli_error(r)
    for r in results + errors:
        assert r.stdout or r.stderr
        out = r.stdout + r.stderr
        assert token.encode() not in out, f"{r.args} printed the secret"


def test_import_does_not_echo_a_bare_secret_line(rwk):
    """A secret pasted on a line of its own (no '=') is reported by line number only."""
    rwk.init()
    token = "sk-" + rwk.secret(24)  # looks like a dotenv key: letters, digits, '-'
    path = rwk.input_file("pasted.env", f"API_KEY=placeholder\n{token}\n")
    res = rwk.run("import", path)  # the driver asserts the value is not printed
    assert b"line 2" in res.stderr
    if res.returncode == 0:
        assert values(rwk.doc()) == {"API_KEY": "placeholder"}
    else:
        assert_cli_error(res, "line 2")


def test_tty_prompt_does_not_echo(rwk):
    rwk.init()
    token = rwk.secret(24)
    child = pexpect.spawn(RWK_BIN, ["set", "tty/key"], env=rwk.env(), cwd=str(rwk.root), timeout=30)
    child.expect(r"Value for tty/key \(input hidden\): ")
    child.sendline(token)
    child.expect(pexpect.EOF)
    out = child.before
    child.close()
    assert child.exitstatus == 0, out
    assert token.encode() not in out, "the value was echoed on the terminal"
    assert values(rwk.doc()) == {"tty/key": token}
