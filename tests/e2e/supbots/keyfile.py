"""Writes {"pid", "value"} of env VAR to OUT (a file: stdout is redacted), then
sleeps. On SIGTERM it waits GRACE seconds (a graceful shutdown), then exits 0."""
import os
import signal
import sys
import time

from common import append, host_pid, sleep_forever, write_json

out, var = sys.argv[1], sys.argv[2]
grace = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0


def on_term(_sig, _frame):
    append(out + ".terms", str(host_pid()))
    time.sleep(grace)
    os._exit(0)


signal.signal(signal.SIGTERM, on_term)
write_json(out, {"pid": host_pid(), "value": os.environ.get(var)})
sleep_forever()
