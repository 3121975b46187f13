"""Reads its secrets the three ways run-with-keys hands them over and reports
digests (never values) as one JSON line:
  SECRET_ENV   the variable holds the value
  SECRET_FILE  a sealed memfd; the variable holds /proc/self/fd/N
  SECRET_FD    the value is readable on fd N; the variable holds N"""
import errno
import fcntl
import hashlib
import json
import os


def digest(b):
    return hashlib.sha256(b).hexdigest()


def attempt(call):
    try:
        call()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


out = {}
path = os.environ["SECRET_FILE"]
out["file_var"] = path
with open(path, "rb") as f:
    first = f.read()
    f.seek(0)
    again = f.read()
with open(path, "rb") as f:       # a fresh open of /proc/self/fd/N starts at 0 too
    third = f.read()
n = int(path.rsplit("/", 1)[1])
out["file_reads"] = [digest(first), digest(again), digest(third)]
out["file_len"] = len(first)
out["file_lines"] = first.count(b"\n")
out["file_seals"] = fcntl.fcntl(n, fcntl.F_GET_SEALS)
out["file_write_fd"] = attempt(lambda: os.pwrite(n, b"x", 0))


def write_reopened():
    with open(path, "r+b", buffering=0) as f:
        f.write(b"x")


out["file_write_open"] = attempt(write_reopened)
out["file_truncate"] = attempt(lambda: os.ftruncate(n, 0))
out["file_grow"] = attempt(lambda: os.ftruncate(n, len(first) + 4096))
with open(path, "rb") as f:
    out["file_after"] = digest(f.read())

fd = int(os.environ["SECRET_FD"])
out["fd_var"] = os.environ["SECRET_FD"]
chunks = []
while True:
    chunk = os.read(fd, 7)           # small reads: the whole value arrives in pieces
    if not chunk:
        break
    chunks.append(chunk)
out["fd_read"] = digest(b"".join(chunks))
os.lseek(fd, 0, os.SEEK_SET)
out["fd_reread"] = digest(os.read(fd, 1 << 16))
out["fd_write"] = attempt(lambda: os.write(fd, b"x"))

out["env"] = digest(os.environ["SECRET_ENV"].encode())
fds = []
for x in os.listdir("/proc/self/fd"):
    try:
        os.readlink(f"/proc/self/fd/{x}")
        fds.append(int(x))
    except OSError:
        pass  # the directory fd listdir used, already closed
out["fds"] = sorted(fds)
print(json.dumps(out), flush=True)
