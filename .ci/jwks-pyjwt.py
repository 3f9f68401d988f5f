"""Verifies the server's EdDSA tokens the way another service would: with PyJWT and nothing but
the JWKS document (no secret, no call to the server per token). Run by .ci/jwks.sh.

    python jwks-pyjwt.py <base url> <username> <password> <issuer>
"""

import json
import sys
import urllib.request

import jwt

base, username, password, issuer = sys.argv[1:5]


def login():
    body = json.dumps({"username": username, "password": password}).encode()
    req = urllib.request.Request(
        f"{base}/authenticate", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        for header in res.headers.get_all("Set-Cookie"):
            name, _, rest = header.partition("=")
            if name.strip() == "jwt":
                return rest.split(";", 1)[0]
    raise SystemExit("the login set no jwt cookie")


with urllib.request.urlopen(f"{base}/.well-known/jwks.json", timeout=10) as res:
    cache = res.headers.get("Cache-Control")
    document = json.load(res)
assert cache == "public, max-age=300", cache
keys = jwt.PyJWKSet.from_dict(document)

token = login()
header = jwt.get_unverified_header(token)
assert header["alg"] == "EdDSA", header
key = keys[header["kid"]]
claims = jwt.decode(token, key.key, algorithms=["EdDSA"], issuer=issuer)
assert claims["sub"] == username, claims

# A token changed in one character of its payload must not verify.
head, payload, signature = token.split(".")
flipped = ("A" if payload[5] != "A" else "B").join([payload[:5], payload[6:]])
try:
    jwt.decode(f"{head}.{flipped}.{signature}", key.key, algorithms=["EdDSA"], issuer=issuer)
except jwt.InvalidTokenError:
    pass
else:
    raise SystemExit("a tampered token verified")

print(
    f"PyJWT {jwt.__version__}: verified a token of key {header['kid']} from the JWKS alone "
    f"({len(document['keys'])} key(s) listed); a tampered copy was refused"
)
