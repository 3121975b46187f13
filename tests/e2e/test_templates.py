"""Config templates: `[templates] CONFIG = { source = "config.json.tmpl", secrets = [...] }` and
`exec --template VAR=PATH`. `{{ rwk://NAME }}` references are replaced by the
values, escaped for the file's format; the bot reads the rendered file from a
sealed memfd through `{file:CONFIG}`."""
from __future__ import annotations

import hashlib
import json
import os
import signal

from launch_helpers import PY, assert_error, last_json, launch, stderr_text  # noqa: F401
from supervise_helpers import supervise  # noqa: F401


def sha(v: str | bytes) -> str:
    return hashlib.sha256(v.encode() if isinstance(v, str) else v).hexdigest()


# Every character class an escaper must get right, and a newline so that the
# value goes through `set --from-file` byte for byte.
NASTY = 'q"uo\'te \\back\\slash / & < > \ttab \rcr \x1besc \x7fdel\nnewline ümlaut € 😀 \u2028 \x85 end'

READER = r"""
import hashlib, json, sys
path = sys.argv[sys.argv.index("--config") + 1]
fmt = sys.argv[sys.argv.index("--format") + 1]
with open(path, "rb") as f:
    raw = f.read()
if fmt == "json":
    doc = json.loads(raw)
elif fmt == "yaml":
    import yaml
    doc = yaml.safe_load(raw.decode())
else:
    import tomllib
    doc = tomllib.loads(raw.decode())
flat = {}
def walk(prefix, v):
    if isinstance(v, dict):
        for k, x in v.items():
            walk(prefix + k + ".", x)
    else:
        flat[prefix[:-1]] = v
walk("", doc)
print(json.dumps({"path": path, "digests": {k: hashlib.sha256(str(v).encode()).hexdigest() for k, v in flat.items()},
                  "types": {k: type(v).__name__ for k, v in flat.items()}}), flush=True)
"""


def reader(fmt: str):
    return [PY, "-c", READER, "--config", "{file:CONFIG}", "--format", fmt]


def test_freqtrade_style_json_template_in_a_profile(launch):
    key = launch.secret("exchange/key", NASTY)
    sec = launch.secret("exchange/secret")
    (launch.dir / "config.json.tmpl").write_text(
        '{\n  "max_open_trades": 3,\n  "exchange": {\n    "name": "binance",\n'
        '    "key": "{{ rwk://exchange/key }}",\n    "secret": "{{rwk://exchange/secret}}"\n  },\n'
        '  "note": "a/b {not a template}"\n}\n')
    p = launch.profile("ft", reader("json"), env={"inherit": ["PATH"]},
                       templates={"CONFIG": {"source": "config.json.tmpl",
                                                  "secrets": ["exchange/key", "exchange/secret"]}})
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    out = last_json(res)
    assert out["path"].startswith("/proc/self/fd/")
    assert out["digests"]["exchange.key"] == sha(key)
    assert out["digests"]["exchange.secret"] == sha(sec)
    assert out["digests"]["exchange.name"] == sha("binance")
    assert out["digests"]["note"] == sha("a/b {not a template}")
    assert out["types"]["max_open_trades"] == "int"

    # check lists the template, text and JSON, without values
    res = launch.check(p)
    assert res.returncode == 0, stderr_text(res)
    text = res.stdout.decode()
    assert "templates" in text and "config.json.tmpl (json) secrets exchange/key, exchange/secret -> /proc/self/fd/" in text
    plan = json.loads(launch.check(p, "--json").stdout)
    [t] = plan["templates"]
    assert t["name"] == "CONFIG" and t["format"] == "json" and t["source"].endswith("config.json.tmpl")
    assert t["secrets"] == ["exchange/key", "exchange/secret"] and t["path"].startswith("/proc/self/fd/")
    [v] = [v for v in plan["environment"] if v["name"] == "CONFIG"]
    assert v["source"] == "template"


def test_yaml_and_toml_templates_with_exec(launch):
    key = launch.secret("exchange/key", NASTY)
    tmpl = launch.rwk.root / "config.yaml.tmpl"
    tmpl.write_text('exchange:\n  name: binance\n  key: "{{ rwk://exchange/key }}"\nplain: "x"\n')
    res = launch.rwk.run("exec", "--template", f"CONFIG={tmpl}", "--", *reader("yaml"))
    assert res.returncode == 0, stderr_text(res)
    out = last_json(res)
    assert out["digests"]["exchange.key"] == sha(key)
    assert out["digests"]["plain"] == sha("x")

    tmpl = launch.rwk.root / "config.toml.tmpl"
    tmpl.write_text('[exchange]\nname = "binance"\nkey = "{{ rwk://exchange/key }}"\n')
    res = launch.rwk.run("exec", "--template", f"CONFIG={tmpl}", "--", *reader("toml"))
    assert res.returncode == 0, stderr_text(res)
    out = last_json(res)
    assert out["digests"]["exchange.key"] == sha(key)


