"""Launch failures are not restart storms (issue 12, item 1): a start that fails
before the bot's own code runs is reported once and not retried, and under
no_exec a command whose real program needs a second exec is refused by check
and run, with a hint naming the interpreter."""
from __future__ import annotations

import os
import shutil
import stat

from supervise_helpers import supervise, vault_with, write_profile  # noqa: F401


def script(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_no_exec_refuses_an_env_shebang_and_env_itself(rwk, tmp_path):
    vault_with(rwk, app__key=rwk.secret())
    bot = script(tmp_path / "bot.py", "#!/usr/bin/env python3\nprint('hi')\n")
    marker = tmp_path / "started"
    py = shutil.which("python3", path=os.defpath) or "/usr/bin/python3"
    for name, command in [("shebang", [str(bot)]), ("env", ["/usr/bin/env", "python3", str(bot)])]:
        write_profile(rwk, name, command, keys={"APP_KEY": "app/key"}, sandbox={"no_exec": True},
                      restart={"policy": "on-failure", "delay": "10ms", "max_delay": "20ms"})
        for verb in ("check", "run"):
            r = rwk.run(verb, name)
            err = r.stderr.decode()
            assert r.returncode == 125, (verb, err)
            assert "no_exec = true" in err and "second execve" in err, err
            assert f'put the interpreter itself in `command`: ["{py}"' in err or '["/' in err, err
            assert not marker.exists()
    # A version manager's shim execs the real interpreter.
    shim = tmp_path / "user" / ".pyenv" / "shims" / "python3"
    shim.parent.mkdir(parents=True)
    script(shim, "#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n")
    write_profile(rwk, "shim", [str(shim), "-c", "print(1)"], keys={"APP_KEY": "app/key"}, sandbox={"no_exec": True})
    r = rwk.run("check", "shim")
    assert r.returncode == 125 and "version manager's shim" in r.stderr.decode(), r.stderr
    # A #! line naming the interpreter itself is fine: the kernel runs it within the bot's own execve.
    direct = script(tmp_path / "direct.py", f"#!{py}\nimport sys; sys.exit(3)\n")
    write_profile(rwk, "direct", [str(direct)], keys={"APP_KEY": "app/key"}, sandbox={"no_exec": True})
    assert rwk.run("check", "direct").returncode == 0


def test_a_bot_that_fails_to_start_is_not_restarted(rwk, supervise, tmp_path):
    """exit 127 at once (a missing program behind a wrapper): one start, a message, the code."""
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "storm", ["/bin/sh", "-c", "exec /nonexistent/real-bot"], keys={"APP_KEY": "app/key"},
                  restart={"policy": "on-failure", "delay": "10ms", "max_delay": "20ms"})
    s = supervise("storm")
    assert s.wait(10) == 127
    assert s.count("start") == 1, s.stderr_text()
    failed = s.of("start-failed")
    assert len(failed) == 1 and "not restarting" in failed[0]["msg"], s.stderr_text()


def test_a_bot_that_ran_and_failed_is_still_restarted(rwk, supervise, tmp_path):
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "slow", ["/bin/sh", "-c", "sleep 1.2; exit 127"], keys={"APP_KEY": "app/key"},
                  restart={"policy": "on-failure", "delay": "10ms", "max_delay": "20ms", "burst": 2, "interval": "1m"})
    s = supervise("slow")
    assert s.wait(20) == 127
    assert s.count("start") == 2 and not s.of("start-failed"), s.stderr_text()
