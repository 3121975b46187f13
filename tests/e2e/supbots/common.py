"""Shared bits of the supervision test bots (imported from the script's directory)."""
import json
import os
import time


def host_pid():
    """Our pid as the supervisor and the tests see it. The bot runs as PID 2 of
    its own PID namespace (os.getpid() is 2), while /proc is still the host's,
    so /proc/self names us in the host's numbering."""
    return int(os.readlink("/proc/self"))


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
