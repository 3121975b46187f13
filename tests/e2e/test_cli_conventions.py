"""Command-line conventions end to end: a bare `run-with-keys` prints usage, mistakes get a
did-you-mean, `help nosuch` is an error, shell completions load in bash, zsh and fish and
complete profile and secret names (never values, never a prompt, never a hang), the man page
from swift-argument-parser's GenerateManual plugin renders, and `audit` reads the same
profiles from any working directory (plus `--profiles DIR`).

zsh and fish are driven through a real pty and a real TAB; a shell that is not installed
(`apt-get install zsh fish`) is skipped with a message. So are `man` (man-db) and `swift`.
"""
from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ERR, HINT, REPO, RWK_BIN, assert_cli_error

SUBCOMMANDS = ["run", "exec", "check", "init", "set", "import", "list", "rm", "rotate",
               "recipients", "audit", "demo"]


def write_profile(directory: Path, name: str, keys: dict[str, str], marker: Path | None = None) -> Path:
    """A profile whose bot writes `marker` (when given) and exits 0."""
    code = f"open({str(marker)!r}, 'w').close()" if marker else "pass"
    body = (f'command = ["{sys.executable}", "-c", "{code}"]\n[keys]\n'
            + "".join(f'{v} = "{s}"\n' for v, s in keys.items()))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.toml"
    path.write_text(body)
    os.chmod(path, 0o600)
    return path


def hints(res) -> list[str]:
    return [l[len(HINT):] for l in res.stderr.decode().splitlines() if l.startswith(HINT)]


# --------------------------------------------------------------------------- usage and mistakes


def test_bare_command_prints_usage_and_exits_0(rwk):
    res = rwk.run()
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    assert "USAGE: run-with-keys" in out and "SUBCOMMANDS:" in out
    for name in SUBCOMMANDS:
        assert f"\n  {name} " in out, name
    assert res.stderr == b""


def test_misspelt_subcommand_is_a_missing_profile_with_did_you_mean(rwk):
    for args in (["lsit"], ["lsit", "--json"], ["--home", rwk.home, "lsit"], ["chekc", "bot"]):
        res = rwk.run(*args)
        word = [a for a in args if a in ("lsit", "chekc")][0]
        assert_cli_error(res, f'profile "{word}" not found')
        assert hints(res)[0] == f'did you mean "{ {"lsit": "list", "chekc": "check"}[word]}"?', res.stderr
    # After an explicit `run`, and for a name close to no subcommand, there is nothing to suggest.
    for args in (["run", "lsit"], ["bot"], ["trader"]):
        res = rwk.run(*args)
        assert_cli_error(res, "not found")
        assert not any("did you mean" in h for h in hints(res)), res.stderr


def test_an_existing_profile_named_like_a_typo_launches(rwk):
    rwk.init()
    marker = rwk.root / "lsit.ran"
    write_profile(rwk.home / "profiles", "lsit", {}, marker)
    res = rwk.run("lsit")
    assert res.returncode == 0, res.stderr
    assert marker.exists()


def test_subcommand_names_win_over_profiles_named_alike(rwk):
    """The launch path tells a subcommand from a profile name by a literal list
    (RunWithKeys.subcommandNames), not by ArgumentParser's configuration: it must name
    exactly the subcommands `--help` shows. Each of them (and `help`) runs as the
    subcommand even when a profile of that name exists, whose bot would leave a marker;
    `run NAME` launches such a profile."""
    out = rwk.run("--help", check=True).stdout.decode()
    section = out.split("SUBCOMMANDS:\n", 1)[1].split("\n\n", 1)[0]
    listed = [line.split()[0] for line in section.splitlines() if line.startswith("  ") and line[2] != " "]
    assert listed == SUBCOMMANDS, listed
    rwk.init()
    for name in SUBCOMMANDS + ["help"]:
        marker = rwk.root / f"{name}.ran"
        write_profile(rwk.home / "profiles", name, {}, marker)
        rwk.run(name, input="", timeout=60)
        assert not marker.exists(), f"`run-with-keys {name}` launched the profile {name}"
    res = rwk.run("run", "list")
    assert res.returncode == 0, res.stderr
    assert (rwk.root / "list.ran").exists()


