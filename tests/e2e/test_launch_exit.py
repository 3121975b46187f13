"""Exit codes and signals of a single launch (restart policy "no"): the bot's
own code for 0-255, 128+N for signal N, and signals sent to run-with-keys
reaching the bot."""
from __future__ import annotations

import signal
import time

import pytest

from launch_helpers import PY, bot, launch, module_launch, stderr_text, wait_for  # noqa: F401


@pytest.fixture(scope="module")
def exit_profile(module_launch):
    module_launch.secret("app/key")
    return module_launch.profile("exit", ["/bin/sh", "-c", 'exit "$1"', "sh"], keys={"APP_KEY": "app/key"})


@pytest.mark.parametrize("code", range(256))
def test_exit_code_is_the_bots(module_launch, exit_profile, code):
    res = module_launch.run(exit_profile, code)
    assert res.returncode == code, stderr_text(res)


def test_default_subcommand_passes_arguments_and_code(module_launch, exit_profile):
    res = module_launch.run(exit_profile, 42, subcommand=None)     # `run-with-keys PROFILE -- 42`
    assert res.returncode == 42, stderr_text(res)


def test_arguments_after_double_dash_reach_the_bot_verbatim(module_launch):
    p = module_launch.profile("echo", ["/bin/echo", "args:"])
    for sub in ("run", None):
        res = module_launch.run(p, "--live", "-x", "--home", "/nowhere", "two words", "", subcommand=sub)
        assert res.returncode == 0, stderr_text(res)
        assert res.stdout == b"args: --live -x --home /nowhere two words \n"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT])
def test_bot_killed_by_signal_gives_128_plus_n(module_launch, sig):
    p = module_launch.profile(f"die-{sig.name}", [PY, "-c", "import os, sys; os.kill(os.getpid(), int(sys.argv[1]))"])
    res = module_launch.run(p, int(sig))
    assert res.returncode == 128 + sig, stderr_text(res)


# --------------------------------------------------------------------------- signal forwarding


def start_signal_bot(launch):
    log = launch.out / "signals.log"
    p = launch.profile("sig", [PY, bot("signals.py"), str(log)])
    proc = launch.start(p)
    wait_for(lambda: (launch.out / "signals.log.ready").exists(), what="the bot's handlers")
    return proc, log


def received(log) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_hup_usr1_usr2_are_forwarded_and_term_stops_with_the_bots_code(launch):
    proc, log = start_signal_bot(launch)
    want = []
    for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
        proc.send_signal(sig)
        want.append(sig.name)
        wait_for(lambda: received(log) == want, timeout=10, what=f"{sig.name} at the bot")
    assert proc.poll() is None, "the bot stopped on a forwarded signal"
    proc.send_signal(signal.SIGTERM)
    res = launch.finish(proc)
    assert received(log) == want + ["SIGTERM"]
    assert res.returncode == 40 + signal.SIGTERM, stderr_text(res)   # the bot's own exit code comes back


def test_int_is_forwarded_as_int(launch):
    proc, log = start_signal_bot(launch)
    proc.send_signal(signal.SIGINT)
    res = launch.finish(proc)
    assert received(log) == ["SIGINT"]
    assert res.returncode == 40 + signal.SIGINT, stderr_text(res)


def test_int_stops_the_bot_and_its_code_comes_back(launch):
    proc, log = start_signal_bot(launch)
    proc.send_signal(signal.SIGINT)
    res = launch.finish(proc)
    assert len(received(log)) >= 1
    got = getattr(signal, received(log)[0])
    assert res.returncode == 40 + got, stderr_text(res)


def test_stop_signal_is_delivered_once(launch):
    # A repeat could kill a bot that exits in its handler (Python restores
    # SIG_DFL while exiting) and lose its exit code.
    # SIGRTMIN queues (standard signals coalesce), so the bot can count every send.
    ready = launch.out / "ready"
    p = launch.profile("count", [PY, bot("count_signal.py"), str(ready)], restart={"stop_signal": "SIGRTMIN"})
    proc = launch.start(p)
    wait_for(ready.exists, what="the bot")
    proc.send_signal(signal.SIGTERM)
    res = launch.finish(proc)
    assert res.returncode == 1, f"the bot got the stop signal {res.returncode} times; {stderr_text(res)}"


def test_term_with_default_handler_gives_143(launch):
    p = launch.profile("sleep", [PY, "-c", "import sys, time; open(sys.argv[1], 'w').close(); time.sleep(60)",
                                 str(launch.out / "up")])
    proc = launch.start(p)
    wait_for(lambda: (launch.out / "up").exists(), what="the bot")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    res = launch.finish(proc)
    assert res.returncode == 128 + signal.SIGTERM, stderr_text(res)
    assert time.monotonic() - started < 5   # no wait for stop_timeout
