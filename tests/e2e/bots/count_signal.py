"""Counts how many times SIGRTMIN arrives: blocks it, writes argv[1] when ready,
then takes queued instances one by one with sigtimedwait (realtime signals
queue, so nothing merges) until none comes for half a second. Exits with
the count."""
import signal
import sys

signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])
open(sys.argv[1], "w").close()
signal.sigwait([signal.SIGRTMIN])
count = 1
while signal.sigtimedwait([signal.SIGRTMIN], 0.5) is not None:
    count += 1
sys.exit(count)
