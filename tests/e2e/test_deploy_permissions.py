"""Owners and modes (README "Which owners and modes are accepted"): pipes given as
--identity, root-owned group-readable files, and profile refusals that name owner and
mode and fix file and directory in one command (the umask 002 fresh-clone case)."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import RWK_BIN, assert_cli_error, need_root_and_setpriv, write_private

NOBODY = 65534


def as_user(uid: int, gid: int, argv: list, env: dict, groups: list[int] | None = None, cwd=None):
    drop = ["setpriv", f"--reuid={uid}", f"--regid={gid}"]
    drop += [f"--groups={','.join(map(str, groups))}"] if groups else ["--clear-groups"]
    return subprocess.run(drop + [str(a) for a in argv], env=env, capture_output=True, timeout=60, cwd=cwd)


@pytest.fixture
def open_tmp(scratch_dir):
    """A directory under /tmp that other users can traverse."""
    return scratch_dir("rwk-deploy-", "/tmp", 0o755)




def test_identity_pipe_does_not_break_the_bots_proc(vault_with_secret):
    """The /dev/fd/63 path is not hidden from the bot (it would hide /proc/<pid>/… instead)."""
    rwk, name, value = vault_with_secret
    src = rwk.input_file("id", rwk.identity.read_bytes())
    rwk.identity.unlink()
    script = ('"$0" --identity <(cat "$1") exec --key K=app/key -- /bin/sh -c '
              '\'test -n "$K" && head -1 /proc/self/status >/dev/null && echo bot-ok\'')
    res = subprocess.run(["bash", "-c", script, RWK_BIN, str(src)], env=rwk.env(), capture_output=True,
                         timeout=60, cwd=rwk.root)
    assert res.returncode == 0 and b"bot-ok" in res.stdout, res.stderr


def test_fifo_is_refused_where_a_file_is_expected_and_foreign_fifo_as_identity(vault_with_secret, tmp_path):
    need_root_and_setpriv()
    rwk, name, value = vault_with_secret
    fifo = tmp_path / "planted"
    os.mkfifo(fifo, 0o600)
    os.chown(fifo, NOBODY, NOBODY)
    res = rwk.run("--identity", fifo, "list", timeout=20)   # never blocks on a FIFO with no writer
    assert_cli_error(res, "is a pipe that someone else could write to", "uid 65534")
    res = rwk.run("--vault", fifo, "list", timeout=20)
    assert_cli_error(res, "not a regular file")


def test_root_owned_identity_for_a_group(vault_with_secret, open_tmp):
    tmp_path = open_tmp
    """root:G 0440 on a writable filesystem is root's decision; 0444 (everyone) is not."""
    need_root_and_setpriv()
    rwk, name, value = vault_with_secret
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o755)
    for f, dst in ((rwk.identity, "identity"), (rwk.vault, "vault.age")):
        shutil.copy(f, keys / dst)
        os.chown(keys / dst, 0, 10001)
        os.chmod(keys / dst, 0o440)
    os.chmod(tmp_path, 0o755)
    env = {"PATH": "/usr/bin:/bin", "RUN_WITH_KEYS_HOME": str(tmp_path / "h"), "HOME": "/"}
    argv = [RWK_BIN, "--identity", keys / "identity", "--vault", keys / "vault.age", "list"]
    res = as_user(10001, 10001, argv, env, groups=[10001])
    assert res.returncode == 0 and name.encode() in res.stdout, res.stderr
    os.chmod(keys / "identity", 0o444)
    res = as_user(10001, 10001, argv, env, groups=[10001])
    assert_cli_error(res, "readable by group or others", "owner uid 0, mode 0444")
    assert b"chmod 640" in res.stderr


@pytest.fixture
def private_group_user():
    """A throwaway account with its own user private group (useradd's default on Debian)."""
    need_root_and_setpriv()
    if not shutil.which("useradd"):
        pytest.skip("needs useradd")
    name = "rwk" + uuid.uuid4().hex[:8]
    subprocess.run(["useradd", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                   check=True, timeout=30)
    try:
        import pwd
        pw = pwd.getpwnam(name)
        yield name, pw.pw_uid, pw.pw_gid
    finally:
        subprocess.run(["userdel", name], timeout=30)
        subprocess.run(["groupdel", name], timeout=30, capture_output=True)


def clone_umask_002(root: Path, uid: int, gid: int) -> Path:
    """What `git clone` under umask 002 leaves: 0775 directories and 0664 files."""
    profiles = root / "clone" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "bot.toml").write_text('command = ["/bin/true"]\n')
    for p in (root, root / "clone", profiles, profiles / "bot.toml"):
        os.chown(p, uid, gid)
        os.chmod(p, 0o664 if p.is_file() else 0o775)
    return profiles


