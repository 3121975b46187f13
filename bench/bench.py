#!/usr/bin/env python3
"""run-with-keys benchmarks: every number is measured in this run, next to the
baseline it is compared with, and printed as a table (and written to
BENCHMARKS.md with --write).

Called by bench/run.sh, which builds the release binary first. Needs hyperfine,
tini and age on PATH (bench/run.sh says how to install them; it installs nothing).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sh(*argv, **kw):
    return subprocess.run([str(a) for a in argv], check=True, **kw)


class Env:
    """A throwaway home with a vault, profiles and the compiled probes."""

    def __init__(self, rwk: Path, tmp: Path):
        self.rwk, self.tmp = rwk, tmp
        # The home in a directory of its own: under filesystem = "hide-keys" the
        # bots can't create files directly in the home's parent directories.
        self.home = tmp / "rwk" / "home"
        self.out = tmp / "out"
        self.out.mkdir()
        self.env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "RUN_WITH_KEYS_HOME": str(self.home), "LANG": "C.UTF-8"}
        self.run("init", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.values = {}
        for name in ["bench/a", "bench/b", "bench/c", "bench/d"]:
            self.set(name, secrets.token_hex(24))
        (self.home / "profiles").mkdir()
        cc = os.environ.get("CC", "cc")
        self.probe = tmp / "restart_probe"
        self.loop = tmp / "forkexec_loop"
        sh(cc, "-O2", "-o", self.probe, ROOT / "bench/restart_probe.c")
        sh(cc, "-O2", "-o", self.loop, ROOT / "bench/forkexec_loop.c")

    def run(self, *args, **kw):
        return subprocess.run([str(self.rwk), *map(str, args)], env=self.env, check=True, **kw)

    def set(self, name: str, value: str):
        self.values[name] = value
        self.run("set", name, input=value.encode(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def profile(self, name: str, body: str) -> str:
        (self.home / "profiles" / f"{name}.toml").write_text(body)
        return name


def hyperfine(commands: dict[str, str], env: dict, runs: int, warmup: int = 20, ignore_failure: bool = False,
              rounds: int = 3) -> dict[str, dict]:
    """Median, min and max of `runs` timings per command (ms). The runs are split
    into `rounds` hyperfine calls, each with every command, in an order rotated by
    one per round: the machines here drift between faster and slower phases over
    minutes, and a command measured entirely in another phase than its baseline
    would carry that drift into its ratio."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    labels = list(commands)
    per_round = [runs // rounds + (1 if i < runs % rounds else 0) for i in range(rounds)]
    for i, n in enumerate(per_round):
        order = labels[i % len(labels):] + labels[:i % len(labels)]
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            argv = ["hyperfine", "-N", "--warmup", str(warmup), "--runs", str(n), "--export-json", out.name, "--style", "none"]
            argv += ["--ignore-failure"] if ignore_failure else []
            for label in order:
                argv += ["-n", label, commands[label]]
            subprocess.run(argv, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
            data = json.load(open(out.name))
        for r in data["results"]:
            times[r["command"]] += r["times"]
    return {label: {"median": statistics.median(t) * 1e3, "min": min(t) * 1e3, "max": max(t) * 1e3}
            for label, t in times.items()}


def fmt(x: float, unit: str = "ms", digits: int = 2) -> str:
    return f"{x:.{digits}f} {unit}"


# ------------------------------------------------------------------ 1. launch overhead

LAUNCH_PROFILE = '''command = ["/bin/true"]
[keys]
A = "bench/a"
B = "bench/b"
C = "bench/c"
D = { secret = "bench/d", as = "file" }
'''


def bench_launch(e: Env, runs: int) -> list[list[str]]:
    e.profile("launch", LAUNCH_PROFILE)
    # The same launch with the containment of issue 9 turned off (no Landlock, no
    # PID namespace): the first generation's path, measured in the same run.
    e.profile("launch-bare", LAUNCH_PROFILE + '''[sandbox]
filesystem = "off"
signals = "off"
pid_namespace = false
''')
    # Exec in place: nothing needs a supervisor (no restarts, no redaction, no PID
    # namespace), so the checklist runs in our process, which becomes the bot.
    e.profile("launch-fast", LAUNCH_PROFILE + "[restart]\npolicy = \"no\"\n[output]\nredact = false\n"
              "[sandbox]\npid_namespace = false\n")
    cmds = {
        "/bin/true": "/bin/true",
        "env -i A=1 /bin/true": "env -i A=1 /bin/true",
        "tini -s -- /bin/true": "tini -s -- /bin/true",
        "run-with-keys run, no Landlock or PID namespace": f"{e.rwk} run launch-bare",
        "run-with-keys run (3 env + 1 file key)": f"{e.rwk} run launch",
        "run-with-keys run, exec in place (same keys, Landlock)": f"{e.rwk} run launch-fast",
        "run-with-keys exec --key x3 --file (ad hoc)":
            f"{e.rwk} exec --key A=bench/a --key B=bench/b --key C=bench/c --file D=bench/d -- /bin/true",
    }
    r = hyperfine(cmds, e.env, runs)
    base = r["/bin/true"]["median"]
    tini = r["tini -s -- /bin/true"]["median"] - base
    rows = []
    for label, v in r.items():
        over = v["median"] - base
        rows.append([label, fmt(v["median"]), fmt(v["min"]), fmt(v["max"]),
                     "-" if label == "/bin/true" else fmt(over),
                     "-" if label == "/bin/true" or tini <= 0 else f"{over / tini:.1f}x tini's"])
    return rows


# ------------------------------------------------------------------ 2. vault decrypt

def bench_decrypt(e: Env, runs: int) -> list[list[str]]:
    doc = {"format": "run-with-keys/v1", "recipients": [e.run("recipients", "list", capture_output=True).stdout.decode().split()[0]],
           "secrets": {f"bot{i}/key": {"value": secrets.token_hex(32), "created": "2026-11-01T00:00:00Z",
                                       "updated": "2026-11-01T00:00:00Z", "scopes": ["view", "trade"]} for i in range(1000)}}
    big = e.tmp / "big"
    big.mkdir()
    vault = big / "vault.age"
    sh("age", "-r", doc["recipients"][0], "-o", vault, input=json.dumps(doc).encode())
    os.chmod(vault, 0o600)
    ident = e.home / "identity.txt"
    r = hyperfine({"age -d (1,000 secrets)": f"age -d -i {ident} -o /dev/null {vault}",
                   "run-with-keys list (1,000 secrets)": f"{e.rwk} --vault {vault} list",
                   "run-with-keys list --json (1,000 secrets)": f"{e.rwk} --vault {vault} list --json"}, e.env, runs, warmup=5)
    base = r["age -d (1,000 secrets)"]["median"]
    return [[k, fmt(v["median"]), fmt(v["min"]), fmt(v["max"]), f"{v['median'] / base:.2f}x age"] for k, v in r.items()]


# ------------------------------------------------------------------ 3. restart latency

def gaps(log: Path) -> list[float]:
    events = [l.split() for l in log.read_text().splitlines()]
    out = []
    for (a, ta), (b, tb) in zip(events, events[1:]):
        if a == "end" and b == "start":
            out.append((int(tb) - int(ta)) / 1e3)  # microseconds
    return out


def bench_restart(e: Env, n: int, rounds: int = 3) -> list[list[str]]:
    """`n` restarts of a bot that fails at once, against `n` runs of the C loop, in
    `rounds` alternating parts (as `hyperfine` does, against the machine's drift)."""
    log = e.out / "probe.log"
    e.profile("restart", f'''command = ["{e.probe}"]
[env]
set = {{ PROBE_LOG = "{log}" }}
[restart]
policy = "on-failure"
delay = "0s"
max_delay = "0s"
burst = {n + 1}
interval = "1h"
''')
    sup: list[float] = []
    base: list[float] = []
    for i in range(rounds):
        m = n // rounds + (1 if i < n % rounds else 0)
        p = subprocess.Popen([str(e.rwk), "run", "restart"], env=e.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and (not log.exists() or log.read_text().count("end") < m + 1):
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        p.wait(30)
        sup += gaps(log)[:m]
        log.unlink()
        sh(e.loop, m + 1, e.probe, env={"PROBE_LOG": str(log)})
        base += gaps(log)[:m]
        log.unlink()
    rows = []
    for label, g in [("C fork+exec+wait loop (baseline)", base), (f"run-with-keys supervisor", sup)]:
        rows.append([label, fmt(statistics.median(g), "µs", 0), fmt(min(g), "µs", 0), fmt(max(g), "µs", 0),
                     f"{statistics.median(g) / statistics.median(base):.1f}x baseline", str(len(g))])
    return rows


# ------------------------------------------------------------------ 4. redaction throughput

def bench_redaction(e: Env, size_mb: int, repeats: int) -> list[list[str]]:
    data = e.tmp / "output.bin"
    names = [f"redact/{i}" for i in range(16)]
    for nme in names:
        e.set(nme, secrets.token_hex(16))
    chunk = bytearray(os.urandom(1 << 20))
    # Printable-ish log text with the 16 secrets planted every 64 KiB.
    for i in range(len(chunk)):
        chunk[i] = 32 + chunk[i] % 95
    with open(data, "wb") as f:
        for mb in range(size_mb):
            c = bytearray(chunk)
            for k in range(16):
                v = e.values[names[(mb + k) % 16]].encode()
                at = k * 65536 + 100
                c[at:at + len(v)] = v
            f.write(c)
    keys = "".join(f'K{i} = "{n}"\n' for i, n in enumerate(names))
    e.profile("redact", f'command = ["/bin/cat", "{data}"]\n[keys]\n{keys}')
    e.profile("noredact", f'command = ["/bin/cat", "{data}"]\n[output]\nredact = false\n[keys]\n{keys}')

    def timed(argv: str) -> float:
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            subprocess.run(["/bin/sh", "-c", argv + " | cat > /dev/null"], env=e.env, check=True, stderr=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - t)
        return best

    mb = size_mb * 1.048576
    results = {"cat FILE | cat": timed(f"cat {data}"),
               "run-with-keys, redact = false": timed(f"{e.rwk} run noredact"),
               "run-with-keys, redact = true (16 secrets)": timed(f"{e.rwk} run redact")}
    # Correctness of what was measured: every planted secret is gone.
    out = subprocess.run([str(e.rwk), "run", "redact"], env=e.env, capture_output=True).stdout
    assert all(e.values[n].encode() not in out for n in names), "a secret escaped redaction"
    assert out.count(b"[redacted:") == 16 * size_mb
    base = results["cat FILE | cat"]
    data.unlink()
    return [[k, f"{mb / v:.0f} MB/s", f"{v:.2f} s", f"{base / v:.2f}x cat"] for k, v in results.items()]


# ------------------------------------------------------------------ 5. footprint

def status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile", "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
            out[k] = int(v.split()[0])
    return out


def bench_footprint(e: Env, seconds: int) -> list[list[str]]:
    rows = []
    for label, script in [("quiet bot (sleeps)", "import time; time.sleep(10**6)"),
                          ("bot writing 10 lines/s", "import time,sys\nwhile True:\n print('tick', time.time(), flush=True); time.sleep(0.1)")]:
        e.profile("foot", f'command = ["{sys.executable}", "-c", {json.dumps(script)}]\n[keys]\nA = "bench/a"\n')
        p = subprocess.Popen([str(e.rwk), "run", "foot"], env=e.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2.0)   # past CodePages.settle (1 s), when the supervisor trims its code pages once
        a = status(p.pid)
        time.sleep(seconds)
        b = status(p.pid)
        p.send_signal(signal.SIGTERM)
        p.wait(30)
        rows.append([label, f"{b['VmRSS'] / 1024:.1f} MiB ({b['RssAnon'] / 1024:.1f} anon, {b['RssFile'] / 1024:.1f} file)",
                     f"{(b['VmRSS'] - a['VmRSS'])} KiB",
                     str(b["voluntary_ctxt_switches"] - a["voluntary_ctxt_switches"]), f"{seconds} s"])
    return rows


# ------------------------------------------------------------------ per-stage breakdown

def bench_stages(e: Env, runs: int) -> list[list[str]]:
    """RWK_TIMING=1: each launch prints `rwk-timing: <stage> <ms since previous> <ms since main>`
    to stderr. Median per stage over `runs` supervised launches of the launch profile."""
    e.profile("launch", LAUNCH_PROFILE)
    per: dict[str, list[float]] = {}
    for _ in range(runs):
        res = subprocess.run([str(e.rwk), "run", "launch"], env=dict(e.env, RWK_TIMING="1"), capture_output=True, check=True)
        for line in res.stderr.decode().splitlines():
            if line.startswith("rwk-timing: "):
                parts = line.split()
                per.setdefault(" ".join(parts[1:-2]), []).append(float(parts[-2]))
    return [[stage, fmt(statistics.median(v), "ms", 3)] for stage, v in per.items()]


# ------------------------------------------------------------------ 6. the binary

def bench_binary(e: Env, runs: int) -> list[list[str]]:
    """The shipped binary: size, linkage, ICU, and process start (to the first
    error: `list` of a vault that doesn't exist) next to /bin/true."""
    rows = []
    size = e.rwk.stat().st_size
    dynamic = b"program interpreter" in subprocess.run(["readelf", "-lW", str(e.rwk)], capture_output=True).stdout
    nm = subprocess.run(["nm", str(e.rwk)], capture_output=True).stdout
    icu = sum(1 for line in nm.splitlines() if b"FoundationInternationalization" in line or b"icudt" in line)
    rows.append(["size", f"{size / 1048576:.1f} MiB"])
    rows.append(["linkage", "dynamic (ld.so relocates it at every start)" if dynamic else "fully static"])
    rows.append(["ICU / FoundationInternationalization symbols", str(icu)])
    r = hyperfine({"/bin/true": "/bin/true",
                   "run-with-keys start to first error": f"{e.rwk} --vault {e.tmp}/none.age list"}, e.env, runs,
                  ignore_failure=True)
    base = r["/bin/true"]["median"]
    start = r["run-with-keys start to first error"]["median"]
    rows.append(["process start to first error (median)", f"{fmt(start)} ({fmt(start - base)} over /bin/true)"])
    return rows


def table(head: list[str], rows: list[list[str]]) -> str:
    def cells(r):
        return "| " + " | ".join(c.replace("|", "\\|") for c in r) + " |\n"
    return cells(head) + "|" + "---|" * len(head) + "\n" + "".join(cells(r) for r in rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rwk", required=True)
    ap.add_argument("--quick", action="store_true", help="fewer runs, smaller sizes (a smoke test)")
    ap.add_argument("--write", action="store_true", help="write BENCHMARKS.md")
    a = ap.parse_args()
    q = a.quick
    # Under /var/tmp, not /tmp: with filesystem = "hide-keys" every entry of each
    # directory above the home gets a Landlock rule, and a shared machine's /tmp
    # can hold a thousand entries where a user's home holds a few dozen.
    with tempfile.TemporaryDirectory(prefix="rwk-bench-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None) as tmp:
        e = Env(Path(a.rwk), Path(tmp))
        sections = []
        sections.append(("1. Launch overhead (median of %d runs in 3 rounds, hyperfine -N)" % (50 if q else 300),
                         table(["command", "median", "min", "max", "overhead vs /bin/true", "vs tini's overhead"],
                               bench_launch(e, 50 if q else 300))))
        sections.append(("1b. One launch by stage (RWK_TIMING=1, median of %d)" % (10 if q else 50),
                         table(["stage (ends at)", "time since the previous mark"], bench_stages(e, 10 if q else 50))))
        sections.append(("2. Vault decrypt, 1,000 secrets (median of %d runs in 3 rounds)" % (20 if q else 300),
                         table(["command", "median", "min", "max", "ratio"], bench_decrypt(e, 20 if q else 300))))
        n = 100 if q else 1000
        sections.append((f"3. Restart latency: bot exit to next exec, {n} restarts in 3 rounds, delay 0",
                         table(["supervisor", "median", "min", "max", "ratio", "samples"], bench_restart(e, n))))
        size = 64 if q else 1024
        sections.append((f"4. Redaction throughput, {size} MiB of output with 16 secrets (best of {1 if q else 3})",
                         table(["pipeline", "throughput", "time", "vs cat"], bench_redaction(e, size, 1 if q else 3))))
        secs = 5 if q else 60
        sections.append((f"5. Supervisor footprint over {secs} s",
                         table(["bot", "supervisor RSS", "RSS change", "voluntary ctx switches", "window"], bench_footprint(e, secs))))
        sections.append(("6. The binary", table(["what", "value"], bench_binary(e, 50 if q else 300))))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}"
    try:
        model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
        machine = model + ", " + machine
    except StopIteration:
        pass
    text = "\n".join(f"### {t}\n\n{body}" for t, body in sections)
    print(text)
    if a.write:
        md = ROOT / "BENCHMARKS.md"
        notes = ROOT / "bench/analysis.md"
        analysis = "\n" + notes.read_text() if notes.exists() else ""
        md.write_text(f"""# Benchmarks

Produced by `bench/run.sh` on {time.strftime('%Y-%m-%d')}; every row is measured in the same run as its
baseline. Machine: {machine}. The machines here are shared and noisy: read the ratios, not the last digit.

Reproduce: `bench/run.sh` (needs hyperfine, tini and age; it builds the release binary first).

{text}
{analysis}""")
        print(f"wrote {md}")


if __name__ == "__main__":
    main()