def test_raw_template_gets_the_value_as_is_and_output_is_redacted(launch):
    key = launch.secret("app/key")
    tmpl = launch.rwk.root / "settings.conf.tmpl"
    tmpl.write_text("key={{ rwk://app/key }}\n")
    res = launch.rwk.run("exec", "--template", f"CONFIG={tmpl}", "--", "/bin/sh", "-c", 'cat "$CONFIG"')
    assert res.returncode == 0, stderr_text(res)
    assert res.stdout == b"key=[redacted:app/key]\n"
    res = launch.rwk.run("exec", "--template", f"CONFIG={tmpl}", "--", "/usr/bin/sha256sum", "{file:CONFIG}")
    assert res.stdout.split()[0].decode() == sha(f"key={key}\n")

    # a bot that prints its JSON config shows escaped values: masked too
    q = launch.secret("app/quoted", 'ab"cd\\ef/gh' + launch.rwk.secret(8))
    tmpl = launch.rwk.root / "q.json.tmpl"
    tmpl.write_text('{"k": "{{ rwk://app/quoted }}"}\n')
    launch.rwk.track(json.dumps(q)[1:-1])
    res = launch.rwk.run("exec", "--template", f"CONFIG={tmpl}", "--", "/bin/sh", "-c", 'cat "$CONFIG"')
    assert res.returncode == 0, stderr_text(res)
    assert res.stdout == b'{"k": "[redacted:app/quoted]"}\n'


def test_template_errors_name_file_and_line_and_start_nothing(launch):
    launch.secret("app/key")
    marker = launch.out / "started"
    tmpl = launch.rwk.root / "c.json.tmpl"
    tmpl.write_text('{\n  "a": "{{ rwk://app/key }}",\n  "b": "{{ rwk://app/nope }}"\n}\n')
    res = launch.rwk.run("exec", "--template", f"CONFIG={tmpl}", "--", "/usr/bin/touch", marker)
    assert_error(res, 125, "c.json.tmpl line 3", "app/nope", hint="run-with-keys set app/nope")
    tmpl.write_text('{\n\n  "a": "{{ env.HOME }}"\n}\n')
    res = launch.rwk.run("exec", "--template", f"CONFIG={tmpl}", "--", "/usr/bin/touch", marker)
    assert_error(res, 125, "c.json.tmpl line 3", "unknown template form", hint="rwk://")
    tmpl.write_text('{"a": "{{ rwk://app/key"}\n')
    res = launch.rwk.run("exec", "--template", f"CONFIG={tmpl}", "--", "/usr/bin/touch", marker)
    assert_error(res, 125, "c.json.tmpl line 1", "never closed")
    fifo = launch.rwk.root / "fifo.json.tmpl"
    os.mkfifo(fifo)
    res = launch.rwk.run("exec", "--template", f"CONFIG={fifo}", "--", "/usr/bin/touch", marker, timeout=10)
    assert_error(res, 125, "not a regular file")
    # in a profile: the source is relative to the profile's directory
    p = launch.profile("t", ["/usr/bin/touch", str(marker)], templates={"CONFIG": {"source": "absent.json.tmpl"}})
    res = launch.run(p)
    assert_error(res, 125, str(launch.dir / "absent.json.tmpl"))
    assert not marker.exists()


def test_templates_count_as_uses_for_audit_and_policy(launch):
    v = launch.rwk.secret()
    launch.rwk.set("app/key", v, "--scope", "withdraw")
    (launch.dir / "c.json.tmpl").write_text('{"k": "{{ rwk://app/key }}"}\n')
    marker = launch.out / "started"
    p = launch.profile("pol", ["/usr/bin/touch", str(marker)], templates={"CONFIG": {"source": "c.json.tmpl", "secrets": ["app/key"]}},
                       policy={"forbid_scopes": ["withdraw"]})
    res = launch.run(p)
    assert_error(res, 125, "withdraw")
    assert not marker.exists()


def test_a_template_may_name_only_secrets_the_profile_declares(launch):
    """The profile, not the template file, decides which secrets the bot gets (ATK1-B)."""
    launch.secret("app/key")
    launch.secret("app/other")
    marker = launch.out / "started"
    (launch.dir / "d.json.tmpl").write_text('{"k": "{{ rwk://app/key }}",\n "o": "{{ rwk://app/other }}"}\n')
    # app/key is in [keys], app/other in no list: refused, naming the template, the secret and the line
    p = launch.profile("undeclared", ["/usr/bin/touch", str(marker)], keys={"KEY": "app/key"},
                       templates={"CONFIG": {"source": "d.json.tmpl"}})
    for res in (launch.check(p), launch.run(p)):
        assert_error(res, 125, "template CONFIG", "d.json.tmpl line 2", '"app/other"', "doesn't declare",
                     hint='secrets = ["app/other"]')
    assert not marker.exists()
    # declared in the template's own list (app/key through [keys]): accepted
    p = launch.profile("declared", ["/usr/bin/touch", str(marker)], keys={"KEY": "app/key"},
                       templates={"CONFIG": {"source": "d.json.tmpl", "secrets": ["app/other"]}})
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    assert marker.exists()
    # a bad name in the list is refused at load
    p = launch.profile("badname", ["/bin/true"], templates={"CONFIG": {"source": "d.json.tmpl", "secrets": ["a b"]}})
    assert_error(launch.check(p), 125, '"a b" is not a secret name')


