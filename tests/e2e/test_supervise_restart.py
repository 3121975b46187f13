"""Restart policy end to end: a crash loop follows the backoff and stops at the
start limit; a thousand fast restarts leak no fds, memory or zombies; the
launch log records starts and exits without values."""
from __future__ import annotations

import json
import os
import signal
import time

from supervise_helpers import (Supervised, bot, bot_children, children, status_field, supervise, vault_with,  # noqa: F401
                               wait_until, write_profile)


def test_crash_loop_backs_off_and_gives_up_after_burst(rwk, supervise, tmp_path):
    vault_with(rwk, app__key=rwk.secret())
    counter = tmp_path / "starts.txt"
    write_profile(rwk, "crash", bot("crash", counter, 3), keys={"APP_KEY": "app/key"},
                  restart={"policy": "on-failure", "burst": 5, "interval": "1m", "delay": "100ms", "max_delay": "1s"})
    s = supervise("crash")
    assert s.wait(30) == 3

    # Exactly five starts, seen by the supervisor's log and by the bot itself.
    starts = s.of("start")
    assert len(starts) == 5, s.stderr_text()
    assert [e["attempt"] for e in starts] == [1, 2, 3, 4, 5]
    lines = [l.split() for l in counter.read_text().splitlines()]
    bot_starts = [(int(p), float(t)) for kind, p, t in lines if kind == "start"]
    bot_exits = [(int(p), float(t)) for kind, p, t in lines if kind == "exit"]
    assert len(bot_starts) == 5 and len(bot_exits) == 5
    assert [p for p, _ in bot_starts] == [e["pid"] for e in starts]

    # Four restarts, each delay within [delay/2, max_delay] and never shrinking (equal jitter
    # over a doubling base: [50,100], [100,200], [200,400], [400,800] ms).
    delays = [e["in_ms"] for e in s.of("restart")]
    assert len(delays) == 4, s.stderr_text()
    assert all(50 <= d <= 1000 for d in delays), delays
    assert delays == sorted(delays) and delays[-1] > delays[0], delays
    for n, d in enumerate(delays):
        assert 100 * 2 ** n // 2 <= d <= 100 * 2 ** n, (n, delays)

    # The bot's own clock agrees: from one run's exit to the next run's first line
    # takes at least the announced delay (plus a Python start-up), and stays within max_delay + slack.
    gaps = [(bot_starts[i + 1][1] - bot_exits[i][1]) * 1000 for i in range(4)]
    for gap, d in zip(gaps, delays):
        assert gap >= d - 2, (gaps, delays)
        assert gap <= d + 800, (gaps, delays)   # spawn + interpreter start-up on a loaded box
    assert gaps[-1] > gaps[0], gaps

    give_up = s.of("give-up")
    assert len(give_up) == 1, s.stderr_text()
    assert give_up[0]["level"] == "error" and give_up[0]["exit_code"] == 3
    assert "giving up" in give_up[0]["msg"] and "5 starts" in give_up[0]["msg"]
    assert s.events[-1]["event"] == "give-up"


def test_crash_loop_give_up_in_text_format(rwk, supervise, tmp_path):
    vault_with(rwk, app__key=rwk.secret())
    write_profile(rwk, "crash", bot("crash", tmp_path / "c.txt", 4), keys={"APP_KEY": "app/key"},
                  restart={"policy": "always", "burst": 2, "interval": "1m", "delay": "10ms", "max_delay": "20ms"})
    s = supervise("crash", log_format="text")
    assert s.wait(20) == 4
    err = s.stderr_text().splitlines()
    assert err[-1].startswith("run-with-keys[crash]: error: giving up: 2 starts within"), err
    assert sum("started" in l for l in err) == 2


