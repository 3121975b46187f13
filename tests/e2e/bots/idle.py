"""Prints its secret (LEAK_ME) on purpose, writes argv[1] (a ready marker) and
idles until SIGTERM, so that the redaction of the supervisor's relay and the
supervisor's memory can be checked. argv[2] says how it prints:
  "split" (default)  on stdout in two writes, then whole on stderr
  "split:SECONDS"    the same, with a pause between the two writes
  "once"             whole, once, on stdout
  "quiet"            not at all"""
import os
import signal
import sys
import time

value = os.environ["LEAK_ME"]
mode = sys.argv[2] if len(sys.argv) > 2 else "split"
if mode.startswith("split"):
    half = len(value) // 2
    sys.stdout.write("value=" + value[:half])
    sys.stdout.flush()
    time.sleep(float(mode[6:] or 0))
    sys.stdout.write(value[half:] + "\n")
    sys.stdout.flush()
    sys.stderr.write("stderr value=" + value + "\n")
    sys.stderr.flush()
elif mode == "once":
    sys.stdout.write("value=" + value + "\n")
    sys.stdout.flush()
del value


def stop(sig, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # the supervisor may repeat it
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
open(sys.argv[1], "w").close()
while True:
    time.sleep(0.05)