def test_a_template_writable_by_others_is_refused(launch):
    """Same owner/mode rule as a profile: another user's (or a world-writable) template is refused."""
    launch.secret("app/key")
    tmpl = launch.dir / "w.json.tmpl"
    tmpl.write_text('{"k": "{{ rwk://app/key }}"}\n')
    os.chmod(tmpl, 0o666)
    p = launch.profile("w", ["/bin/true"], templates={"CONFIG": {"source": "w.json.tmpl", "secrets": ["app/key"]}})
    assert_error(launch.check(p), 125, "refusing a template that others could have written", "writable by others",
                 hint="chmod go-w")
    res = launch.rwk.run("exec", "--template", f"CONFIG={tmpl}", "--", "/bin/true")
    assert_error(res, 125, "refusing a template")


def test_the_bot_can_neither_read_nor_replace_its_template(launch, tmp_path):
    """hide-keys hides template sources (ATK1-B): in another directory than the profile's,
    the bot can't read the file, replace it, or rename it away; its neighbours stay usable."""
    launch.secret("app/key")
    d = tmp_path / "tmpls"
    d.mkdir(mode=0o755)
    tmpl = d / "c.json.tmpl"
    tmpl.write_text('{"k": "{{ rwk://app/key }}"}\n')
    (d / "neighbour.txt").write_text("n\n")
    script = (f'cat {tmpl} 2>/dev/null && echo READ; echo x > {tmpl} 2>/dev/null && echo WROTE; '
              f'mv {tmpl} {d}/moved 2>/dev/null && echo MOVED; echo y >> {d}/neighbour.txt && echo NEIGHBOUR')
    p = launch.profile("hid", ["/bin/sh", "-c", script], env={"inherit": ["PATH"]},
                       templates={"CONFIG": {"source": str(tmpl), "secrets": ["app/key"]}})
    res = launch.run(p)
    assert res.returncode == 0, stderr_text(res)
    out = res.stdout.decode()
    assert "NEIGHBOUR" in out, out
    assert "READ" not in out and "WROTE" not in out and "MOVED" not in out, out
    assert tmpl.read_text() == '{"k": "{{ rwk://app/key }}"}\n'
    # an allowlist may not grant the template's directory
    p = launch.profile("allow", ["/bin/true"], templates={"CONFIG": {"source": str(tmpl), "secrets": ["app/key"]}},
                       sandbox={"filesystem": "allowlist", "write": [str(d)]})
    assert_error(launch.check(p), 125, f"{d} contains run-with-keys' key material {tmpl}", hint="its templates")


WATCHER = r"""
import json, os, signal, sys, time
out = sys.argv[1]
value = open(os.environ["CONFIG"]).read()
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump({"value": value, "t": time.time()}, f)
os.rename(tmp, out)
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
while True:
    signal.pause()
"""


def test_rotating_a_template_secret_restarts_the_bot(rwk, supervise, tmp_path):
    from supervise_helpers import read_json, vault_with, wait_until, write_profile
    vault_with(rwk, app__key=rwk.secret(24), other__key=rwk.secret(24))
    out = tmp_path / "seen.json"
    path = write_profile(rwk, "tpl", [PY, "-c", WATCHER, str(out)],
                         restart={"policy": "on-failure", "reload": "restart", "stop_timeout": "5s"})
    (path.parent / "c.conf.tmpl").write_text("{{ rwk://app/key }}")
    path.write_text(path.read_text() + '\n[templates]\nCONFIG = { source = "c.conf.tmpl", secrets = ["app/key"] }\n')
    s = supervise("tpl")
    first = wait_until(lambda: read_json(out), 15, "the bot's config")
    run_file = read_json(rwk.home / "run" / f"tpl.{s.pid}.json")
    assert run_file["keys"] == ["app/key"]
    rwk.set("other/key", rwk.secret(24))      # not used: nothing happens
    v2 = rwk.secret(24)
    rwk.run("rotate", "app/key", input=v2, check=True)
    second = wait_until(lambda: (lambda j: j if j and j["value"] == v2 else None)(read_json(out)), 10, "the new value")
    assert second["t"] > first["t"]
    assert s.count("start") == 2, s.stderr_text()
    s.signal(signal.SIGTERM)
    assert s.wait(10) == 0
