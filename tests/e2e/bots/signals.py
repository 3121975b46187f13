"""Installs handlers for INT, TERM, HUP, USR1 and USR2; appends the name of
every signal it gets to argv[1]; writes argv[1].ready once the handlers are in
place. On the first INT or TERM it exits with 40 + the signal number (and
ignores repeats)."""
import signal
import sys
import time

log = sys.argv[1]


def record(sig):
    with open(log, "a") as f:
        f.write(signal.Signals(sig).name + "\n")


def on_signal(sig, frame):
    record(sig)
    if sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sys.exit(40 + sig)


for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(s, on_signal)
open(log + ".ready", "w").close()
while True:
    time.sleep(0.02)
