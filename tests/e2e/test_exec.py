"""`run-with-keys exec [OPTIONS] -- CMD`: an ad-hoc run with no profile.
--key/--file/--env-file give the command exactly the referenced secrets, the
plain settings and the inherited variables; errors start nothing; output is
redacted and exit codes are those of `run`."""
from __future__ import annotations

import hashlib

from launch_helpers import PY, assert_error, bot, last_json, launch, stderr_text  # noqa: F401


def sha(v: str | bytes) -> str:
    return hashlib.sha256(v.encode() if isinstance(v, str) else v).hexdigest()


JUNK = {"FOO": "bar", "TZ": "UTC", "TERM": "dumb", "USER": "someone", "AWS_SECRET_ACCESS_KEY": "junk",
        "PYTHONPATH": "/nowhere"}


def exec_(launch, *args, env=None, timeout=60):
    return launch.rwk.run("exec", *map(str, args), env=env, timeout=timeout)


def test_key_gives_exactly_the_key_and_the_default_inherited_names(launch):
    a = launch.secret("app/a")
    res = exec_(launch, "--key", "A=app/a", "--", PY, bot("environment.py"), env=JUNK)
    assert res.returncode == 0, stderr_text(res)
    out = last_json(res)
    want = {"PATH", "LANG", "TZ", "TERM", "HOME", "USER", "A"}
    assert set(out["initial"]) == want and out["count"] == len(want)
    env = launch.rwk.env(JUNK)
    for name in want - {"A"}:
        assert out["initial"][name] == sha(env[name])
    assert out["initial"]["A"] == sha(a)


def test_env_file_references_and_plain_settings(launch):
    api = launch.secret("exchange/api")
    sec = launch.secret("exchange/secret")
    envfile = launch.rwk.root / "app.env"
    envfile.write_text("# settings for the bot: no secret here\n"
                       "LOG_LEVEL=debug\n"
                       "export API_KEY=rwk://exchange/api\n"
                       "API_SECRET=\"rwk://exchange/secret\"\n"
                       "GREETING='hello world' # a comment\n"
                       "\n"
                       "URL=https://example.test/a?b=c\n")
    res = exec_(launch, "--env-file", envfile, "--inherit", "PATH", "--", PY, bot("environment.py"), env=JUNK)
    assert res.returncode == 0, stderr_text(res)
    out = last_json(res)
    want = {"PATH", "LOG_LEVEL", "API_KEY", "API_SECRET", "GREETING", "URL"}
    assert set(out["initial"]) == want and out["count"] == len(want)
    assert out["initial"]["LOG_LEVEL"] == sha("debug")
    assert out["initial"]["GREETING"] == sha("hello world")
    assert out["initial"]["URL"] == sha("https://example.test/a?b=c")
    assert out["initial"]["API_KEY"] == sha(api)
    assert out["initial"]["API_SECRET"] == sha(sec)


def test_missing_reference_names_file_line_and_secret_and_starts_nothing(launch):
    launch.secret("exchange/api")
    envfile = launch.rwk.root / "app.env"
    envfile.write_text("LOG_LEVEL=debug\nAPI_KEY=rwk://exchange/api\nAPI_SECRET=rwk://exchange/nope\n")
    marker = launch.out / "started"
    res = exec_(launch, "--env-file", envfile, "--", "/usr/bin/touch", marker)
    assert_error(res, 125, "app.env line 3", "exchange/nope", hint="run-with-keys set exchange/nope")
    assert not marker.exists()
    res = exec_(launch, "--key", "K=missing/one", "--", "/usr/bin/touch", marker)
    assert_error(res, 125, "--key K=missing/one", "missing/one")
    assert not marker.exists()


def test_bad_options_are_errors(launch):
    marker = launch.out / "started"
    assert_error(exec_(launch, "--key", "A", "--", "/usr/bin/touch", marker), 125, "expected VAR=NAME")
    assert_error(exec_(launch, "--key", "RUN_WITH_KEYS_HOME=x", "--", "/usr/bin/touch", marker), 125, "RUN_WITH_KEYS_HOME")
    assert_error(exec_(launch, "--key", "A=x", "--file", "A=y", "--", "/usr/bin/touch", marker), 125, "already given")
    assert_error(exec_(launch, "--key", "A=x"), 125, "needs a command")
    assert_error(exec_(launch, "--env-file", launch.rwk.root / "none.env", "--", "/usr/bin/touch", marker), 125, "none.env")
    # what the launch path's own parser (ExecCommand.Settings.parse) leaves to argument-parser
    assert_error(exec_(launch, "--key", "--file", "A=x", "--", "/usr/bin/touch", marker), 125, "missing value for '--key")
    assert_error(exec_(launch, "--nosuch", "--", "/usr/bin/touch", marker), 125, 'unknown option "--nosuch"')
    assert not marker.exists()


