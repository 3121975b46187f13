"""PID-1 test bot: makes orphans (double fork), then reports process states.

orphans.py STATE QUICK SLOW
  QUICK orphans exit at once, SLOW orphans live 0.5 s. After 1 s the bot writes
  STATE = {"pid", "me_in_ns", "procs": [[pid, state, ppid, comm], ...]} from
  its own /proc, and exits 9 on SIGTERM.
"""
import os
import signal
import sys
import time

from common import write_json

state, quick, slow = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
signal.signal(signal.SIGTERM, lambda *_: os._exit(9))


def orphan(lifetime):
    child = os.fork()
    if child == 0:
        if os.fork() == 0:
            if lifetime:
                time.sleep(lifetime)
            os._exit(0)
        os._exit(0)
    os.waitpid(child, 0)  # the middle process is ours to reap; the grandchild is orphaned


for _ in range(quick):
    orphan(0)
for _ in range(slow):
    orphan(0.5)
time.sleep(1.0)

procs = []
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            data = open(f"/proc/{d}/stat", "rb").read()
        except OSError:
            continue
        comm = data[data.index(b"(") + 1:data.rindex(b")")].decode(errors="replace")
        rest = data[data.rindex(b")") + 2:].split()
        procs.append([int(d), rest[0].decode(), int(rest[1]), comm])
write_json(state, {"pid": os.getpid(), "procs": procs})
while True:
    time.sleep(3600)
