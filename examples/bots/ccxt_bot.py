"""Demo bot for profiles/ccxt.toml: any ccxt exchange (CCXT_EXCHANGE).

Offline by default: builds the exchange object and checks the credentials are
all there; --live fetches the balance. Never prints a key."""
import os
import sys

import ccxt

exchange_id = os.environ.get("CCXT_EXCHANGE", "binance")
config = {"apiKey": os.environ["EXCHANGE_API_KEY"], "secret": os.environ["EXCHANGE_SECRET"]}
if "EXCHANGE_PASSWORD" in os.environ:
    config["password"] = os.environ["EXCHANGE_PASSWORD"]
exchange = getattr(ccxt, exchange_id)(config)
exchange.check_required_credentials()
if "--live" not in sys.argv:
    print(f"ccxt: ok, {exchange_id} credentials loaded offline; pass --live to fetch the balance")
    sys.exit(0)
balance = exchange.fetch_balance()
print(f"ccxt: {exchange_id} balance has {len(balance.get('total', {}))} currencies")
