"""Key rotation while the bot runs (reload = "restart"): `set` and `rotate`
restart the bot with the new value, a corrupt vault leaves it alone, and a
change to a key it doesn't use doesn't touch it."""
from __future__ import annotations

import os
import signal
import time

from supervise_helpers import alive, bot, read_json, supervise, vault_with, wait_until, write_profile  # noqa: F401


def start_keyfile(rwk, supervise, tmp_path, grace=0.0):
    vault_with(rwk, app__key=rwk.secret(24), other__key=rwk.secret(24))
    out = tmp_path / "seen.json"
    write_profile(rwk, "rot", bot("keyfile", out, "APP_KEY", grace), keys={"APP_KEY": "app/key"},
                  restart={"policy": "on-failure", "reload": "restart", "stop_timeout": "5s"})
    s = supervise("rot")
    first = wait_until(lambda: read_json(out), 15, "the bot's key file")
    return s, out, first


def reloads(s) -> int:
    """Reload decisions ("new keys, restarting"); the restart itself logs a second reload event."""
    return sum("new keys" in e["msg"] for e in s.of("reload"))


def wait_value(out, value, timeout=8):
    return wait_until(lambda: (lambda j: j if j and j["value"] == value else None)(read_json(out)),
                      timeout, "the bot to see the new value")


def test_set_and_rotate_restart_the_bot_with_the_new_value(rwk, supervise, tmp_path):
    s, out, first = start_keyfile(rwk, supervise, tmp_path)
    assert first["pid"] == s.bot_pid()
    run_file = read_json(rwk.home / "run" / f"rot.{s.pid}.json")
    assert run_file["pid"] == s.pid and run_file["bot_pid"] == first["pid"] and run_file["keys"] == ["app/key"]

    # `set` rewrites the vault: inotify, re-decrypt, restart.
    v2 = rwk.secret(24)
    t0 = time.monotonic()
    rwk.set("app/key", v2)
    second = wait_value(out, v2)
    print(f"\nset -> new value seen after {time.monotonic() - t0:.2f}s")
    assert second["pid"] != first["pid"] and not alive(first["pid"])
    assert reloads(s) == 1 and s.count("start") == 2

    # `rotate` rewrites it too and sends SIGHUP through the run file.
    v3 = rwk.secret(24)
    res = rwk.run("rotate", "app/key", input=v3, check=True)
    assert f"pid {s.pid}" in res.stderr.decode(), res.stderr
    third = wait_value(out, v3)
    assert third["pid"] != second["pid"]
    time.sleep(0.5)   # the inotify event of the same write arrives too: no second restart
    assert s.count("start") == 3, s.stderr_text()
    assert read_json(out)["pid"] == third["pid"] == s.bot_pid()
    assert s.alive()
    s.signal(signal.SIGTERM)
    assert s.wait(10) == 0
    assert not (rwk.home / "run" / f"rot.{s.pid}.json").exists(), "the run file outlived the supervisor"


def test_rotate_with_a_slow_bot_restarts_it_once(rwk, supervise, tmp_path):
    """The bot takes 0.4 s to shut down: the inotify reload of rotate's own write
    arrives while the SIGHUP restart is still in progress and must not count as
    another change (nor send the bot a second SIGTERM)."""
    s, out, first = start_keyfile(rwk, supervise, tmp_path, grace=0.4)
    v2 = rwk.secret(24)
    rwk.run("rotate", "app/key", input=v2, check=True)
    second = wait_value(out, v2)
    time.sleep(0.8)
    assert s.count("start") == 2, s.stderr_text()
    assert reloads(s) == 1, s.stderr_text()
    terms = (tmp_path / "seen.json.terms").read_text().split()
    assert terms == [str(first["pid"])], f"SIGTERMs seen by the bots: {terms}"
    assert read_json(out)["pid"] == second["pid"]


def test_unrelated_key_change_does_not_restart(rwk, supervise, tmp_path):
    s, out, first = start_keyfile(rwk, supervise, tmp_path)
    rwk.set("other/key", rwk.secret(24))
    s.wait_event("reload-skipped", timeout=8)
    time.sleep(0.3)
    assert s.count("start") == 1 and reloads(s) == 0
    assert alive(first["pid"]) and read_json(out) == first


def test_corrupt_vault_leaves_the_bot_alone(rwk, supervise, tmp_path):
    s, out, first = start_keyfile(rwk, supervise, tmp_path)
    garbage = rwk.home / "vault.age.tmp-garbage"
    garbage.write_bytes(b"age-encryption.org/v1\n-> X25519 garbage\n--- nonsense\n" + os.urandom(200))
    os.chmod(garbage, 0o600)
    os.rename(garbage, rwk.vault)   # atomic, like a real writer
    failed = s.wait_event("reload-failed", timeout=8)
    assert failed["level"] == "error"
    time.sleep(0.3)
    assert s.count("start") == 1 and reloads(s) == 0
    assert alive(first["pid"]) and read_json(out) == first
    # SIGHUP now fails the same way and still leaves the bot running
    s.signal(signal.SIGHUP)
    s.wait_event("reload-failed", 2, timeout=8)
    assert alive(first["pid"]) and s.count("start") == 1
    s.signal(signal.SIGTERM)
    assert s.wait(10) == 0


def test_sigterm_during_a_reload_restart_stops_for_good(rwk, supervise, tmp_path):
    """SIGTERM while the bot is being stopped for a reload: the supervisor exits
    with the bot's code and does not start the new bot; the bot sees one SIGTERM."""
    s, out, first = start_keyfile(rwk, supervise, tmp_path, grace=0.5)
    s.signal(signal.SIGHUP)                   # keys unchanged: skipped
    s.wait_event("reload-skipped", timeout=8)
    rwk.set("app/key", rwk.secret(24))       # inotify: a real reload, the bot takes 0.5 s to stop
    s.wait_for(lambda: reloads(s) == 1, 8, "the reload")
    s.signal(signal.SIGTERM)
    assert s.wait(10) == 0
    assert s.count("start") == 1, s.stderr_text()
    assert (tmp_path / "seen.json.terms").read_text().split() == [str(first["pid"])]
