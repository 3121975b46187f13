"""Runs normally, then tries to start programs: subprocess, os.execv (which
would replace the bot) and os.posix_spawn. Reports what each raised as one
JSON line, then exits 0."""
import json
import os
import subprocess

print("bot started", flush=True)
result = {"pid": os.getpid()}
for name, call in [
    ("subprocess", lambda: subprocess.run(["/bin/true"], check=True)),
    ("execv", lambda: os.execv("/bin/true", ["/bin/true"])),
    ("posix_spawn", lambda: os.waitpid(os.posix_spawn("/bin/true", ["/bin/true"], {}), 0)),
]:
    try:
        call()
        result[name] = "ran"
    except OSError as e:
        result[name] = {"type": type(e).__name__, "errno": e.errno}
print(json.dumps(result), flush=True)
