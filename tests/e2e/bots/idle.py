"""Writes argv[1] (a ready marker) and then idles until SIGTERM. Before that
it deliberately prints its secret (LEAK_ME) on stdout, split over two writes
argv[2] seconds apart (default 0), and whole on stderr, so that the redaction
of the supervisor's relay can be checked."""
import os
import signal
import sys
import time

value = os.environ["LEAK_ME"]
half = len(value) // 2
sys.stdout.write("value=" + value[:half])
sys.stdout.flush()
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0)
sys.stdout.write(value[half:] + "\n")
sys.stdout.flush()
sys.stderr.write("stderr value=" + value + "\n")
sys.stderr.flush()
del value


def stop(sig, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # the supervisor may repeat it
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
open(sys.argv[1], "w").close()
while True:
    time.sleep(0.05)
