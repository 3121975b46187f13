"""A bot for stop and signal tests.

stopper.py STATE MODE [GRANDCHILD]
  MODE trap:N    exit N on SIGTERM
       ignore    ignore SIGTERM (needs SIGKILL)
       default   SIGTERM kills it
  GRANDCHILD     sleep   a setsid'd `sleep 1000` (dies of SIGTERM)
                 ignore  a setsid'd `sleep 1000` that ignores SIGTERM
Every other forwardable signal (HUP USR1 USR2 QUIT WINCH INT) is recorded in
STATE.signals, one name per line. STATE gets {"pid", "grandchild"} when ready.
"""
import os
import signal
import sys

from common import append, host_pid, sleep_forever, write_json

state, mode = sys.argv[1], sys.argv[2]
grand = sys.argv[3] if len(sys.argv) > 3 else None


def record(sig, _frame):
    append(state + ".signals", signal.Signals(sig).name)


for s in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT, signal.SIGWINCH, signal.SIGINT):
    signal.signal(s, record)

if mode.startswith("trap:"):
    code = int(mode[5:])

    def on_term(_sig, _frame):
        append(state + ".signals", "SIGTERM")
        os._exit(code)

    signal.signal(signal.SIGTERM, on_term)
elif mode == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

gpid = None
if grand:
    r, w = os.pipe()
    gpid = os.fork()
    if gpid == 0:
        os.close(r)
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN if grand == "ignore" else signal.SIG_DFL)
        for s in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT, signal.SIGWINCH, signal.SIGINT):
            signal.signal(s, signal.SIG_DFL)
        os.write(w, str(host_pid()).encode())  # tells the parent the signal set-up is done
        os.close(w)
        os.execv("/bin/sleep", ["sleep", "1000"])
    os.close(w)
    gpid = int(os.read(r, 32))
    os.close(r)

write_json(state, {"pid": host_pid(), "grandchild": gpid})
sleep_forever()
