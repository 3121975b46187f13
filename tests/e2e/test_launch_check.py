"""`check PROFILE [--json]` prints the launch plan without values, and the
example profiles in profiles/ pass it (and run offline) once their secrets
exist."""
from __future__ import annotations

import base64
import json
import secrets
import tomllib
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from launch_helpers import BOT_PATH, PY, REPO, bot, launch, stderr_text  # noqa: F401

EXAMPLES = sorted((REPO / "profiles").glob("*.toml"))


def full_profile(launch):
    launch.secret("app/key")
    launch.secret("app/pem")
    launch.secret("app/fd")
    return launch.profile(
        "plan", [PY, bot("report.py"), "--flag"],
        top={"description": "plan test", "workdir": "/"},
        env={"inherit": ["PATH", "LANG"], "set": {"LOG_LEVEL": "info"}},
        keys={"API_KEY": "app/key", "KEY_FILE": {"secret": "app/pem", "as": "file"},
              "KEY_FD": {"secret": "app/fd", "as": "fd", "fd": 7}},
        limits={"nofile": {"soft": 512, "hard": 1024}, "address_space": "2G", "processes": 64},
        sandbox={"deny": ["socketpair"], "action": "kill", "no_exec": True},
        restart={"policy": "on-failure", "delay": "2s", "max_delay": "1m", "burst": 3, "interval": "5m",
                 "stop_signal": "SIGINT", "stop_timeout": "15s"})


def test_check_text_shows_the_plan(launch):
    p = full_profile(launch)
    res = launch.check(p)
    assert res.returncode == 0, stderr_text(res)
    text = res.stdout.decode()
    line = {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip() for ln in text.splitlines()
            if ":" in ln and not ln.startswith(" ")}
    assert line["command"] == f"{PY} {bot('report.py')} --flag"
    assert line["workdir"] == "/"
    env = {ln.split()[0]: ln.split(None, 1)[1] for ln in text.splitlines() if ln.startswith("  ")}
    assert list(env) == ["PATH", "LANG", "LOG_LEVEL", "API_KEY", "KEY_FILE", "KEY_FD"]
    assert env["PATH"] == "inherited" and env["LOG_LEVEL"] == "set in profile"
    assert env["API_KEY"] == "secret app/key"
    assert "sealed memfd" in env["KEY_FILE"] and "/proc/self/fd/" in env["KEY_FILE"]
    assert "sealed memfd" in env["KEY_FD"] and "fd 7" in env["KEY_FD"]
    assert "sealed memfd" not in env["API_KEY"]
    limits = line["limits"].split()
    assert {"nofile=512/1024", f"address_space={2 << 30}", "processes=64", "core=0"} <= set(limits)
    sandbox = line["sandbox"]
    for part in ("socketpair", "action kill", "no_new_privileges true", "no_exec true", "BPF"):
        assert part in sandbox, sandbox
    restart = line["restart"]
    for part in ("on-failure", "delay 2s", "max_delay 1m", "burst 3", "5m", "SIGINT", "15s"):
        assert part in restart, restart
    assert text.rstrip().endswith("check: ok")
    assert res.stderr == b""


def test_check_json_parses_with_the_plan(launch):
    p = full_profile(launch)
    res = launch.check(p, "--json")
    assert res.returncode == 0, stderr_text(res)
    plan = json.loads(res.stdout)
    assert plan["profile"] == "plan" and plan["path"] == str(p)
    assert plan["command"] == [PY, bot("report.py"), "--flag"]
    assert plan["workdir"] == "/" and plan["user"] is None
    env = {v["name"]: v for v in plan["environment"]}
    assert list(env) == ["PATH", "LANG", "LOG_LEVEL", "API_KEY", "KEY_FILE", "KEY_FD"]
    assert env["PATH"]["source"] == "inherited" and env["LOG_LEVEL"]["source"] == "set"
    assert env["API_KEY"] == {"name": "API_KEY", "source": "secret", "secret": "app/key", "as": "env"}
    assert env["KEY_FILE"]["as"] == "file" and env["KEY_FILE"]["fd"] >= 3
    assert env["KEY_FD"] == {"name": "KEY_FD", "source": "secret", "secret": "app/fd", "as": "fd", "fd": 7}
    assert "nofile=512/1024" in plan["limits"] and "core=0" in plan["limits"]
    sb = plan["sandbox"]
    assert sb["action"] == "kill" and sb["no_exec"] is True and sb["no_new_privileges"] is True
    assert sb["bpf_instructions"] > 0 and "socketpair" in sb["seccomp"]
    r = plan["restart"]
    assert (r["policy"], r["delay_ms"], r["max_delay_ms"], r["burst"], r["interval_ms"], r["stop_signal"],
            r["stop_timeout_ms"]) == ("on-failure", 2000, 60000, 3, 300000, "SIGINT", 15000)
    assert plan["redact"] is True and plan["warnings"] == []