def test_unknown_options_get_did_you_mean(rwk):
    cases = [
        (["list", "--jsn"], "--jsn", "--json", "list"),
        (["run", "bot", "--log-formt", "json"], "--log-formt", "--log-format", "run"),
        (["bot", "--lanch-log=x"], "--lanch-log", "--launch-log", ""),
        (["audit", "--profile", "x"], "--profile", "--profiles", "audit"),
        (["exec", "--inherrit", "X", "--", "true"], "--inherrit", "--inherit", "exec"),
        (["recipients", "add", "--idenity", "x", "age1x"], "--idenity", "--identity", "recipients add"),
    ]
    for args, bad, good, path in cases:
        res = rwk.run(*args)
        assert_cli_error(res, f'unknown option "{bad}"')
        assert hints(res)[0] == f'did you mean "{good}"?', (args, res.stderr)
        assert f"see `run-with-keys {path + ' ' if path else ''}--help`" in hints(res), res.stderr
    res = rwk.run("list", "--banana")
    assert_cli_error(res, 'unknown option "--banana"')
    assert not any("did you mean" in h for h in hints(res))


def test_help_for_an_unknown_command_is_an_error(rwk):
    res = rwk.run("help", "nosuch")
    assert_cli_error(res, 'no command "nosuch"')
    assert hints(res)[-1].startswith("commands: run, exec, check")
    res = rwk.run("help", "lst")
    assert_cli_error(res, 'no command "lst"', hint='did you mean "list"?')
    res = rwk.run("help", "recipients", "ad")
    assert_cli_error(res, 'no command "recipients ad"', hint='did you mean "add"?')
    for args, usage in ((["help", "list"], "USAGE: run-with-keys list"),
                        (["help", "recipients", "add"], "USAGE: run-with-keys recipients add"),
                        (["help"], "USAGE: run-with-keys")):
        res = rwk.run(*args)
        assert res.returncode == 0 and usage in res.stdout.decode(), (args, res.stderr)


# --------------------------------------------------------------------------- completion


@pytest.fixture
def completing(rwk):
    """A home with two profiles and a vault of two secrets, opened by <home>/identity.txt."""
    rwk.init()
    rwk.set("coinbase/api-key", rwk.secret())
    rwk.set("telegram-token", rwk.secret())
    write_profile(rwk.home / "profiles", "trader", {"K": "coinbase/api-key"})
    write_profile(rwk.home / "profiles", "chat-bot", {"T": "telegram-token"})
    return rwk


def complete(rwk, command: str, argument: str, words: list[str], env: dict | None = None, timeout: float = 15):
    """The hidden entry point the completion scripts call: `---completion CMD -- ARG INDEX CURSOR WORDS…`."""
    args = ["---completion", *command.split(), "--", argument, str(len(words) - 1), str(len(words[-1])), *words]
    start = time.monotonic()
    res = rwk.run(*args, env=env, timeout=timeout)
    return res, time.monotonic() - start


