"""Bad input: one `run-with-keys: error:` line (+ hints), exit 125, and no child
started. The "bot" of every profile here would create a marker file."""
from __future__ import annotations

import pytest

from launch_helpers import assert_error, launch, profile_text, stderr_text  # noqa: F401

TOUCH = "/usr/bin/touch"


@pytest.fixture
def marker(launch):
    path = launch.out / "child-ran"
    yield path
    assert not path.exists(), "a child was started"


def both(launch, profile, code=125, *substrings, hint=None):
    """`run PROFILE`, `PROFILE` and `check PROFILE` all fail the same way."""
    lines = set()
    for sub in ("run", None):
        lines.add(assert_error(launch.run(profile, subcommand=sub), code, *substrings, hint=hint))
    lines.add(assert_error(launch.check(profile), 125, *substrings, hint=hint))
    assert len(lines) == 1, lines
    return lines.pop()


def test_missing_profile(launch, marker):
    both(launch, launch.dir / "nope.toml", 125, "nope.toml")
    # By name: the hint lists where it looked.
    res = launch.rwk.run("run", "no-such-profile")
    assert_error(res, 125, "no-such-profile", hint="profiles")


def test_toml_syntax_error(launch, marker):
    p = launch.write("syntax", f'command = ["{TOUCH}", "{marker}"\n[env]\ninherit = ["PATH"]\n')
    line = both(launch, p, 125, "syntax.toml", "invalid toml")
    assert "line" in line


def test_unknown_key_suggests_the_closest(launch, marker):
    p = launch.write("unknown", profile_text([TOUCH, str(marker)], sandbox={"seccom": "default"}))
    both(launch, p, 125, "seccom", hint='"seccomp"')
    p = launch.write("unknown2", f'comand = ["{TOUCH}", "{marker}"]\ncommand = ["{TOUCH}", "{marker}"]\n')
    both(launch, p, 125, "comand", hint='"command"')


def test_wrong_type(launch, marker):
    p = launch.write("type", f'command = "{TOUCH} {marker}"\n')
    both(launch, p, 125, "command", hint="command = [")
    p = launch.write("type2", profile_text([TOUCH, str(marker)], limits={"nofile": True}))
    both(launch, p, 125, "nofile")


def test_missing_secret(launch, marker):
    launch.secret("app/present")
    p = launch.profile("missing", [TOUCH, str(marker)],
                       keys={"A": "app/present", "B": "app/absent", "C": {"secret": "app/gone", "as": "file"}})
    line = both(launch, p, 125, '"app/absent"', '"app/gone"', hint="run-with-keys set app/absent")
    assert "app/present" not in line


def test_unknown_user(launch, marker):
    p = launch.profile("user", [TOUCH, str(marker)], top={"user": "no-such-user-rwk"})
    both(launch, p, 125, "no-such-user-rwk", hint="useradd")


def test_bad_duration(launch, marker):
    p = launch.profile("duration", [TOUCH, str(marker)], restart={"delay": "10x"})
    both(launch, p, 125, "10x", "delay")


def test_unknown_syscall_in_deny(launch, marker):
    p = launch.profile("syscall", [TOUCH, str(marker)], sandbox={"deny": ["socketpair", "not_a_syscall"]})
    both(launch, p, 125, "not_a_syscall", "[sandbox] deny", hint="syscall names")


def test_command_not_executable_is_126_for_run_125_for_check(launch, marker):
    script = launch.out / "bot.sh"
    script.write_text(f"#!/bin/sh\n{TOUCH} {marker}\n")
    script.chmod(0o644)
    p = launch.profile("noexec", [str(script)])
    for sub in ("run", None):
        assert_error(launch.run(p, subcommand=sub), 126, "can't be executed", str(script), hint="chmod +x")
    assert_error(launch.check(p), 125, "can't be executed", str(script))
    # A directory is not executable either.
    p = launch.profile("dir", [str(launch.out)])
    assert_error(launch.run(p), 126, str(launch.out))
    assert_error(launch.check(p), 125, str(launch.out))


def test_command_not_found_is_127_for_run_125_for_check(launch, marker):
    p = launch.profile("notfound", [str(launch.out / "missing-bot"), str(marker)])
    for sub in ("run", None):
        assert_error(launch.run(p, subcommand=sub), 127, "not found", "missing-bot")
    assert_error(launch.check(p), 125, "not found", "missing-bot")
    # A bare name is looked up in the CHILD's PATH (none inherited: the default one).
    p = launch.profile("notfound2", ["rwk-no-such-program", str(marker)])
    assert_error(launch.run(p), 127, "rwk-no-such-program", hint="PATH")
    assert_error(launch.check(p), 125, "rwk-no-such-program", hint="PATH")
    # ... which finds touch without any [env] at all.
    p = launch.profile("found", ["touch", str(marker)])
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    assert marker.exists()
    marker.unlink()


def test_missing_workdir(launch, marker):
    p = launch.profile("workdir", [TOUCH, str(marker)], top={"workdir": str(launch.out / "no-such-dir")})
    both(launch, p, 125, "workdir", "no-such-dir", hint="workdir")
    p = launch.profile("workdir2", [TOUCH, str(marker)], top={"workdir": "/etc/hostname"})
    both(launch, p, 125, "not a directory")


def test_nofile_above_the_kernel_ceiling(launch, marker):
    nr_open = int(open("/proc/sys/fs/nr_open").read())
    p = launch.profile("nofile", [TOUCH, str(marker)], limits={"nofile": nr_open + 1})
    both(launch, p, 125, "nofile", "nr_open")


def has_cap_sys_resource() -> bool:
    for line in open("/proc/self/status"):
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) & (1 << 24))
    return False


def test_core_dumps_need_cap_sys_resource(launch, marker):
    """run-with-keys lowers only its own soft core limit (it is non-dumpable anyway), so
    a profile may raise the bot's up to the inherited hard limit; above it needs the cap."""
    import resource
    p = launch.profile("core", [TOUCH, str(marker)], limits={"core": "unlimited"})
    if has_cap_sys_resource() or resource.getrlimit(resource.RLIMIT_CORE)[1] == resource.RLIM_INFINITY:
        res = launch.run(p)
        assert res.returncode == 0, stderr_text(res)
        marker.unlink()
    else:
        both(launch, p, 125, "core", "CAP_SYS_RESOURCE")


def test_exec_format_error_is_126(launch, marker):
    script = launch.out / "no-shebang"
    script.write_text(f"{TOUCH} {marker}\n")   # a shell would run it; execve can't
    script.chmod(0o755)
    p = launch.profile("format", [str(script)])
    res = launch.run(p)
    assert res.returncode == 126, stderr_text(res)
    assert "exec format error" in stderr_text(res).lower()
