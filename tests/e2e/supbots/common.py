"""Shared bits of the supervision test bots (imported from the script's directory)."""
import json
import os
import time


def write_json(path, obj):
    """Atomic: the test never sees a half-written file."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.rename(tmp, path)


def append(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


def sleep_forever():
    while True:
        time.sleep(3600)
