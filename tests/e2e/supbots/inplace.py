"""A bot for reload = "signal": reads its key file (the path in env VAR) at
start and on each SIGHUP, appending {"pid", "value", "signals"} to OUT; then
tries to change the file and appends what each attempt raised to OUT.tamper.

inplace.py OUT VAR
"""
import errno
import json
import os
import signal
import sys
import time

from common import append, host_pid, sleep_forever

out, var = sys.argv[1], sys.argv[2]
path = os.environ[var]
seen = {"signals": 0}


def read_key():
    with open(path, "rb") as f:
        return f.read().decode()


def report(*_):
    seen["signals"] += 1 if _ else 0
    append(out, json.dumps({"pid": host_pid(), "value": read_key(), "signals": seen["signals"]}))


def attempt(name, fn):
    try:
        fn()
        return [name, "ok"]
    except OSError as e:
        return [name, errno.errorcode.get(e.errno, str(e.errno))]


def tamper():
    def write():
        with open(path, "r+b") as f:
            f.write(b"x")
    def truncate():
        with open(path, "r+b") as f:
            f.truncate(0)
    def grow():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.ftruncate(fd, 4096)
        finally:
            os.close(fd)
    def chmod_then_write():
        os.chmod(path, 0o666)
        write()
    return [attempt("write", write), attempt("truncate", truncate), attempt("grow", grow),
            attempt("chmod+write", chmod_then_write)]


signal.signal(signal.SIGHUP, report)
report()
append(out + ".tamper", json.dumps(tamper()))
sleep_forever()
