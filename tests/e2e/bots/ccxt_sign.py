"""Coinbase Exchange bot (ccxt coinbaseexchange): takes apiKey, secret and
passphrase from the environment and signs two private requests offline.
Prints [{"url", "method", "body", "headers"}, …] as one JSON line."""
import json
import os

import ccxt

exchange = ccxt.coinbaseexchange({
    "apiKey": os.environ["COINBASE_API_KEY"],
    "secret": os.environ["COINBASE_API_SECRET"],
    "password": os.environ["COINBASE_API_PASSPHRASE"],
})
signed = [
    exchange.sign("accounts", api=["private"], method="GET", params={}),
    exchange.sign("orders", api=["private"], method="POST",
                  params={"product_id": "BTC-USD", "side": "buy", "size": "0.01", "price": "100.00"}),
]
print(json.dumps(signed), flush=True)
