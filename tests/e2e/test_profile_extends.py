"""`extends = "base"`: a fleet shares one base; each bot adds its command and keys,
a paper-trading variant overrides one key; `check` shows the merged result; a
cycle is refused naming both files."""
from __future__ import annotations

import json
import os

from conftest import assert_cli_error, write_private
from launch_helpers import PY, stderr_text

BASE = """\
description = "fleet base"
command = ["/bin/false"]
[env]
inherit = ["PATH", "LANG"]
set = { LOG_LEVEL = "info", TRADING_MODE = "live" }
[limits]
nofile = 256
[sandbox]
no_exec = true
[restart]
policy = "no"
stop_timeout = "5s"
"""

BOT = """\
import hashlib, os, resource
print("mode", os.environ["TRADING_MODE"], "level", os.environ["LOG_LEVEL"])
print("key", hashlib.sha256(os.environ["EXCHANGE_KEY"].encode()).hexdigest())
print("nofile", resource.getrlimit(resource.RLIMIT_NOFILE)[0])
"""


def test_a_base_and_two_bots_and_a_cycle(rwk):
    import hashlib
    rwk.init()
    live, paper = rwk.secret(), rwk.secret()
    rwk.set("live/key", live)
    rwk.set("paper/key", paper)
    profiles = rwk.home / "profiles"
    script = rwk.input_file("bot.py", BOT)
    write_private(profiles / "base.toml", BASE)
    write_private(profiles / "live.toml",
                  f'extends = "base"\ncommand = ["{PY}", "{script}"]\n[keys]\nEXCHANGE_KEY = "live/key"\n')
    write_private(profiles / "paper.toml",
                  'extends = "live"\n[env.set]\nTRADING_MODE = "paper"\n[keys]\nEXCHANGE_KEY = "paper/key"\n')
    env = {"PATH": os.path.dirname(PY) + ":/usr/bin:/bin"}

    res = rwk.run("check", "--json", "paper", env=env)
    assert res.returncode == 0, stderr_text(res)
    plan = json.loads(res.stdout)
    assert plan["extends"] == [str(profiles / "live.toml"), str(profiles / "base.toml")]
    assert plan["command"] == [PY, str(script)]
    assert "nofile=256" in plan["limits"] and plan["sandbox"]["no_exec"] is True
    src = {v["name"]: v.get("secret", v["source"]) for v in plan["environment"]}
    assert src == {"PATH": "inherited", "LANG": "inherited", "LOG_LEVEL": "set", "TRADING_MODE": "set",
                   "EXCHANGE_KEY": "paper/key"}
    text = rwk.run("check", "paper", env=env).stdout.decode()
    assert "extends:" in text and "live.toml" in text and "base.toml" in text

    for name, mode, value in (("live", "live", live), ("paper", "paper", paper)):
        res = rwk.run(name, env=env)
        assert res.returncode == 0, stderr_text(res)
        out = res.stdout.decode().splitlines()
        assert out[0] == f"mode {mode} level info"
        assert out[1] == "key " + hashlib.sha256(value.encode()).hexdigest()
        assert out[2] == "nofile 256"

    # an error in the base names the base's file and line
    write_private(profiles / "base.toml", BASE.replace('policy = "no"', 'policy = "sometimes"'))
    assert_cli_error(rwk.run("check", "paper", env=env), str(profiles / "base.toml"), "restart.policy", "line 11")
    # a cycle: both files named
    write_private(profiles / "base.toml", 'extends = "paper"\n' + BASE)
    err = assert_cli_error(rwk.run("check", "live", env=env), "cycle")
    for f in ("live.toml", "paper.toml", "base.toml"):
        assert str(profiles / f) in err, err
    write_private(profiles / "a.toml", 'extends = "b"\ncommand = ["/bin/true"]\n')
    write_private(profiles / "b.toml", 'extends = "a"\n')
    err = assert_cli_error(rwk.run("run", "a", env=env), "cycle")
    assert str(profiles / "a.toml") in err and str(profiles / "b.toml") in err


def test_the_base_must_pass_the_trust_checks(rwk):
    rwk.init()
    profiles = rwk.home / "profiles"
    write_private(profiles / "base.toml", BASE, mode=0o666)
    os.chmod(profiles / "base.toml", 0o666)
    write_private(profiles / "bot.toml", 'extends = "base"\ncommand = ["/bin/true"]\n')
    assert_cli_error(rwk.run("check", "bot"), "base.toml", "mode 0666", "writable by others")
