"""Prints the secret in env VAR in one of several ways, then exits 0.

printer.py MODE VAR [GAP_MS] [REPORT]
  whole      print(value) and the value inside a sentence, to stdout and stderr
  bytes      one byte per write+flush to stdout, sleeping GAP_MS between bytes
             (0: no sleep); REPORT gets the largest gap actually measured (ms)
  json       print(json.dumps({"key": value})), the same with "/" escaped as "\\/", and the raw value
  raw        the value as is, then a line (for redact = false)
  tty        isatty report, a coloured line, an unflushed line, then the value
"""
import json
import os
import sys
import time

mode, var = sys.argv[1], sys.argv[2]
value = os.environ[var]

if mode == "whole":
    print(value, flush=True)
    print(f"the key is {value}, again: {value}.", flush=True)
    print(f"stderr: {value}", file=sys.stderr, flush=True)
elif mode == "bytes":
    gap = float(sys.argv[3]) / 1000
    report = sys.argv[4] if len(sys.argv) > 4 else None
    sys.stdout.write("before:")
    sys.stdout.flush()
    worst, last = 0.0, time.monotonic()
    for c in value:
        if gap:
            time.sleep(gap)
        now = time.monotonic()
        worst = max(worst, now - last)
        sys.stdout.write(c)
        sys.stdout.flush()
        last = time.monotonic()
    sys.stdout.write(":after\n")
    sys.stdout.flush()
    if report:
        with open(report, "w") as f:
            f.write(f"{worst * 1000:.3f}")
elif mode == "json":
    print(json.dumps({"key": value, "n": 1}), flush=True)
    print('{"slashes": "%s"}' % json.dumps(value)[1:-1].replace("/", "\\/"), flush=True)
    print(value, flush=True)
elif mode == "raw":
    sys.stdout.write(value)
    sys.stdout.write("\nraw-done\n")
    sys.stdout.flush()
elif mode == "tty":
    print(f"isatty {int(os.isatty(0))}{int(os.isatty(1))}{int(os.isatty(2))} term={os.environ.get('TERM')}")
    print("\x1b[31mred\x1b[0m")
    print(value)
    print("unflushed-line")  # no flush: line buffering on a tty sends it anyway
    time.sleep(3)
    print("done")
