"""`import FILE.env [--prefix P]`: values equal python-dotenv's (interpolate=False)."""
from __future__ import annotations

import dotenv
import pytest

from conftest import assert_cli_error, sha256, snapshot, values


def tricky_env(t: list[str]) -> str:
    """A .env with every construct we promise to understand; t are random tokens."""
    return (
        "# a comment line\n"
        "   # an indented comment\n"
        "\n"
        f"export EXPORTED={t[0]}\n"
        f"export   EXPORTED_DQ=\"{t[1]}\"\n"
        f"PLAIN={t[2]} # inline comment\n"
        f"PLAIN_TAB_COMMENT={t[3]}\t# after a tab\n"
        f"HASH_NO_SPACE=abc#{t[4]}\n"
        f"SINGLE='{t[5]} # not a comment $HOME \\n stays literal \\' quote'\n"
        f"DOUBLE=\"{t[6]} # not a comment\\nnewline \\\"quote\\\" \\\\ backslash \\t tab \\u00e9 \\q\"\n"
        f"MULTI_SINGLE='line1 {t[7]}\nline2 # not a comment\n  line3 \"dq\"'\n"
        f"MULTI_DOUBLE=\"-----BEGIN PRIVATE KEY-----\nMIIE{t[8]}\\\"x\\\"\n-----END PRIVATE KEY-----\n\"\n"
        f"DOLLAR=pa$$word${{HOME}}$USER{t[9]}$\n"
        f"DOLLAR_DQ=\"x$y${{Z}}{t[10]}\"\n"
        f"DOLLAR_SQ='${{NOPE}}{t[11]}'\n"
        f"SPACED   =   spaced value {t[12]}   \n"
        f"  INDENTED={t[13]}\n"
        f"QUOTED_THEN_COMMENT=\"{t[14]}\" # comment\n"
        f"SQ_TRAILING_SPACES='{t[15]}'   \n"
        f"UNICODE=cl\u00e9\U0001F511{t[16]}\n"
        f"EQUALS=a=b=={t[17]}\n"
        f"dotted.lower-key_1={t[18]}\n"
        f"CRLF={t[19]}\r\n"
        f"CRLF_DQ=\"{t[20]}\"\r\n"
        f"LEADING_HASH=#{t[21]}\n"
        f"QUOTE_INSIDE=it's-{t[22]}\n"
        f"LAST_NO_NEWLINE={t[23]}"
    )


@pytest.mark.parametrize("prefix", ["", "bot/"])
def test_import_matches_python_dotenv(rwk, prefix):
    rwk.init()
    tokens = [rwk.secret(12) for _ in range(24)]
    path = rwk.input_file("app.env", tricky_env(tokens))
    expected = dotenv.dotenv_values(path, interpolate=False)
    assert len(expected) == len(tokens) and all(v for v in expected.values())
    res = rwk.run("import", path, *(["--prefix", prefix] if prefix else []), check=True)
    got = values(rwk.doc())
    assert got == {prefix + k: v for k, v in expected.items()}
    # the report: names, a reminder to get rid of the plaintext, no values (the driver checks those)
    err = res.stderr.decode()
    assert f"imported {len(expected)} secrets" in err
    for k in expected:
        assert prefix + k in err
    hints = [line for line in err.splitlines() if line.startswith("run-with-keys: hint:")]
    assert any(("shred" in h or "delete" in h) and str(path) in h for h in hints), err
    assert res.stdout == b""
    assert path.exists()  # we remind; we don't delete the user's file


def test_import_skips_empty_values_with_a_warning(rwk):
    rwk.init()
    v = rwk.secret()
    path = rwk.input_file("e.env", f"EMPTY=\nEMPTY_DQ=\"\"\nEMPTY_SQ=''\nFULL={v}\n")
    res = rwk.run("import", path, check=True)
    assert values(rwk.doc()) == {"FULL": v}
    err = res.stderr.decode()
    for k in ("EMPTY", "EMPTY_DQ", "EMPTY_SQ"):
        assert f"skipped {k}" in err


def test_import_twice_is_a_rotation(rwk):
    import time
    rwk.init()
    path = rwk.input_file("a.env", f"A={rwk.secret()}\n")
    rwk.run("import", path, check=True)
    first = rwk.doc()["secrets"]["A"]
    time.sleep(1.1)
    v2 = rwk.secret()
    rwk.run("import", rwk.input_file("a.env", f"A={v2}\n"), check=True)
    second = rwk.doc()["secrets"]["A"]
    assert second["value"] == v2
    assert second["created"] == first["created"]
    assert second["updated"] > first["updated"]


@pytest.mark.parametrize("content,message", [
    ("A=1\nB=\"unterminated\nC=3\n", "line 2"),
    ("A=1\nB='x'junk\n", "line 2"),
    ("# only comments\n\n", "nothing was imported"),
    ("=novalue\nnot a line\n", "nothing was imported"),
])
def test_import_errors_change_nothing(rwk, content, message):
    rwk.init()
    rwk.set("kept", rwk.secret())
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    assert_cli_error(rwk.run("import", rwk.input_file("bad.env", content)), message)
    assert snapshot(rwk.home) == before and sha256(rwk.vault) == h


def test_import_missing_file_and_bad_prefix(rwk):
    rwk.init()
    before = snapshot(rwk.home)
    assert_cli_error(rwk.run("import", rwk.inputs / "nope.env"), "can't read")
    path = rwk.input_file("a.env", f"A={rwk.secret()}\n")
    assert_cli_error(rwk.run("import", path, "--prefix", "bad prefix/"), "invalid secret name")
    assert snapshot(rwk.home) == before


def test_import_bare_key_line_is_skipped_like_python_dotenv(rwk):
    rwk.init()
    v = rwk.secret()
    path = rwk.input_file("b.env", f"A={v}\nPASSED_THROUGH\n")
    assert dotenv.dotenv_values(path, interpolate=False) == {"A": v, "PASSED_THROUGH": None}
    res = rwk.run("import", path)
    assert res.returncode == 0, res.stderr
    assert values(rwk.doc()) == {"A": v}
    assert b"line 2" in res.stderr and b"warning" in res.stderr


@pytest.mark.parametrize("key", ["1ST_KEY", "coinbase/key", "MIIB+pasted/base64"])
def test_import_skips_keys_that_are_not_variable_names(rwk, key):
    """A deliberate divergence from python-dotenv, which takes anything up to '=': the
    base64 lines of an unquoted multi-line key would otherwise become secret *names*,
    printed by import, list and audit. Such lines are skipped with a line-number warning."""
    rwk.init()
    v = rwk.secret()
    rwk.track(key)
    path = rwk.input_file("k.env", f"{key}={v}\nGOOD=ok\n")
    assert dotenv.dotenv_values(path, interpolate=False) == {key: v, "GOOD": "ok"}
    res = rwk.run("import", path)
    assert res.returncode == 0, res.stderr
    assert values(rwk.doc()) == {"GOOD": "ok"}
    assert b"line 1: not a KEY=VALUE line, skipped" in res.stderr
