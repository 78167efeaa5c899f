"""Access token formats: opaque by default, JWT (RFC 9068) per client or for the whole OP."""

import base64
import json
import time

import pytest
from cryptojwt.jws.jws import JWS
from cryptojwt.key_jar import KeyJar

from oidc_provider.models import Client
from tests import flows

ISSUER = "http://testserver/oidc"


def header(token):
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))


def verified_claims(http, token):
    """The claims of a JWT whose signature verifies against the OP's published JWKS."""
    keyjar = KeyJar()
    keyjar.import_jwks(http.get("/oidc/jwks").json(), ISSUER)
    return JWS().verify_compact(token, keyjar.get_verify_key(issuer_id=ISSUER))


@pytest.fixture
def jwt_tokens(offline_rp, browser, http):
    Client.objects.filter(client_id="rp1").update(access_token_format="jwt")
    return flows.offline_tokens(browser, http)


def test_opaque_is_the_default(tokens):
    assert "." not in tokens["access_token"]


def test_a_jwt_access_token_follows_rfc_9068(jwt_tokens, http):
    """Defect 41: stock signs it without typ at+jwt."""
    token = jwt_tokens["access_token"]
    assert header(token)["typ"] == "at+jwt" and header(token)["alg"] == "RS256"
    claims = verified_claims(http, token)
    assert {"iss", "exp", "aud", "sub", "client_id", "iat", "jti"} <= set(claims)
    assert claims["iss"] == ISSUER and claims["aud"] == ["rp1"] and claims["client_id"] == "rp1"
    assert claims["sub"] == flows.jwt_claims(jwt_tokens["id_token"])["sub"]
    assert claims["scope"] == flows.OFFLINE_SCOPE  # RFC 9068 §2.2.3: a space-separated string
    assert claims["exp"] - claims["iat"] == 3600 and abs(claims["iat"] - time.time()) < 5


def test_a_jwt_access_token_works_at_userinfo_introspection_and_revocation(jwt_tokens, http):
    token = jwt_tokens["access_token"]
    assert flows.userinfo(http, token).json()["email"] == "alice@example.com"
    info = flows.introspect(http, token).json()
    assert info["active"] and info["exp"] == flows.jwt_claims(token)["exp"] and info["token_type"] == "Bearer"
    assert flows.revoke(http, token).status_code == 200
    assert flows.introspect(http, token).json() == {"active": False}
    assert flows.userinfo(http, token).status_code == 401


def test_refresh_and_exchange_issue_jwts_whose_exp_matches(jwt_tokens, http):
    refreshed = flows.refresh(http, jwt_tokens["refresh_token"]).json()
    exchanged = flows.exchange(http, refreshed["refresh_token"], subject_token_type=flows.RT_TYPE).json()
    for body in (refreshed, exchanged):
        claims = verified_claims(http, body["access_token"])
        assert claims["exp"] == flows.introspect(http, body["access_token"]).json()["exp"]
        # now is read after the requests since the token's (whole-second) iat: seconds on a loaded machine
        assert abs(claims["exp"] - time.time() - body["expires_in"]) <= 5


def test_client_credentials_jwt_names_the_client_as_subject(db, http):
    flows.make_client("m2m", "s3cret", "--grant-type", "client_credentials", "--access-token-format", "jwt")
    token = flows.token_request(http, {"grant_type": "client_credentials"}, "m2m").json()["access_token"]
    claims = verified_claims(http, token)
    assert (
        claims["sub"] == claims["client_id"] == "m2m" and claims["aud"] == ["m2m"] and header(token)["typ"] == "at+jwt"
    )


def test_the_setting_makes_jwts_for_every_client_that_does_not_choose(offline_rp, browser, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "ACCESS_TOKEN_FORMAT": "jwt"}
    assert header(flows.offline_tokens(browser, http)["access_token"])["typ"] == "at+jwt"
    Client.objects.filter(client_id="rp1").update(access_token_format="opaque")
    assert "." not in flows.offline_tokens(browser, http)["access_token"]


def test_a_tampered_jwt_is_refused(jwt_tokens, http):
    head, payload, signature = jwt_tokens["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "openid admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    token = f"{head}.{forged}.{signature}"
    assert flows.introspect(http, token).json() == {"active": False}
    assert flows.userinfo(http, token).status_code == 401