def test_option_spellings_the_fast_parser_takes_match_argument_parser(launch):
    """`--key=VAR=NAME`, `--opt value`, global options after the subcommand, and
    `--log-format json`: the same launch either way."""
    a = launch.secret("app/a")
    for args in (["--key=A=app/a"], ["--key", "A=app/a"], ["--log-format", "json", "--key", "A=app/a"],
                 ["--home", str(launch.rwk.home), "--key", "A=app/a"]):
        for env in (None, {"RUN_WITH_KEYS_ARGUMENT_PARSER": "1"}):   # the fast parser, then argument-parser
            res = exec_(launch, *args, "--", PY, bot("environment.py"), env=env)
            assert res.returncode == 0, (args, env, stderr_text(res))
            out = last_json(res)
            assert out["initial"]["A"] == sha(a) and "RUN_WITH_KEYS_ARGUMENT_PARSER" not in out["initial"], (args, env)
            if "json" in args:
                assert stderr_text(res).lstrip().startswith("{"), stderr_text(res)


def test_file_key_is_a_sealed_memfd_usable_as_placeholder(launch):
    pem = launch.secret("app/pem", "-----BEGIN KEY-----\nabc\n-----END KEY-----\n")
    res = exec_(launch, "--file", "PEM=app/pem", "--", "/usr/bin/sha256sum", "{file:PEM}")
    assert res.returncode == 0, stderr_text(res)
    assert res.stdout.split()[0].decode() == sha(pem)
    assert b"/proc/self/fd/" in res.stdout


def test_output_is_redacted(launch):
    launch.secret("app/key")
    res = exec_(launch, "--key", "K=app/key", "--", "/bin/sh", "-c", 'echo "the key is $K"; echo "err $K" >&2')
    assert res.returncode == 0, stderr_text(res)   # (the Rwk runner also checks that no value leaked)
    assert res.stdout == b"the key is [redacted:app/key]\n"
    assert b"err [redacted:app/key]\n" in res.stderr


def test_exit_codes_like_run(launch):
    launch.secret("app/key")
    assert exec_(launch, "--key", "K=app/key", "--", "/bin/sh", "-c", "exit 7").returncode == 7
    assert exec_(launch, "--", "/bin/sh", "-c", "kill -TERM $$").returncode == 128 + 15
    assert_error(exec_(launch, "--", "no-such-command-here"), 127, "not found")
    notexec = launch.rwk.root / "notexec"
    notexec.write_text("#!/bin/sh\n")
    notexec.chmod(0o644)
    assert_error(exec_(launch, "--", notexec), 126, "can't be executed")


def test_profile_gives_sandbox_and_limits_not_command_or_keys(launch):
    launch.secret("app/key")
    p = launch.profile("base", ["/bin/false"], limits={"nofile": 77}, keys={"OTHER": "app/key"},
                       env={"set": {"FROM_PROFILE": "1"}})
    res = exec_(launch, "--profile", p, "--", "/bin/sh", "-c", 'ulimit -n; echo "other=${OTHER-unset} fp=${FROM_PROFILE-unset}"')
    assert res.returncode == 0, stderr_text(res)
    assert res.stdout == b"77\nother=unset fp=unset\n"


def test_key_policy_applies(launch):
    v = launch.rwk.secret()
    launch.rwk.set("app/key", v, "--scope", "withdraw")
    marker = launch.out / "started"
    p = launch.profile("strict", ["/bin/false"], policy={"forbid_scopes": ["withdraw"]})
    res = exec_(launch, "--profile", p, "--key", "K=app/key", "--", "/usr/bin/touch", marker)
    assert_error(res, 125, "withdraw")
    assert not marker.exists()
    # without a profile, as with `run`: an expired key is warned about
    launch.rwk.set("app/old", launch.rwk.secret(), "--expires", "2020-01-01T00:00:00Z")
    res = exec_(launch, "--key", "K=app/old", "--", "/bin/true")
    assert res.returncode == 0, stderr_text(res)
    assert 'warning: key "app/old" (K) expired' in stderr_text(res)
