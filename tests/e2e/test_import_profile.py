"""`import FILE.env --prefix P --profile NAME [-- CMD…]`: a profile that `check`
accepts and `run` launches, with plain settings in [env] set and the rest in the vault."""
from __future__ import annotations

import os
import stat
import tomllib

import dotenv

from conftest import assert_cli_error, sha256, snapshot, values
from launch_helpers import PY, launch, stderr_text  # noqa: F401

REPORT = (
    "import os, hashlib\n"
    "for k in ['LOG_LEVEL', 'PORT', 'DRY_RUN', 'API_URL']: print(k, os.environ.get(k))\n"
    "for k in ['EXCHANGE_API_KEY', 'EXCHANGE_SECRET', 'SIGNING_PEM', 'WEBHOOK_TOKEN']:\n"
    "    print(k, hashlib.sha256(os.environ[k].encode()).hexdigest())\n"
)


def realistic_env(rwk) -> tuple[str, dict]:
    key, secret, token = rwk.secret(), rwk.secret(), rwk.secret(10)
    body = rwk.secret(24)
    pem = f"-----BEGIN EC PRIVATE KEY-----\nMHc{body}\nAoGB{body[:10]}\n-----END EC PRIVATE KEY-----"
    text = (
        "\ufeff# exported from the old server\n"
        f"EXCHANGE_API_KEY={key}\n"
        f"export EXCHANGE_SECRET=\"{secret}\"\n"
        "LOG_LEVEL=debug\n"
        "export PORT=8080\n"
        "DRY_RUN=true\n"
        "API_URL=https://api.example.com/v3\n"
        f"SIGNING_PEM=\"{pem}\n\"\n"
        f"WEBHOOK_TOKEN='{token}'\n"
        f"EXCHANGE_API_KEY={key}\n"          # twice: reported once
    )
    return text, {"EXCHANGE_API_KEY": key, "EXCHANGE_SECRET": secret, "SIGNING_PEM": pem + "\n", "WEBHOOK_TOKEN": token}


def test_import_profile_from_a_realistic_env_checks_and_runs(launch):
    import hashlib
    rwk = launch.rwk
    text, secrets_ = realistic_env(rwk)
    path = rwk.input_file("bot.env", text.encode("utf-8"))
    assert dotenv.dotenv_values(path, interpolate=False)["LOG_LEVEL"] == "debug"
    script = rwk.input_file("report.py", REPORT)
    res = rwk.run("import", path, "--prefix", "bot/", "--profile", "mybot", "--", PY, script, check=True)
    err = res.stderr.decode()
    # the BOM did not eat the first key, and every name is reported once
    assert values(rwk.doc()) == {f"bot/{k}": v for k, v in secrets_.items()}
    assert "imported 4 secrets: added " in err and err.count("bot/EXCHANGE_API_KEY") == 1, err
    assert "LOG_LEVEL, PORT, DRY_RUN, API_URL" in err and "[env] set" in err
    assert "shred" in err
    prof = rwk.home / "profiles" / "mybot.toml"
    assert stat.S_IMODE(prof.stat().st_mode) == 0o600
    doc = tomllib.loads(prof.read_text())
    assert doc["command"] == [PY, str(script)]
    assert doc["env"]["set"] == {"LOG_LEVEL": "debug", "PORT": "8080", "DRY_RUN": "true",
                                 "API_URL": "https://api.example.com/v3"}
    assert doc["keys"] == {k: f"bot/{k}" for k in secrets_}
    for v in secrets_.values():
        assert v.encode() not in prof.read_bytes()

    res = rwk.run("check", "mybot")
    assert res.returncode == 0, stderr_text(res)
    plan = {ln.split()[0]: ln.split(None, 1)[1] for ln in res.stdout.decode().splitlines() if ln.startswith("  ")}
    assert plan["LOG_LEVEL"] == "set in profile" and plan["SIGNING_PEM"] == "secret bot/SIGNING_PEM"
    res = rwk.run("mybot", env={"PATH": os.path.dirname(PY) + ":/usr/bin:/bin"})
    assert res.returncode == 0, stderr_text(res)
    out = dict(line.split(" ", 1) for line in res.stdout.decode().splitlines())
    assert out["LOG_LEVEL"] == "debug" and out["PORT"] == "8080" and out["DRY_RUN"] == "true"
    for k, v in secrets_.items():
        assert out[k] == hashlib.sha256(v.encode()).hexdigest()

    # a second import updates; the profile is not overwritten without --force
    before = snapshot(rwk.home)
    assert_cli_error(rwk.run("import", path, "--prefix", "bot/", "--profile", "mybot"), "exists", hint="--force")
    assert snapshot(rwk.home) == before
    res = rwk.run("import", path, "--prefix", "bot/", "--profile", "mybot", "--force", "--all-secrets", check=True)
    err = res.stderr.decode()
    assert "updated bot/EXCHANGE_API_KEY" in err and "added bot/LOG_LEVEL" in err
    doc = tomllib.loads(prof.read_text())
    assert "set" not in doc["env"] and doc["keys"]["LOG_LEVEL"] == "bot/LOG_LEVEL"
    assert "# command = " in prof.read_text() and "command" not in doc
    res = rwk.run("check", "mybot")
    assert_cli_error(res, 'missing key "command"', hint="uncomment")


def test_import_reads_stdin(rwk):
    rwk.init()
    v = rwk.secret()
    res = rwk.run("import", "-", "--prefix", "s/", input=f"A_KEY={v}\nMODE_LEVEL=info\n", check=True)
    assert values(rwk.doc()) == {"s/A_KEY": v, "s/MODE_LEVEL": "info"}   # no --profile: everything is a secret
    assert "shred" not in res.stderr.decode()


def test_import_profile_errors_change_nothing(rwk):
    rwk.init()
    v = rwk.secret()
    path = rwk.input_file("a.env", f"A_KEY={v}\n")
    before, h = snapshot(rwk.home), sha256(rwk.vault)
    assert_cli_error(rwk.run("import", path, "--profile", "../x"), "bad profile name")
    assert_cli_error(rwk.run("import", path, "--prefix", "bad prefix/", "--profile", "p"), "invalid secret name")
    assert_cli_error(rwk.run("import", path, "--all-secrets"), "--profile")
    os.chmod(rwk.vault, 0o644)   # the vault refuses to open: the staged profile goes away
    assert_cli_error(rwk.run("import", path, "--profile", "p"))
    os.chmod(rwk.vault, 0o600)
    assert snapshot(rwk.home) == before and sha256(rwk.vault) == h
