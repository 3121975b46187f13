"""Reports what the kernel says about this process: /proc/self/status fields,
/proc/self/limits, ids and open fds, as one JSON line. Stdlib only (it also
runs as `nobody` under /usr/bin/python3)."""
import json
import os

status = {}
with open("/proc/self/status") as f:
    for line in f:
        key, _, value = line.partition(":")
        status[key] = value.strip()

limits = {}
with open("/proc/self/limits") as f:
    next(f)  # header
    for line in f:
        name = line[:26].strip()
        soft, hard = line[26:47].strip(), line[47:68].strip()
        limits[name] = [soft, hard]

fds = {}
for name in os.listdir("/proc/self/fd"):
    try:
        fds[name] = os.readlink(f"/proc/self/fd/{name}")
    except OSError:
        pass  # the directory fd listdir used, already closed

print(json.dumps({"status": status, "limits": limits, "uid": os.getuid(), "euid": os.geteuid(),
                  "gid": os.getgid(), "groups": os.getgroups(), "fds": fds, "cwd": os.getcwd()}), flush=True)
