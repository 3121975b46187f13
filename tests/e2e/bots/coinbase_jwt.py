"""Coinbase Advanced Trade bot (coinbase-advanced-py): loads its CDP key from the
key file run-with-keys hands it (a sealed memfd, /proc/self/fd/N) and signs a
REST JWT offline. Prints {"jwt", "authorization", "key_file"} as one JSON line.
No network I/O: the profile denies socket(2) as well."""
import json
import os

from coinbase import jwt_generator
from coinbase.rest import RESTClient

PATH = "/api/v3/brokerage/accounts"

key_file = os.environ["COINBASE_KEY_FILE"]
client = RESTClient(key_file=key_file)
uri = jwt_generator.format_jwt_uri("GET", PATH)
token = jwt_generator.build_rest_jwt(uri, client.api_key, client.api_secret)
# The client's own header builder, as a real request would use it.
authorization = client.set_headers("GET", PATH)["Authorization"]
print(json.dumps({"jwt": token, "authorization": authorization, "key_file": key_file}), flush=True)
