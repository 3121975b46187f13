"""Demo bot for profiles/telegram.toml (stdlib only).

Offline by default: checks the token's shape (digits:35 characters);
--live calls getMe and prints the bot's @username. Never prints the token."""
import json
import os
import re
import sys
import urllib.request

token = os.environ["TELEGRAM_BOT_TOKEN"]
if not re.fullmatch(r"[0-9]{5,}:[A-Za-z0-9_-]{30,}", token):
    print("telegram: TELEGRAM_BOT_TOKEN does not look like a bot token (digits:secret)", file=sys.stderr)
    sys.exit(2)
if "--live" not in sys.argv:
    print("telegram: ok, token format checked offline; pass --live to call getMe")
    sys.exit(0)
with urllib.request.urlopen(f"https://api.telegram.org/bot{token}/getMe", timeout=20) as r:
    me = json.load(r)["result"]
print(f"telegram: running as @{me['username']}")