def test_completion_offers_profile_and_secret_names_never_values(completing):
    rwk = completing
    res, _ = complete(rwk, "run", "positional@0", ["run-with-keys", "run", ""])
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode().split() == ["chat-bot", "trader"]
    res, _ = complete(rwk, "check", "positional@0", ["run-with-keys", "check", ""])
    assert res.stdout.decode().split() == ["chat-bot", "trader"]
    res, _ = complete(rwk, "exec", "--profile", ["run-with-keys", "exec", "--profile", ""])
    assert res.stdout.decode().split() == ["chat-bot", "trader"]
    for command in ("set", "rotate", "rm"):
        res, _ = complete(rwk, command, "positional@0", ["run-with-keys", command, ""])
        assert res.returncode == 0 and res.stderr == b"", res.stderr
        assert res.stdout.decode().split() == ["coinbase/api-key", "telegram-token"], command
    # rwk.run checked that no value was printed. --home on the command line is honoured.
    other = rwk.root / "other-home"
    write_profile(other / "profiles", "elsewhere", {})
    res, _ = complete(rwk, "run", "positional@0", ["run-with-keys", "run", "--home", str(other), ""])
    assert res.stdout.decode().split() == ["elsewhere"]
    res, _ = complete(rwk, "rm", "positional@0", ["run-with-keys", "rm", f"--home={other}", ""])
    assert res.returncode == 0 and res.stdout.strip() == b""


def test_secret_completion_never_prompts_runs_no_command_and_never_hangs(completing, tmp_path):
    rwk = completing
    words = ["run-with-keys", "set", ""]
    # The identity is only reachable through an identity command: it is not run.
    ran = tmp_path / "identity-command.ran"
    hidden = tmp_path / "id.txt"
    os.rename(rwk.identity, hidden)
    env = {"RUN_WITH_KEYS_IDENTITY_COMMAND": f"touch {ran}; sleep 30; cat {hidden}"}
    res, took = complete(rwk, "set", "positional@0", words, env=env)
    assert res.returncode == 0 and res.stdout.strip() == b"" and res.stderr == b"", res.stderr
    assert not ran.exists() and took < 10
    # An identity readable by others is refused, silently.
    os.rename(hidden, rwk.identity)
    os.chmod(rwk.identity, 0o644)
    res, _ = complete(rwk, "set", "positional@0", words)
    assert res.returncode == 0 and res.stdout.strip() == b"" and res.stderr == b""
    os.chmod(rwk.identity, 0o600)
    # A FIFO where the identity should be would block a reader: nothing, at once.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    res, took = complete(rwk, "set", "positional@0", ["run-with-keys", "set", "--identity", str(fifo), ""])
    assert res.returncode == 0 and res.stdout.strip() == b"" and took < 10


def run_in_pty(argv: list[str], env: dict, keys: list[bytes], settle: float = 2.0, limit: float = 30) -> bytes:
    """Runs `argv` as the session leader of a new pty, types `keys` one chunk per `settle`
    seconds, and returns everything the pty printed. The process is killed at the end."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    out = b""
    deadline = time.monotonic() + limit

    def pump(seconds: float) -> None:
        nonlocal out
        end = min(time.monotonic() + seconds, deadline)
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                out += chunk
    try:
        pump(settle)
        for k in keys:
            os.write(fd, k)
            pump(settle)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    return out


def test_passphrase_vault_completes_nothing_and_asks_nothing(rwk, tmp_path):
    r, w = os.pipe()
    os.write(w, b"correct horse battery staple\n")
    os.close(w)
    try:
        rwk.run("init", "--passphrase", "--passphrase-fd", r, pass_fds=(r,), check=True)
    finally:
        os.close(r)
    assert not rwk.identity.exists()
    # With a controlling terminal, a prompt would show and wait: neither may happen.
    out = run_in_pty([RWK_BIN, "---completion", "set", "--", "positional@0", "2", "0", "run-with-keys", "set", ""],
                     rwk.env(), [], settle=5, limit=10)
    assert b"assphrase" not in out and b"error" not in out, out


def completion_script(rwk, shell: str) -> Path:
    res = rwk.run("--generate-completion-script", shell, check=True)
    assert res.stdout and res.stderr == b""
    path = rwk.root / f"completion.{shell}"
    path.write_bytes(res.stdout)
    return path


def shell_or_skip(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not installed (apt-get install {name})")
    return path


def test_bash_completion_loads_and_completes_names(completing):
    rwk = completing
    bash = shell_or_skip("bash")
    script = completion_script(rwk, "bash")
    # COMP_WORDS as bash fills them for `run-with-keys set <TAB>`, `run t<TAB>`, `rm --home H c<TAB>`.
    driver = f"""
