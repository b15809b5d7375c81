"""An independent relying party written with Python's authlib (Debian python3-authlib), driven by
test/interop/authlib.test.ts over stdin/stdout, one JSON object per line:

  argv[1]  JSON: {"issuer", "client_id", "client_secret", "redirect_uri", "scope", "params"}
  out      {"authorization_url"}                 the browser goes there and signs in
  in       {"callback_url"}                      where Gatehouse sent the browser back
  out      {"id_token_claims", "refreshed_claims", "userinfo", "scope"}   or {"error"}

What it checks itself, with nothing but authlib: discovery, the code grant with PKCE S256 and state, the ID token's
signature against the published JWKS and its iss/aud/exp/nonce/at_hash (authlib.oidc.core.CodeIDToken), userinfo,
then a refresh (the new ID token verified the same way).
"""
import json
import sys

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken


def out(obj):
    print(json.dumps(obj), flush=True)


def verify_id_token(id_token, metadata, jwks, client_id, nonce, access_token):
    jwt = JsonWebToken(metadata["id_token_signing_alg_values_supported"])
    claims = jwt.decode(
        id_token,
        key=jwks,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": metadata["issuer"]}},
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    claims.validate(leeway=5)
    return dict(claims)


def main():
    cfg = json.loads(sys.argv[1])
    metadata = requests.get(cfg["issuer"] + "/.well-known/openid-configuration", timeout=10).json()
    if metadata["issuer"] != cfg["issuer"]:
        raise Exception("discovery issuer mismatch: " + metadata["issuer"])
    jwks = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())

    session = OAuth2Session(
        cfg["client_id"],
        cfg.get("client_secret"),
        scope=cfg.get("scope", "openid email profile"),
        redirect_uri=cfg["redirect_uri"],
        code_challenge_method="S256",
    )
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **cfg.get("params", {})
    )
    out({"authorization_url": url})

    callback = json.loads(sys.stdin.readline())["callback_url"]
    # authlib checks state; RFC 9207: the authorization response names its issuer
    from urllib.parse import parse_qs, urlparse

    query = parse_qs(urlparse(callback).query)
    if query.get("iss", [None])[0] != metadata["issuer"]:
        raise Exception("authorization response without the right iss: %r" % query.get("iss"))
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier
    )
    claims = verify_id_token(token["id_token"], metadata, jwks, cfg["client_id"], nonce, token["access_token"])
    userinfo = session.get(metadata["userinfo_endpoint"], timeout=10).json()

    refreshed = session.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    if refreshed["refresh_token"] == token["refresh_token"]:
        raise Exception("the refresh token did not rotate")
    refreshed_claims = None
    if "id_token" in refreshed:
        # a refreshed ID token has no nonce of its own (OIDC Core 12.2): check it without one
        jwt = JsonWebToken(metadata["id_token_signing_alg_values_supported"])
        c = jwt.decode(
            refreshed["id_token"],
            key=jwks,
            claims_options={"iss": {"essential": True, "value": metadata["issuer"]}, "aud": {"essential": True, "value": cfg["client_id"]}},
        )
        c.validate(leeway=5)
        refreshed_claims = dict(c)
    out({"id_token_claims": claims, "refreshed_claims": refreshed_claims, "userinfo": userinfo, "scope": refreshed.get("scope")})


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - reported to the test as JSON
        out({"error": "%s: %s" % (type(e).__name__, e)})
        sys.exit(1)
