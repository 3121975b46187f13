"""The child's environment and its keys: exactly [env] inherit/set plus the
keys, nothing of run-with-keys' own environment; `as = "file"` and `as = "fd"`
hand over sealed memfds."""
from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from launch_helpers import PY, assert_error, bot, last_json, launch, stderr_text  # noqa: F401


def sha(v: str | bytes) -> str:
    return hashlib.sha256(v.encode() if isinstance(v, str) else v).hexdigest()


def test_environment_is_exactly_the_allowed_names_plus_keys(launch):
    api = launch.secret("app/api")
    pem = launch.secret("app/pem")
    p = launch.profile("env", [PY, bot("environment.py")],
                       env={"inherit": ["PATH", "LANG", "TZ", "NOT_SET_ANYWHERE"], "set": {"LOG_LEVEL": "info"}},
                       keys={"API_KEY": "app/api",
                             "KEY_FILE": {"secret": "app/pem", "as": "file"},
                             "KEY_FD": {"secret": "app/pem", "as": "fd", "fd": 5}})
    junk = {
        "FOO": "bar", "TZ": "UTC", "AWS_SECRET_ACCESS_KEY": "junk", "PYTHONPATH": "/nowhere",
        "LD_PRELOAD": "", "XDG_CONFIG_HOME": "/tmp/nowhere",
        "RUN_WITH_KEYS_IDENTITY_COMMAND": None,       # unset
        "RUN_WITH_KEYS_IDENTITY": str(launch.rwk.identity),
        "RUN_WITH_KEYS_VAULT": "/tmp/not-used",
    }
    res = launch.run(p, env=junk)
    assert res.returncode == 0, stderr_text(res)
    out = last_json(res)
    want = {"PATH", "LANG", "TZ", "LOG_LEVEL", "API_KEY", "KEY_FILE", "KEY_FD"}
    assert set(out["initial"]) == want
    assert out["count"] == len(want)                      # no duplicates
    assert set(out["os_environ"]) == want
    env = launch.rwk.env(junk)
    for name in ("PATH", "LANG", "TZ"):
        assert out["initial"][name] == sha(env[name])
    assert out["initial"]["LOG_LEVEL"] == sha("info")
    assert out["initial"]["API_KEY"] == sha(api)
    assert out["initial"]["KEY_FD"] == sha("5")
    assert out["initial"]["KEY_FILE"] in {sha(f"/proc/self/fd/{n}") for n in range(3, 10)}
    assert pem  # only as a file and an fd, never a variable's value
    assert sha(pem) not in out["initial"].values()


def test_reserved_names_cannot_be_inherited(launch):
    launch.secret("app/api")
    marker = launch.out / "started"
    p = launch.profile("reserved", ["/usr/bin/touch", str(marker)],
                       env={"inherit": ["PATH", "RUN_WITH_KEYS_HOME"]})
    res = launch.run(p)
    assert_error(res, 125, "RUN_WITH_KEYS_HOME", hint="RUN_WITH_KEYS_")
    assert not marker.exists()


def test_file_and_fd_injection(launch):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    assert pem.count("\n") >= 5
    launch.secret("app/pem", pem)
    token = launch.secret("app/token")
    p = launch.profile("inject", [PY, bot("injected.py")],
                       keys={"SECRET_FILE": {"secret": "app/pem", "as": "file"},
                             "SECRET_FD": {"secret": "app/pem", "as": "fd", "fd": 7},
                             "SECRET_ENV": "app/token"})
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    out = last_json(res)
    digest = sha(pem)
    # /proc/self/fd/N: read, seek back and read again, reopen: the full PEM each time.
    assert out["file_var"].startswith("/proc/self/fd/")
    assert out["file_reads"] == [digest] * 3
    assert out["file_len"] == len(pem.encode()) and out["file_lines"] == pem.count("\n")
    # Sealed: F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE, and every write fails.
    assert out["file_seals"] & 0xF == 0xF
    assert out["file_write_fd"] == "EPERM"
    assert out["file_write_open"] == "EPERM"
    assert out["file_truncate"] == "EPERM"
    assert out["file_grow"] == "EPERM"
    assert out["file_after"] == digest
    # fd 7: readable with os.read, the variable holds "7".
    assert out["fd_var"] == "7"
    assert out["fd_read"] == digest and out["fd_reread"] == digest
    assert out["fd_write"] == "EPERM"
    assert out["env"] == sha(token)
    n = int(out["file_var"].rsplit("/", 1)[1])
    # Nothing but stdio and the two memfds is open in the bot.
    assert out["fds"] == sorted({0, 1, 2, n, 7})


def test_file_placeholder_in_command_becomes_the_memfd_path(launch):
    """`{file:VAR}` in `command` is replaced by the key file's /proc/self/fd/N path
    (never by its value); `check` shows the path; an unknown VAR stops the launch."""
    pem = "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"
    launch.secret("app/pem", pem)
    script = ("import sys, json; p = sys.argv[1]; "
              "print(json.dumps({'arg': p, 'flag': sys.argv[2], 'content': open(p).read()}))")
    p = launch.profile("placeholder", [PY, "-c", script, "{file:KEY_FILE}", "--key={file:KEY_FILE}"],
                       keys={"KEY_FILE": {"secret": "app/pem", "as": "file"}})
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    # The bot's stdout is redacted, so compare the path and recognise the content by its redaction.
    out = last_json(res)
    assert out["arg"].startswith("/proc/self/fd/") and out["flag"] == "--key=" + out["arg"]
    assert out["content"] == "[redacted:app/pem]"
    check = launch.rwk.run("check", p)
    assert check.returncode == 0 and b"/proc/self/fd/" in check.stdout and b"{file:" not in check.stdout
    bad = launch.profile("badplaceholder", [PY, "-c", "pass", "{file:NOPE}"],
                         keys={"KEY_FILE": {"secret": "app/pem", "as": "file"}})
    assert_error(launch.run(bad), 125, "{file:NOPE}", hint="as = \"file\"")