source {script} || exit 3
complete -p run-with-keys || exit 4
try() {{  # words…; the last is the word being completed
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}; COMPREPLY=()
    _run-with-keys "$1" "${{@: -1}}" "${{@: -2:1}}"
    echo "[$*] ${{COMPREPLY[*]}}"
}}
try {RWK_BIN} set ''
try {RWK_BIN} run t
try {RWK_BIN} rm --home {rwk.home} c
try {RWK_BIN} lis
"""
    res = subprocess.run([bash, "--norc", "--noprofile", "-c", driver], capture_output=True, timeout=60,
                         env=rwk.env(), cwd=rwk.root)
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr
    lines = out.splitlines()
    assert lines[0] == "complete -o filenames -F _run-with-keys run-with-keys"
    assert lines[1].endswith("] coinbase/api-key telegram-token"), out
    assert lines[2].endswith("] trader"), out
    assert lines[3].endswith("] coinbase/api-key"), out
    assert lines[4].endswith("] list"), out
    for v in rwk.tracked:
        assert v not in res.stdout and v not in res.stderr


def tab_in_shell(rwk, argv: list[str], setup: str, line: str) -> str:
    """Types `setup`, then `line` and TAB into an interactive shell on a pty; returns the screen."""
    bindir = rwk.root / "bin"
    bindir.mkdir(exist_ok=True)
    link = bindir / "run-with-keys"
    if not link.exists():
        link.symlink_to(Path(RWK_BIN).resolve())
    env = rwk.env({"PATH": f"{bindir}:{rwk.env()['PATH']}", "TERM": "xterm", "HOME": rwk.userhome})
    out = run_in_pty(argv, env, [setup.encode() + b"\r", line.encode() + b"\t"], settle=3, limit=40)
    return out.decode(errors="replace")


def test_zsh_completion_loads_and_completes_names(completing):
    rwk = completing
    zsh = shell_or_skip("zsh")
    script = completion_script(rwk, "zsh")
    res = subprocess.run([zsh, "-f", "-c", f"autoload -U compinit && compinit -u && source {script} && "
                          "print -r -- $_comps[run-with-keys]"], capture_output=True, timeout=60, env=rwk.env())
    assert res.returncode == 0 and res.stdout.decode().strip() == "_run-with-keys", res.stderr
    screen = tab_in_shell(rwk, [zsh, "-f", "-i"], f"autoload -U compinit; compinit -u; source {script}",
                          "run-with-keys set ")
    assert "coinbase/api-key" in screen and "telegram-token" in screen, screen
    screen = tab_in_shell(rwk, [zsh, "-f", "-i"], f"autoload -U compinit; compinit -u; source {script}",
                          "run-with-keys run ")
    assert "trader" in screen and "chat-bot" in screen, screen
    for v in rwk.tracked:
        assert v.decode() not in screen


def test_fish_completion_loads_and_completes_names(completing):
    rwk = completing
    fish = shell_or_skip("fish")
    script = completion_script(rwk, "fish")
    res = subprocess.run([fish, "--no-config", "-c", f"source {script}; and complete -c run-with-keys | count"],
                         capture_output=True, timeout=60, env=rwk.env())
    assert res.returncode == 0 and int(res.stdout.decode().strip()) > 10, res.stderr
    # fish 3.6's `complete -C` gives completion functions no cursor, so type a real TAB.
    screen = tab_in_shell(rwk, [fish, "--no-config", "-i"], f"source {script}", "run-with-keys rotate ")
    assert "coinbase/api-key" in screen and "telegram-token" in screen, screen
    screen = tab_in_shell(rwk, [fish, "--no-config", "-i"], f"source {script}", "run-with-keys check ")
    assert "trader" in screen and "chat-bot" in screen, screen
    for v in rwk.tracked:
        assert v.decode() not in screen


# --------------------------------------------------------------------------- man page


def test_man_page_is_generated_by_the_plugin_and_renders(tmp_path):
    swift = shutil.which("swift")
    man = shutil.which("man")
    if not swift or not (REPO / "Package.swift").exists():
        pytest.skip("needs swift on PATH and the checkout's Package.swift to run the GenerateManual plugin")
    if not man:
        pytest.skip("man is not installed (apt-get install man-db groff-base)")
    res = subprocess.run([swift, "package", "plugin", "generate-manual", "--configuration", "debug"],
                         cwd=REPO, capture_output=True, timeout=900)
    assert res.returncode == 0, res.stderr.decode(errors="replace")[-3000:]
    page = REPO / ".build/plugins/GenerateManual/outputs/run-with-keys/run-with-keys.1"
    assert page.is_file()
    # As install.sh lays it out: <prefix>/share/man/man1; found by name through MANPATH.
    man1 = tmp_path / "share/man/man1"
    man1.mkdir(parents=True)
    shutil.copy(page, man1 / "run-with-keys.1")
    env = {"PATH": "/usr/bin:/bin", "MANPATH": str(tmp_path / "share/man"), "MANWIDTH": "100",
           "MANPAGER": "cat", "PAGER": "cat", "LANG": "C.UTF-8"}
    for argv in ([man, "-l", str(page)], [man, "run-with-keys"]):
        r = subprocess.run(argv, capture_output=True, timeout=60, env=env)
        text = r.stdout.decode(errors="replace")
        assert r.returncode == 0, r.stderr
        assert "RUN-WITH-KEYS(1)" in text and "SYNOPSIS" in text, text[:500]
        for name in SUBCOMMANDS:
            assert f"\n     {name}" in text, name
        assert "--profiles" in text and "125" in text


# --------------------------------------------------------------------------- audit's search path


def audit(rwk, *args, cwd: Path) -> dict:
    r = subprocess.run(rwk.argv("audit", "--json", *args), capture_output=True, timeout=60,
                       env=rwk.env(), cwd=cwd, stdin=subprocess.DEVNULL)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def test_audit_is_the_same_from_any_directory_and_takes_profiles_dirs(rwk, tmp_path):
    rwk.init()
    rwk.set("used/key", rwk.secret())
    rwk.set("extra/key", rwk.secret())
    rwk.set("later/key", rwk.secret())
    write_profile(rwk.home / "profiles", "bot", {"K": "used/key"})
    # A ./profiles in one working directory, as a checkout has: it must not count.
    a, b = tmp_path / "a", tmp_path / "b"
    write_profile(a / "profiles", "planted", {"K": "extra/key"})
    b.mkdir()
    in_a, in_b = audit(rwk, cwd=a), audit(rwk, cwd=b)
    assert in_a == in_b
    by_name = {s["name"]: s["profiles"] for s in in_a["secrets"]}
    assert by_name == {"used/key": ["bot"], "extra/key": [], "later/key": []}

    # --profiles DIR adds directories (repeatable), from any cwd, relative or absolute.
    more, most = tmp_path / "more", tmp_path / "most"
    write_profile(more, "extra", {"K": "extra/key"})
    write_profile(most, "later", {"K": "later/key"})
    write_profile(most, "bot", {"K": "later/key"})   # shadows <home>/profiles/bot: the first wins
    x = audit(rwk, "--profiles", more, "--profiles", most, cwd=a)
    assert x == audit(rwk, "--profiles", "../more", "--profiles", str(most), cwd=b)
    by_name = {s["name"]: s["profiles"] for s in x["secrets"]}
    assert by_name == {"used/key": [], "extra/key": ["extra"], "later/key": ["bot", "later"]}
    res = rwk.run("audit", "--profiles")
    assert_cli_error(res, "missing value", hint="see `run-with-keys audit --help`")