def test_thousand_fast_restarts_leak_nothing(rwk, supervise, tmp_path):
    """policy always, delay 0: the bot is `sh -c` that exits 0 at once unless a pause
    file exists (then it execs a long sleep). Pausing gives a steady state in which fds,
    RSS and children are sampled deterministically; killing the paused bot resumes the loop."""
    vault_with(rwk, app__key=rwk.secret())
    pause = tmp_path / "pause"
    write_profile(rwk, "fast", ["/bin/sh", "-c", f'test -e "{pause}" && exec sleep 1000; exit 0'],
                  keys={"APP_KEY": "app/key"},
                  restart={"policy": "always", "delay": "0s", "max_delay": "1s", "burst": 100000, "interval": "1m"})

    def paused_sample(s: Supervised, at_least: int) -> dict:
        s.wait_for(lambda: s.count("start") >= at_least, 60, f"{at_least} starts")
        pause.touch()
        # the next start execs sleep; wait until the supervisor's only child is that sleeper
        def steady():
            kids = bot_children(s.pid)
            if len(kids) == 1:
                (pid, state), = kids.items()
                if state == "S" and os.readlink(f"/proc/{pid}/exe").endswith("sleep"):
                    return pid
            return None
        sleeper = wait_until(steady, 20, "a paused bot")
        s.wait_for(lambda: s.count("start") and s.bot_pid() == sleeper, 5, "start event of the paused bot")
        time.sleep(0.2)  # let the launch log write finish
        sample = {"starts": s.count("start"), "fds": sorted(os.listdir(f"/proc/{s.pid}/fd"), key=int),
                  "rss_kb": status_field(s.pid, "VmRSS"), "children": bot_children(s.pid), "sleeper": sleeper,
                  "t": time.monotonic()}
        return sample

    s = supervise("fast")
    early = paused_sample(s, 50)
    pause.unlink()
    os.kill(early["sleeper"], signal.SIGKILL)  # a failure; `always` restarts at once
    late = paused_sample(s, early["starts"] + 1000)
    pause.unlink()
    restarts = late["starts"] - early["starts"]
    rate = restarts / (late["t"] - early["t"])
    print(f"\nfast restarts: {restarts} in {late['t'] - early['t']:.1f}s = {rate:.0f}/s; "
          f"RSS {early['rss_kb']} -> {late['rss_kb']} kB; fds {len(early['fds'])} -> {len(late['fds'])}")

    assert restarts >= 1000
    assert late["fds"] == early["fds"], (early["fds"], late["fds"])
    assert late["rss_kb"] - early["rss_kb"] < 1024, (early["rss_kb"], late["rss_kb"])
    assert early["children"] == {early["sleeper"]: "S"}
    assert late["children"] == {late["sleeper"]: "S"}   # no zombies, no leftovers

    exits = s.of("exit")
    assert len(exits) >= late["starts"] - 1
    s.signal(signal.SIGTERM)
    assert s.wait(10) == 128 + signal.SIGTERM   # the sleeper dies of SIGTERM
    assert not children(s.pid)


def test_launch_log_records_starts_and_exits_without_values(rwk, supervise, tmp_path):
    value = rwk.secret(24)
    other = rwk.secret(24)
    vault_with(rwk, app__key=value, other__key=other)
    write_profile(rwk, "logged", bot("crash", tmp_path / "c.txt", 5),
                  keys={"APP_KEY": "app/key", "OTHER": {"secret": "other/key", "as": "file"}},
                  restart={"policy": "on-failure", "burst": 2, "interval": "1m", "delay": "10ms", "max_delay": "20ms"})
    s = supervise("logged")
    assert s.wait(20) == 5
    log = rwk.home / "launches.log"
    raw = log.read_bytes()
    assert value.encode() not in raw and other.encode() not in raw
    records = [json.loads(l) for l in raw.splitlines()]
    assert all(r["profile"] == "logged" for r in records)
    kinds = [r["event"] for r in records]
    assert kinds[:4] == ["start", "exit", "start", "exit"], kinds
    starts = s.of("start")
    for n, (st, ex) in enumerate(zip(records[0:4:2], records[1:4:2])):
        for r in (st, ex):
            assert r["keys"] == ["app/key", "other/key"]
            assert r["uid"] == os.getuid()
            assert r["pid"] == starts[n]["pid"]
            assert r["restarts"] == n
            assert "time" in r
        assert ex["exit_code"] == 5 and "5" in ex["status"]
        assert "exit_code" not in st
    # anything after the last exit (a give-up record) names no values either
    assert len(records) <= 5 and all(r["event"] in ("start", "exit", "give-up") for r in records), kinds


def test_a_restart_that_fails_to_spawn_is_in_the_launch_log(rwk, supervise, tmp_path):
    """The bot removes its own program and fails: the restart's execve finds
    nothing (127). The launch log says so, naming the keys and the error, not a value."""
    value = rwk.secret()
    vault_with(rwk, app__key=value)
    script = tmp_path / "once.sh"
    script.write_text("#!/bin/sh\nrm -f -- \"$0\"\nexit 1\n")
    script.chmod(0o755)
    write_profile(rwk, "gone", [str(script)], keys={"APP_KEY": "app/key"},
                  restart={"policy": "on-failure", "burst": 3, "interval": "1m", "delay": "10ms", "max_delay": "20ms"})
    s = supervise("gone")
    s.wait(20)
    failed = s.of("spawn-failed")
    assert failed and failed[0]["attempt"] == 2, s.stderr_text()
    raw = (rwk.home / "launches.log").read_bytes()
    assert value.encode() not in raw
    records = [json.loads(l) for l in raw.splitlines()]
    assert [r["event"] for r in records[:3]] == ["start", "exit", "spawn-failed"], records
    f = records[2]
    assert f["keys"] == ["app/key"] and f["pid"] == 0 and f["restarts"] == 1
    assert f["exit_code"] == 127 and "execve" in f["status"] and str(script) in f["status"], f
