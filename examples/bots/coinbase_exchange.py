"""Demo bot for profiles/coinbase-exchange.toml (stdlib only).

Signs GET /accounts the way Coinbase Exchange wants it:
CB-ACCESS-SIGN = base64(HMAC-SHA256(base64decode(secret), timestamp + method + path + body)).
Offline by default; --live sends the request. Never prints a key."""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.request

API = "https://api.exchange.coinbase.com"


def signed_headers(method, path, body=""):
    timestamp = str(int(time.time()))
    what = (timestamp + method + path + body).encode()
    secret = base64.b64decode(os.environ["COINBASE_API_SECRET"])
    return {
        "CB-ACCESS-KEY": os.environ["COINBASE_API_KEY"],
        "CB-ACCESS-SIGN": base64.b64encode(hmac.new(secret, what, hashlib.sha256).digest()).decode(),
        "CB-ACCESS-TIMESTAMP": timestamp,
        "CB-ACCESS-PASSPHRASE": os.environ["COINBASE_API_PASSPHRASE"],
        "Content-Type": "application/json",
    }


headers = signed_headers("GET", "/accounts")
if "--live" not in sys.argv:
    print("coinbase-exchange: ok, signed GET /accounts offline; pass --live to send it")
    sys.exit(0)
with urllib.request.urlopen(urllib.request.Request(API + "/accounts", headers=headers), timeout=20) as r:
    accounts = json.load(r)
print(f"coinbase-exchange: {len(accounts)} accounts")
