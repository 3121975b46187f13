"""Stopping and signals: SIGTERM reaches the bot and its exit code comes back,
a bot that ignores SIGTERM is SIGKILLed after stop_timeout, setsid'd
grandchildren are stopped before the supervisor exits, and the other signals
are forwarded when reload = "none"."""
from __future__ import annotations

import os
import signal
import time

import pytest

from supervise_helpers import alive, bot, read_json, supervise, vault_with, wait_until, write_profile  # noqa: F401


def start_stopper(rwk, supervise, tmp_path, mode, grandchild=None, restart=None, name="stopper"):
    vault_with(rwk, app__key=rwk.secret())
    state = tmp_path / "state.json"
    args = [state, mode] + ([grandchild] if grandchild else [])
    write_profile(rwk, name, bot("stopper", *args), keys={"APP_KEY": "app/key"},
                  restart=restart or {"policy": "on-failure", "stop_timeout": "500ms"})
    s = supervise(name)
    info = wait_until(lambda: read_json(state), 15, "the bot's state file")
    assert info["pid"] == s.wait_event("start")["pid"]
    return s, info, state


def test_sigterm_reaches_the_bot_and_its_exit_code_comes_back(rwk, supervise, tmp_path):
    s, info, state = start_stopper(rwk, supervise, tmp_path, "trap:7")
    s.signal(signal.SIGTERM)
    assert s.wait(10) == 7
    assert (tmp_path / "state.json.signals").read_text().split() == ["SIGTERM"]
    stop = s.of("stop")
    assert len(stop) == 1 and "SIGTERM" in stop[0]["msg"]
    ex = s.of("exit")
    assert len(ex) == 1 and ex[0]["pid"] == info["pid"]
    assert s.count("start") == 1, "a stop must not restart the bot"
    assert not alive(info["pid"])


def test_sigint_stops_the_bot(rwk, supervise, tmp_path):
    """SIGINT stops like SIGTERM (no restart, the tree goes), but the bot gets SIGINT
    itself, so its own Ctrl-C handling (KeyboardInterrupt) runs."""
    s, info, state = start_stopper(rwk, supervise, tmp_path, "trap:8")
    s.signal(signal.SIGINT)
    # This bot only records SIGINT and keeps running, so stop_timeout (500 ms) ends it.
    assert s.wait(10) == 128 + signal.SIGKILL
    assert (tmp_path / "state.json.signals").read_text().split() == ["SIGINT"]
    assert s.count("start") == 1, "a stop must not restart the bot"
    assert not alive(info["pid"])
    assert "SIGINT" in s.of("stop")[0]["msg"]


def test_bot_ignoring_sigterm_is_killed_after_stop_timeout(rwk, supervise, tmp_path):
    s, info, state = start_stopper(rwk, supervise, tmp_path, "ignore")
    t0 = time.monotonic()
    s.signal(signal.SIGTERM)
    rc = s.wait(10)
    took = time.monotonic() - t0
    assert rc == 128 + signal.SIGKILL
    assert 0.45 <= took <= 1.5, f"stopped after {took:.3f}s, stop_timeout is 0.5s"
    assert s.count("kill") == 1, s.stderr_text()
    assert not alive(info["pid"])


@pytest.mark.parametrize("grandchild", ["sleep", "ignore"])
def test_setsid_grandchild_is_stopped_before_the_supervisor_exits(rwk, supervise, tmp_path, grandchild):
    """The grandchild is in its own session, out of reach of kill(-pgid). With
    "ignore" it survives SIGTERM and needs the SIGKILL after stop_timeout."""
    s, info, state = start_stopper(rwk, supervise, tmp_path, "trap:7", grandchild)
    g = info["grandchild"]
    assert alive(g) and os.getsid(g) == g != os.getsid(info["pid"])
    t0 = time.monotonic()
    s.signal(signal.SIGTERM)
    rc = s.wait(10)
    took = time.monotonic() - t0
    # The moment the supervisor has exited, the grandchild must already be gone
    # (a zombie would have been re-parented away from the supervisor, the subreaper).
    assert not os.path.exists(f"/proc/{g}") or not alive(g), f"grandchild {g} outlived the supervisor"
    assert rc == 7
    if grandchild == "ignore":
        assert took >= 0.45, took
        assert s.count("kill") == 1
    else:
        assert took < 0.45, took
        assert s.count("kill") == 0


def test_bot_exit_leaves_a_grandchild_which_is_stopped_before_the_restart(rwk, supervise, tmp_path):
    """The bot exits on its own (SIGTERM sent to its pid only) while its setsid'd
    grandchild lives: the supervisor stops the leftover before restarting."""
    s, info, state = start_stopper(rwk, supervise, tmp_path, "trap:3", "sleep",
                                   restart={"policy": "on-failure", "delay": "50ms", "max_delay": "100ms",
                                            "stop_timeout": "2s"})
    g = info["grandchild"]
    state.unlink()
    os.kill(info["pid"], signal.SIGTERM)   # the bot alone; the supervisor isn't stopping
    s.wait_event("start", 2, timeout=10)
    assert not alive(g), "the old grandchild survived the restart"
    second = wait_until(lambda: read_json(state), 15, "the second bot's state file")
    assert second["pid"] == s.bot_pid() != info["pid"]
    s.signal(signal.SIGTERM)
    assert s.wait(10) == 3


def test_other_signals_are_forwarded_when_reload_is_none(rwk, supervise, tmp_path):
    s, info, state = start_stopper(rwk, supervise, tmp_path, "trap:0",
                                   restart={"policy": "no", "reload": "none", "stop_timeout": "2s"})
    got = tmp_path / "state.json.signals"
    sent = [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT, signal.SIGWINCH]
    for n, sig in enumerate(sent, 1):
        s.signal(sig)
        wait_until(lambda: got.exists() and len(got.read_text().split()) >= n, 5, f"the bot to see {sig.name}")
    assert got.read_text().split() == [sig.name for sig in sent]
    assert s.count("start") == 1 and s.count("reload") == 0 and s.alive()
    s.signal(signal.SIGTERM)
    assert s.wait(10) == 0


@pytest.mark.parametrize("code", [0, 1, 2, 42, 126, 127, 128, 255])
def test_exit_codes_are_exact(rwk, supervise, tmp_path, code):
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "code", ["/bin/sh", "-c", f"exit {code}"], keys={"APP_KEY": "app/key"})
    assert supervise("code").wait(10) == code


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT, signal.SIGUSR1])
def test_death_by_signal_is_128_plus_n(rwk, supervise, tmp_path, sig):
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "sig", ["/bin/sh", "-c", f"kill -{int(sig)} $$"], keys={"APP_KEY": "app/key"},
                  sandbox={"seccomp": "none"})
    s = supervise("sig")
    assert s.wait(10) == 128 + sig
    assert s.of("exit")[0]["status"] == f"killed by signal {int(sig)}"