def test_umask_002_clone_is_accepted_in_a_private_group(private_group_user, open_tmp):
    tmp_path = open_tmp
    name, uid, gid = private_group_user
    root = tmp_path / "u"
    root.mkdir()
    os.chmod(tmp_path, 0o755)
    profiles = clone_umask_002(root, uid, gid)
    env = {"PATH": "/usr/bin:/bin", "RUN_WITH_KEYS_HOME": str(root / "home"), "HOME": str(root)}
    res = as_user(uid, gid, [RWK_BIN, "check", profiles / "bot.toml"], env, groups=[gid])
    assert b"refusing a profile" not in res.stderr, res.stderr


def test_shared_group_refusal_names_owner_mode_and_one_command_fixes_it(private_group_user, open_tmp):
    tmp_path = open_tmp
    name, uid, gid = private_group_user
    root = tmp_path / "u"
    root.mkdir()
    os.chmod(tmp_path, 0o755)
    profiles = clone_umask_002(root, uid, gid)
    for p in (profiles, profiles / "bot.toml"):
        os.chown(p, uid, NOBODY)   # nogroup is shared (nobody, sync, _apt…): not private
    env = {"PATH": "/usr/bin:/bin", "RUN_WITH_KEYS_HOME": str(root / "home"), "HOME": str(root)}
    argv = [RWK_BIN, "check", "profiles/bot.toml"]
    res = as_user(uid, gid, argv, env, groups=[gid], cwd=profiles.parent)
    assert_cli_error(res, "refusing a profile", f"owned by uid {uid} with mode 0664", "mode 0775",
                     "writable by group 65534")
    err = res.stderr.decode()
    hint = [l for l in err.splitlines() if l.startswith("run-with-keys: hint: ")]
    assert hint == ["run-with-keys: hint: chmod go-w profiles profiles/bot.toml"], err
    # One round trip: the hinted command, run as the user, is all it takes.
    fix = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "sh", "-c",
                          hint[0].split("hint: ", 1)[1]], cwd=profiles.parent, timeout=30)
    assert fix.returncode == 0
    res = as_user(uid, gid, argv, env, groups=[gid], cwd=profiles.parent)
    assert b"refusing a profile" not in res.stderr, res.stderr


def test_identity_pipe_is_capped_and_timed(vault_with_secret):
    """A pipe is read to EOF with a size cap, and a writer that never closes it is given up on."""
    import time
    rwk, name, value = vault_with_secret
    big = subprocess.run(["bash", "-c", '"$0" --identity <(head -c 100000 /dev/zero) list', RWK_BIN],
                         env=rwk.env(), capture_output=True, timeout=60, cwd=rwk.root)
    assert_cli_error(big, "larger than 65536 bytes")
    start = time.monotonic()
    p = subprocess.Popen(["bash", "-c", '"$0" --identity <(exec sleep 120 2>/dev/null) list', RWK_BIN],
                         env=rwk.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=rwk.root,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=90)
    finally:
        took = time.monotonic() - start
        import signal
        try:
            os.killpg(p.pid, signal.SIGKILL)   # the sleep behind the pipe
        except ProcessLookupError:
            pass
    stuck = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    assert_cli_error(stuck, "nothing more arrived within 30s")
    assert 25 < took < 60, took
    tty_like = rwk.run("--identity", "/dev/null", "list")   # a character device is not a pipe
    assert_cli_error(tty_like, "not a regular file")


def test_unmapped_owner_in_a_user_namespace_is_explained(open_tmp):
    """Files of a user outside a user namespace show as uid 65534 inside: the refusal says so,
    and the fix names the uid to chown to as the parent namespace knows it."""
    need_root_and_setpriv()
    q = open_tmp / "clone" / "profiles"
    q.mkdir(parents=True)
    (q / "bot.toml").write_text('command = ["/bin/true"]\n')
    for p in (q, q / "bot.toml"):
        os.chown(p, 4242, 4242)
    res = subprocess.run(["unshare", "--user", "--map-root-user", RWK_BIN, "check", "profiles/bot.toml"],
                         cwd=q.parent, capture_output=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "RUN_WITH_KEYS_HOME": str(open_tmp / "h")})
    assert_cli_error(res, "uid 65534 (not mapped into this user namespace)", "mode 0644", "mode 0755")
    assert b"hint: outside this user namespace, as root: chown 0 profiles profiles/bot.toml" in res.stderr
