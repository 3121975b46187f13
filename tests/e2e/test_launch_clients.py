"""Real client libraries, real keys (throwaway ones this test makes), offline.

- coinbase-advanced-py reads its CDP key JSON from the sealed memfd that
  `as = "file"` hands over and signs an ES256 JWT; we verify it with PyJWT
  against the public half of the key.
- ccxt's coinbaseexchange signs private requests with the key, base64 secret
  and passphrase from the environment; we recompute the HMAC-SHA256.
Both profiles deny socket(2), so the bots cannot touch the network.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from launch_helpers import PY, bot, last_json, launch  # noqa: F401  (fixture)

OFFLINE = {"deny": ["socket"]}


def cdp_key() -> tuple[str, str, ec.EllipticCurvePublicKey]:
    """A throwaway Coinbase CDP key: (key name, key JSON, public key)."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    name = f"organizations/{uuid.uuid4()}/apiKeys/{uuid.uuid4()}"
    return name, json.dumps({"name": name, "privateKey": pem}), private.public_key()


def test_coinbase_advanced_signs_jwt_from_memfd_key_file(launch):
    name, key_json, public = cdp_key()
    launch.secret("coinbase/cdp-key-json", key_json)
    p = launch.profile("cb", [PY, bot("coinbase_jwt.py")],
                       keys={"COINBASE_KEY_FILE": {"secret": "coinbase/cdp-key-json", "as": "file"}},
                       sandbox=OFFLINE)
    res = launch.run(p)
    assert res.returncode == 0, res.stderr.decode()
    out = last_json(res)
    assert out["key_file"].startswith("/proc/self/fd/")

    uri = "GET api.coinbase.com/api/v3/brokerage/accounts"
    for token in (out["jwt"], out["authorization"].removeprefix("Bearer ")):
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "ES256" and header["kid"] == name and header.get("nonce")
        claims = jwt.decode(token, public, algorithms=["ES256"], options={"require": ["sub", "exp", "nbf"]})
        assert claims["sub"] == name
        assert claims["iss"] == "cdp"
        assert claims["uri"] == uri
        assert claims["exp"] - claims["nbf"] == 120

    # A different key does not verify it: the signature is really checked.
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    try:
        jwt.decode(out["jwt"], other, algorithms=["ES256"])
        raise AssertionError("verified with the wrong key")
    except jwt.InvalidSignatureError:
        pass


def test_ccxt_coinbaseexchange_signs_offline_with_env_keys(launch):
    api_key = secrets.token_hex(16)
    secret = base64.b64encode(secrets.token_bytes(64)).decode()
    passphrase = secrets.token_hex(8)
    launch.secret("coinbase/key", api_key)
    launch.secret("coinbase/secret", secret)
    launch.secret("coinbase/passphrase", passphrase)
    p = launch.profile("ccxt", [PY, bot("ccxt_sign.py")],
                       keys={"COINBASE_API_KEY": "coinbase/key", "COINBASE_API_SECRET": "coinbase/secret",
                             "COINBASE_API_PASSPHRASE": "coinbase/passphrase"},
                       sandbox=OFFLINE)
    res = launch.run(p, timeout=90)
    assert res.returncode == 0, res.stderr.decode()
    signed = last_json(res)
    assert [s["method"] for s in signed] == ["GET", "POST"]
    for s in signed:
        h = s["headers"]
        path = urlsplit(s["url"]).path
        body = s["body"] or ""
        what = (h["CB-ACCESS-TIMESTAMP"] + s["method"] + path + body).encode()
        want = base64.b64encode(hmac.new(base64.b64decode(secret), what, hashlib.sha256).digest()).decode()
        assert h["CB-ACCESS-SIGN"] == want
        # The bot printed its key and passphrase; the relay masked both.
        assert api_key not in json.dumps(h) and passphrase not in json.dumps(h)
        assert "redacted" in h["CB-ACCESS-KEY"] and "redacted" in h["CB-ACCESS-PASSPHRASE"]
    assert urlsplit(signed[0]["url"]).path == "/accounts" and signed[0]["body"] is None
    assert json.loads(signed[1]["body"])["product_id"] == "BTC-USD"
