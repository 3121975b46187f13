"""A bot that spreads out: a plain child, a setsid'd child and a double-forked
orphan, each sleeping with the bot's environment (its keys included).

tree.py STATE
  STATE gets {"pid", "child", "setsid", "orphan"}: host pids (see host_pid).
"""
import os
import sys

from common import host_pid, sleep_forever, write_json

state = sys.argv[1]


def spawn(kind):
    """Forks a sleeper of `kind`; returns its host pid once it is set up."""
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(r)
        if kind == "setsid":
            os.setsid()
        if kind == "orphan":
            if os.fork() != 0:
                os._exit(0)      # the middle process; the sleeper is orphaned
            os.setsid()
        os.write(w, str(host_pid()).encode())
        os.close(w)
        sleep_forever()
    os.close(w)
    pid = int(os.read(r, 32))
    os.close(r)
    return pid


pids = {kind: spawn(kind) for kind in ("child", "setsid", "orphan")}
try:
    os.waitpid(-1, os.WNOHANG)   # the orphan's middle process
except ChildProcessError:
    pass
write_json(state, {"pid": host_pid(), **pids})
sleep_forever()