def test_check_does_not_start_anything(launch):
    marker = launch.out / "ran"
    p = launch.profile("touch", ["/usr/bin/touch", str(marker)])
    res = launch.check(p)
    assert res.returncode == 0, stderr_text(res)
    assert not marker.exists()
    assert not (launch.rwk.home / "launches.log").exists() or "touch" not in (launch.rwk.home / "launches.log").read_text()


# --------------------------------------------------------------------------- example profiles


def example_value(name: str) -> str:
    """A throwaway value of the right shape for each secret the examples name."""
    if name == "coinbase/cdp-key-json":
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
        return json.dumps({"name": f"organizations/{uuid.uuid4()}/apiKeys/{uuid.uuid4()}", "privateKey": pem})
    if name == "coinbase/secret":
        return base64.b64encode(secrets.token_bytes(64)).decode()
    if name == "telegram/bot-token":
        return f"{secrets.randbelow(10**9) + 10**8}:{secrets.token_urlsafe(26)[:35]}"
    return secrets.token_hex(16)


def test_there_are_examples():
    assert {p.stem for p in EXAMPLES} >= {"coinbase-exchange", "coinbase-advanced", "ccxt", "telegram"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_profile_checks_and_runs_offline(launch, example):
    text = example.read_text()
    assert text.startswith("# run-with-keys set "), "the first line says which secrets to set"
    doc = tomllib.loads(text)
    names = [v if isinstance(v, str) else v["secret"] for v in doc.get("keys", {}).values()]
    assert names
    for name in names:
        assert f"run-with-keys set {name}" in text.splitlines()[0]
        launch.secret(name, example_value(name))
    script = REPO / doc["command"][1]
    assert script.is_file(), f"{example.name} runs {script}, which is missing"

    # From the repository root, as the comments say: profiles/NAME.toml.
    env = {"PATH": BOT_PATH}
    proc = launch.rwk.popen("check", "--json", f"profiles/{example.name}", env=env, cwd=REPO)
    res = launch.finish(proc)
    assert res.returncode == 0, stderr_text(res)
    plan = json.loads(res.stdout)
    assert plan["path"] == f"profiles/{example.name}"
    assert {v["secret"] for v in plan["environment"] if v["source"] == "secret"} == set(names)

    proc = launch.rwk.popen(f"profiles/{example.name}", env=env, cwd=REPO)
    res = launch.finish(proc, timeout=60)
    assert res.returncode == 0, stderr_text(res)
    assert ": ok," in res.stdout.decode(), res.stdout

    # From any other directory: command[0] and workdir resolve against the profile's
    # directory (workdir = ".." is the repository), so the script path in the arguments does too.
    for cwd, arg in ((launch.out, str(example)), (REPO / "tests", f"../profiles/{example.name}")):
        proc = launch.rwk.popen("check", "--json", arg, env=env, cwd=cwd)
        res = launch.finish(proc)
        assert res.returncode == 0, stderr_text(res)
        assert json.loads(res.stdout)["workdir"] == str(REPO)
        proc = launch.rwk.popen(arg, env=env, cwd=cwd)
        res = launch.finish(proc, timeout=60)
        assert res.returncode == 0, (cwd, stderr_text(res))
        assert ": ok," in res.stdout.decode(), res.stdout
