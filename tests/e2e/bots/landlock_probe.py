"""Tries what argv asks and prints one JSON line: a list of [action, result],
result "ok" or an errno name ("EACCES"). Stdlib only (it also runs as `nobody`).

Actions: read:PATH, write:PATH (create or truncate, then write), listdir:PATH,
connect:PORT, bind:PORT (127.0.0.1; 0 = any free port), listen (bind to port 0,
then listen), autolisten (listen without bind: the kernel binds an ephemeral
port), fastopen:PORT (TCP Fast Open: data in the SYN, no connect(2)),
mptcp:PORT (an MPTCP socket's connect), kill:PID:SIG, child (runs this script again as a subprocess with
the remaining actions and includes its list: the bot's descendants are tested
the same way).
"""
import errno
import json
import os
import socket
import subprocess
import sys


def attempt(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def read(path):
    with open(path, "rb") as f:
        f.read(1)


def write(path):
    with open(path, "w") as f:
        f.write("x")


def connect(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


def bind(port, listen=False):
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        if listen:
            s.listen()


def autolisten():
    with socket.socket() as s:
        s.listen()


def fastopen(port):
    with socket.socket() as s:
        s.settimeout(5)
        s.sendto(b"tfo", 0x20000000, ("127.0.0.1", port))   # MSG_FASTOPEN


def mptcp(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262) as s:   # IPPROTO_MPTCP
        s.settimeout(5)
        s.connect(("127.0.0.1", port))


results = []
args = sys.argv[1:]
for i, a in enumerate(args):
    kind, _, arg = a.partition(":")
    if kind == "child":
        out = subprocess.run([sys.executable, __file__, *args[i + 1:]], capture_output=True, text=True)
        results.append([a, json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else out.stderr])
        break
    fn = {
        "read": lambda: read(arg),
        "write": lambda: write(arg),
        "listdir": lambda: os.listdir(arg),
        "connect": lambda: connect(int(arg)),
        "bind": lambda: bind(int(arg)),
        "listen": lambda: bind(0, listen=True),
        "autolisten": autolisten,
        "fastopen": lambda: fastopen(int(arg)),
        "mptcp": lambda: mptcp(int(arg)),
        "kill": lambda: os.kill(int(arg.split(":")[0]), int(arg.split(":")[1])),
    }[kind]
    results.append([a, attempt(fn)])
print(json.dumps(results), flush=True)
