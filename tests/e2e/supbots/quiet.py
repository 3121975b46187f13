"""Prints each named env var once (through the redactor) and a marker, then
sleeps without any wake-ups. quiet.py MARKER VAR..."""
import os
import signal
import sys

for var in sys.argv[2:]:
    print(os.environ.get(var, ""), flush=True)
open(sys.argv[1], "w").close()
while True:
    signal.pause()
