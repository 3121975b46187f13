"""Demo bot for profiles/coinbase-advanced.toml (coinbase-advanced-py).

The CDP key JSON arrives as a file (COINBASE_KEY_FILE=/proc/self/fd/N).
Offline by default: builds the signed JWT a request would carry; --live lists
the accounts. Never prints a key."""
import os
import sys

from coinbase.rest import RESTClient

client = RESTClient(key_file=os.environ["COINBASE_KEY_FILE"])
if "--live" not in sys.argv:
    client.set_headers("GET", "/api/v3/brokerage/accounts")   # signs an ES256 JWT
    print("coinbase-advanced: ok, key file loaded and a JWT signed offline; pass --live to call the API")
    sys.exit(0)
accounts = client.get_accounts()
print(f"coinbase-advanced: {len(accounts.accounts)} accounts")
