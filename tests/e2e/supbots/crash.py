"""Records "start PID T" and "exit PID T" (CLOCK_MONOTONIC) in COUNTER, then exits CODE."""
import os
import sys
import time

from common import append, host_pid

counter, code = sys.argv[1], int(sys.argv[2])
append(counter, f"start {host_pid()} {time.monotonic():.6f}")
append(counter, f"exit {host_pid()} {time.monotonic():.6f}")
sys.exit(code)
