"""Attack findings on the owner/mode rules, completion and error messages (attack1).

Each test states the behaviour the project promises and currently fails: it is marked
xfail(strict=True) with the finding id, so fixing the finding turns it into an XPASS
(strict: a failure of the suite) and the marker must then be removed.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import RWK_BIN, need_root_and_setpriv, write_private




@pytest.fixture
def open_tmp(scratch_dir):
    """A directory under /tmp that other users can traverse."""
    return scratch_dir("rwk-attack-", "/tmp", 0o755)


def test_bot_cannot_rewrite_the_directory_of_a_symlinked_profile(vault_with_secret):
    """hide-keys hides Sys.directory(of: canonical(profile)), the link target's directory, while
    the trust check and relative paths use the link's own directory. A bot that can write there
    replaces the link with a profile of its own (filesystem = "off") for the next launch."""
    need_root_and_setpriv()
    rwk, _, _ = vault_with_secret
    links = rwk.root / "links"
    real = rwk.root / "real"
    links.mkdir(mode=0o700)
    real.mkdir(mode=0o700)
    planted = links / "planted.toml"
    write_private(real / "bot.toml",
                  f'command = ["/bin/sh", "-c", "echo x > {planted}"]\n[env]\ninherit = ["PATH"]\n')
    (links / "bot.toml").symlink_to(real / "bot.toml")
    rwk.run("run", links / "bot.toml", timeout=30)
    assert not planted.exists(), "the bot wrote into the directory of the profile that started it"


def test_template_written_by_another_user_is_refused(vault_with_secret, open_tmp):
    """A template decides which secrets reach the bot ({{ rwk://NAME }} for any NAME in the
    vault), like a profile does: one that another user (or the bot) can write must be refused."""
    need_root_and_setpriv()
    rwk, name, value = vault_with_secret
    os.chmod(open_tmp, 0o1777)
    tmpl = open_tmp / "c.json.tmpl"
    tmpl.write_text('{"k": "{{ rwk://%s }}"}\n' % name)
    os.chown(tmpl, 65534, 65534)
    os.chmod(tmpl, 0o666)
    prof = write_private(rwk.root / "t.toml",
                         f'command = ["/bin/true"]\n[templates]\nCONFIG = {{ source = "{tmpl}" }}\n')
    res = rwk.run("check", prof, timeout=30)
    assert res.returncode == 125, res.stderr.decode()


def test_bash_completion_does_not_run_profile_file_names(tmp_path):
    if not shutil.which("bash"):
        pytest.skip("needs bash")
    home = tmp_path / "home"
    (home / "profiles").mkdir(parents=True)
    (home / "profiles" / "$(touch${IFS}PWNED).toml").write_text('command = ["/bin/true"]\n')
    script = tmp_path / "comp.bash"
    script.write_bytes(subprocess.run([RWK_BIN, "--generate-completion-script", "bash"],
                                      capture_output=True, timeout=30, check=True).stdout)
    work = tmp_path / "cwd"
    work.mkdir()
    drive = (f'source {script}\n'
             f"COMP_WORDS=(run-with-keys run --home {home} ''); COMP_CWORD=4\n"
             f"COMP_LINE='run-with-keys run --home {home} '; COMP_POINT=${{#COMP_LINE}}\n"
             f"_run-with-keys run-with-keys '' {home}\n")
    env = {"PATH": f"{Path(RWK_BIN).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    subprocess.run(["bash", "-c", drive], cwd=work, env=env, capture_output=True, timeout=60)
    assert not (work / "PWNED").exists(), "TAB ran a command named by a profile's file name"


def test_group_writable_profile_is_refused_when_the_caller_is_in_the_group(open_tmp):
    """root:root 0664 in a root:root 0775 directory passes as root's private group (/etc/group
    lists no member), but a process running with supplementary gid 0 (OpenShift's convention,
    docker --group-add 0, Kubernetes supplementalGroups) -- run-with-keys and a same-uid bot -- can
    rewrite it."""
    need_root_and_setpriv()
    uid = 10001
    prof = open_tmp / "profiles"
    prof.mkdir()
    os.chmod(prof, 0o775)
    (prof / "bot.toml").write_text('command = ["/bin/true"]\n')
    os.chmod(prof / "bot.toml", 0o664)
    home = open_tmp / "home"
    home.mkdir(mode=0o700)
    os.chown(home, uid, uid)
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--groups=0"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "RUN_WITH_KEYS_HOME": str(home)}
    w = subprocess.run(drop + ["sh", "-c", f"echo '# bot' >> {prof / 'bot.toml'}"], env=env, capture_output=True, timeout=30)
    assert w.returncode == 0, "setup: the uid with gid 0 can write the profile"
    res = subprocess.run(drop + [RWK_BIN, "check", str(prof / "bot.toml")], env=env, capture_output=True, timeout=30)
    assert b"refusing a profile that others could have written" in res.stderr, res.stderr.decode()


def test_profile_in_a_sticky_directory_owned_by_another_user_is_refused(open_tmp, rwk):
    need_root_and_setpriv()
    d = open_tmp / "evil"
    d.mkdir()
    os.chown(d, 65534, 65534)
    os.chmod(d, 0o1755)
    prof = write_private(d / "bot.toml", 'command = ["./bot.sh"]\n')  # owned by root: passes the file check
    res = rwk.run("check", prof, timeout=30)
    assert b"refusing a profile that others could have written" in res.stderr, res.stderr.decode()


@pytest.mark.parametrize("where", ["profile", "extends", "seccomp", "env-file"])
def test_fifo_planted_where_a_file_is_read_does_not_hang(rwk, where):
    rwk.init()
    fifo = rwk.root / "planted.fifo"
    os.mkfifo(fifo, 0o600)
    if where == "profile":
        args = ["check", fifo]
    elif where == "extends":
        args = ["check", write_private(rwk.root / "p.toml", f'extends = "{fifo}"\ncommand = ["/bin/true"]\n')]
    elif where == "seccomp":
        args = ["check", write_private(rwk.root / "p.toml", f'command = ["/bin/true"]\n[sandbox]\nseccomp = "{fifo}"\n')]
    else:
        args = ["exec", "--env-file", fifo, "--", "/bin/true"]
    try:
        res = rwk.run(*args, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"run-with-keys hung on a FIFO given as {where}")
    assert res.returncode == 125


def test_seccomp_policy_file_writable_by_others_is_refused(rwk, open_tmp):
    rwk.init()
    pol = open_tmp / "policy.txt"
    pol.write_text("read\nwrite\nexit_group\n")
    os.chmod(pol, 0o666)
    prof = write_private(rwk.root / "p.toml", f'command = ["/bin/true"]\n[sandbox]\nseccomp = "{pol}"\n')
    res = rwk.run("check", prof, timeout=30)
    assert res.returncode == 125, res.stdout.decode()
    assert b"refusing a seccomp policy that others could have written" in res.stderr, res.stderr.decode()
    assert f"hint: chmod go-w {pol}".encode() in res.stderr, res.stderr.decode()


def test_completion_does_not_wait_on_an_identity_fifo(vault_with_secret):
    rwk, _, _ = vault_with_secret
    fifo = rwk.root / "id.fifo"
    os.mkfifo(fifo, 0o600)
    holder = os.open(fifo, os.O_RDWR)  # a writer that never writes nor closes
    try:
        t0 = time.monotonic()
        rwk.run("---completion", "rm", "--", "positional@0", "2", "0", "run-with-keys", "rm", "",
                env={"RUN_WITH_KEYS_IDENTITY": fifo}, timeout=60)
        assert time.monotonic() - t0 < 3, "completion waited on the identity pipe"
    finally:
        os.close(holder)


@pytest.mark.parametrize("args", [["set", "api/key", "VALUE"], ["set", "api/key=VALUE"], ["rotate", "api/key", "VALUE"]])
def test_a_value_on_the_command_line_is_not_echoed(rwk, args):
    rwk.init()
    value = rwk.secret()
    res = subprocess.run([RWK_BIN, *[a.replace("VALUE", value) for a in args]], env=rwk.env(),
                         input=b"x", capture_output=True, timeout=30, cwd=rwk.root)
    assert res.returncode == 125
    assert value.encode() not in res.stderr, res.stderr.decode()


def test_identity_command_that_never_exits_is_given_up_on(vault_with_secret):
    rwk, _, _ = vault_with_secret
    os.rename(rwk.identity, rwk.root / "moved-identity.txt")
    try:
        res = rwk.run("list", env={"RUN_WITH_KEYS_IDENTITY_COMMAND": "sleep 100"}, timeout=45)
    except subprocess.TimeoutExpired:
        pytest.fail("run-with-keys waited for the identity command past 45 s")
    assert res.returncode == 125


def test_root_owned_identity_readable_by_a_shared_group_is_not_silently_accepted(vault_with_secret, open_tmp):
    """root:users 0640: every member of `users` (gid 100) can read the identity. The rule was
    meant for Kubernetes fsGroup (the caller's own group); a shared group should be refused,
    or at least warned about."""
    need_root_and_setpriv()
    rwk, _, _ = vault_with_secret
    uid = 10001
    ident = open_tmp / "identity.txt"
    shutil.copy(rwk.identity, ident)
    os.chown(ident, 0, 100)
    os.chmod(ident, 0o640)
    vault = open_tmp / "vault.age"
    shutil.copy(rwk.vault, vault)
    os.chown(vault, uid, uid)
    home = open_tmp / "home"
    home.mkdir(mode=0o700)
    os.chown(home, uid, uid)
    other = subprocess.run(["setpriv", "--reuid=10002", "--regid=10002", "--groups=100", "cat", str(ident)],
                           capture_output=True, timeout=30)
    assert b"AGE-SECRET-KEY-1" in other.stdout, "setup: another member of the group reads the identity"
    res = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--groups=100", RWK_BIN,
                          "--vault", str(vault), "--identity", str(ident), "list"],
                         env={"PATH": "/usr/bin:/bin", "HOME": str(home), "RUN_WITH_KEYS_HOME": str(home)},
                         capture_output=True, timeout=30)
    assert res.returncode == 125 or b"group" in res.stderr, res.stderr.decode()


def test_identity_readable_by_everyone_on_a_read_only_mount_warns(vault_with_secret, open_tmp):
    """ATK1-O: accepted (the exporter decided), but with a warning that every user can read it."""
    need_root_and_setpriv()
    if not shutil.which("unshare"):
        pytest.skip("needs unshare")
    rwk, name, _ = vault_with_secret
    ro = open_tmp / "ro"
    ro.mkdir()
    shutil.copy(rwk.identity, ro / "identity")
    os.chmod(ro / "identity", 0o644)
    script = (f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro} && "
              f'exec "$0" --identity {ro / "identity"} list')
    res = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, RWK_BIN],
                         env=rwk.env(), capture_output=True, timeout=60, cwd=rwk.root)
    assert res.returncode == 0, res.stderr.decode()
    assert name.encode() in res.stdout
    err = res.stderr.decode()
    assert "warning: identity file" in err and "readable by every user (mode 0644, read-only mount)" in err, err
    # The same file on a writable filesystem is refused, not warned about.
    res = rwk.run("--identity", ro / "identity", "list", timeout=30)
    assert res.returncode == 125 and b"readable by group or others" in res.stderr, res.stderr.decode()
