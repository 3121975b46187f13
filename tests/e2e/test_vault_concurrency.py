"""Serialized writers (flock) and crash safety (temp file + fsync + rename)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

from conftest import age_decrypt, values, write_private


def test_40_concurrent_sets_lose_nothing(rwk):
    rwk.init()
    expected = {f"bot{i:02d}/key": rwk.secret() for i in range(40)}
    procs = []
    for name in expected:
        procs.append((name, rwk.popen("set", name, stdin=subprocess.PIPE)))
    # all 40 are started before any gets its value: they race for the lock together
    for name, p in procs:
        p.stdin.write(expected[name].encode())
        p.stdin.close()
    for name, p in procs:
        p.stdin = None  # already closed: communicate() must not flush it
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, (name, err)
        assert expected[name].encode() not in out + err
    assert values(rwk.doc()) == expected
    assert sorted(rwk.names()) == sorted(expected)
    assert not (rwk.home / ".vault.age.tmp").exists()


def _decrypt_values(rwk) -> dict[str, str]:
    r = age_decrypt(rwk.vault, rwk.identity)
    assert r.returncode == 0, f"vault no longer decrypts: {r.stderr!r}"
    return values(json.loads(r.stdout))


def test_sigkill_during_large_writes_never_breaks_the_vault(rwk):
    """30 to 60 writers of a large value killed at random moments: the vault
    always decrypts and holds either the old value or the new one."""
    rwk.init()
    rng = random.Random()
    size = 300_000
    current = "0" * size
    rwk.run("set", "big", "--from-file", rwk.input_file("v0", current), check=True)
    # The kill window: a little longer than a full write (the median of three), so
    # that most kills land during one. A fixed floor would make a fast machine's
    # writes finish before most kills, and the test prove little.
    took = []
    for _ in range(3):
        t = time.monotonic()
        rwk.run("set", "big", "--from-file", rwk.input_file("v0", current), check=True)
        took.append(time.monotonic() - t)
    window = sorted(took)[1] * 1.3

    killed = 0
    for i in range(60):
        if i >= 30 and killed >= 10:
            break
        new = os.urandom(size // 2).hex()
        src = rwk.input_file(f"v{i % 2 + 1}", new)
        p = rwk.popen("set", "big", "--from-file", src)
        time.sleep(rng.uniform(0, window))
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=30)
        killed += p.returncode == -signal.SIGKILL
        got = _decrypt_values(rwk)["big"]
        assert got in (current, new), f"iteration {i}: vault holds neither the old nor the new value"
        current = got
    assert killed >= 5, f"only {killed} writers were killed; the test proved little"

    # a stale temp file from a killed writer is replaced by the next write
    tmp = rwk.home / ".vault.age.tmp"
    if not tmp.exists():
        write_private(tmp, os.urandom(4096))
    final = rwk.secret()
    rwk.set("after/crash", final)
    assert not tmp.exists()
    assert _decrypt_values(rwk) == {"big": current, "after/crash": final}
    assert rwk.vault.stat().st_mode & 0o777 == 0o600


def test_sigkill_of_a_loop_of_small_sets(rwk):
    """A shell loop of sets, its whole process group killed at random moments:
    every surviving secret has its right value and the vault decrypts."""
    rwk.init()
    rng = random.Random()
    value_of = {f"loop/{i:03d}": rwk.secret(8) for i in range(200)}
    for name, v in value_of.items():
        rwk.input_file(name.replace("/", "_"), v)
    script = "".join(f'"$RWK" set {n} --from-file "$IN/{n.replace("/", "_")}" || exit 9\n' for n in value_of)
    seen: dict[str, str] = {}
    for _ in range(8):
        p = subprocess.Popen(["/bin/sh", "-c", script], env=rwk.env({"RWK": rwk.argv()[0], "IN": rwk.inputs}),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        time.sleep(rng.uniform(0.05, 0.4))
        os.killpg(p.pid, signal.SIGKILL)
        _, err = p.communicate(timeout=30)
        assert b"error" not in err, err
        got = _decrypt_values(rwk)
        for name, v in got.items():
            assert value_of[name] == v
        assert set(seen) <= set(got)
        seen = got
    assert len(seen) > 0
