"""ID tokens and signed userinfo per client algorithm, across a key rotation, and the JWKS that verifies them.

Signatures are checked with authlib (an independent RP library) against the JWKS the OP serves.
"""

import json
import warnings

import pytest
from cryptojwt.jws.jws import factory as jws_factory

from oidc_provider.models import Client, SigningKey
from oidc_provider.server import get_server
from oidc_provider.storage.keys import rotate_keys
from tests import flows

with warnings.catch_warnings():  # authlib.jose is deprecated in favour of joserfc, still fine here
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, jwt
    from authlib.oidc.core import CodeIDToken

ISSUER = "http://testserver/oidc"


def header(token):
    return jws_factory(token).jwt.headers


def validate(id_token, jwks, client_id, access_token):
    """authlib: signature against ``jwks``, then iss, aud, nonce and at_hash."""
    claims = jwt.decode(
        id_token,
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": ISSUER},
            "aud": {"essential": True, "value": client_id},
            "at_hash": {"essential": True},
        },
        claims_params={"nonce": "n-1", "client_id": client_id, "access_token": access_token},
    )
    claims.validate(leeway=5)
    return claims


def tokens(browser, http, client_id="rp1"):
    code, verifier = flows.get_code(browser, client_id=client_id)
    response = flows.redeem(http, code, verifier, client_id=client_id)
    assert response.status_code == 200, response.content
    return response.json()


def current_kid(alg):
    return SigningKey.objects.get(alg=alg, state="current").kid


def reload_keys():
    """What every worker does within KEYS_REFRESH_INTERVAL."""
    assert get_server().keyjar.refresh_if_due(force=True)


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_id_token_signed_with_the_clients_algorithm(browser, http, alg):
    flows.make_client("rp1", "s3cret", "--id-token-signed-response-alg", alg)
    token = tokens(browser, http)
    assert header(token["id_token"]) == {"alg": alg, "kid": current_kid(alg)}
    claims = validate(token["id_token"], http.get("/oidc/jwks").json(), "rp1", token["access_token"])
    assert claims["sub"]


def test_eddsa_at_hash_uses_sha512(browser, http):
    """Defect 50: stock computes at_hash with "HS" + alg[-3:], which is nothing for EdDSA."""
    import base64
    import hashlib

    flows.make_client("rp1", "s3cret", "--id-token-signed-response-alg", "EdDSA")
    token = tokens(browser, http)
    digest = hashlib.sha512(token["access_token"].encode()).digest()[:32]
    assert flows.jwt_claims(token["id_token"])["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_default_algorithm_is_signing_alg(browser, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SIGNING_ALG": "ES256"}
    flows.make_client()
    assert header(tokens(browser, http)["id_token"])["alg"] == "ES256"


@pytest.mark.parametrize("stale", ["none", "HS256", "RS512"])
def test_an_algorithm_the_op_does_not_offer_is_never_used(rp, browser, http, stale):
    """A row edited behind the OP's back (or a setting narrowed since) falls back to SIGNING_ALG."""
    Client.objects.filter(client_id="rp1").update(
        id_token_signed_response_alg=stale, userinfo_signed_response_alg=stale
    )
    token = tokens(browser, http)
    assert header(token["id_token"])["alg"] == "RS256"
    userinfo = http.get("/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    assert userinfo["Content-Type"] == "application/json"


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_signed_userinfo(browser, http, alg):
    """OIDC Core §5.3.2: a signed JWT with iss and aud, verifiable with the JWKS."""
    flows.make_client("rp1", "s3cret", "--userinfo-signed-response-alg", alg)
    token = tokens(browser, http)
    response = http.get("/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    assert response.status_code == 200 and response["Content-Type"] == "application/jwt"
    body = response.content.decode()
    assert header(body) == {"alg": alg, "kid": current_kid(alg)}
    claims = jwt.decode(body, JsonWebKey.import_key_set(http.get("/oidc/jwks").json()))
    assert claims["iss"] == ISSUER and claims["aud"] in ("rp1", ["rp1"]) and claims["email"] == "alice@example.com"


def test_a_flow_spanning_a_rotation(rp, browser, http):
    """Tokens signed before a rotation validate against the JWKS after it; new ones carry the new kid."""
    before = tokens(browser, http)
    old_kid = header(before["id_token"])["kid"]
    code, verifier = flows.get_code(browser)  # authorized before the rotation, redeemed after
    upcoming = SigningKey.objects.get(alg="RS256", state="next").kid
    rotate_keys(["RS256"], force=True)
    reload_keys()

    after = flows.redeem(http, code, verifier).json()
    assert header(after["id_token"])["kid"] == upcoming != old_kid
    jwks = http.get("/oidc/jwks").json()
    assert {old_kid, upcoming} <= {k["kid"] for k in jwks["keys"]}
    validate(before["id_token"], jwks, "rp1", before["access_token"])
    validate(after["id_token"], jwks, "rp1", after["access_token"])
    response = http.get("/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {before['access_token']}")
    assert response.status_code == 200  # tokens from before the rotation keep working


def test_jwks_is_cacheable_with_an_etag(db, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "JWKS_MAX_AGE": 900}
    first = http.get("/oidc/jwks")
    etag = first["ETag"]
    assert first["Cache-Control"] == "public, max-age=900" and etag.startswith('"')
    again = http.get("/oidc/jwks", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert http.get("/oidc/jwks", HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert http.get("/oidc/jwks", HTTP_IF_NONE_MATCH='"other"').status_code == 200

    rotate_keys(force=True)
    reload_keys()
    changed = http.get("/oidc/jwks", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert len(changed.json()["keys"]) == len(first.json()["keys"]) + 4  # the retired keys stay published


def test_jwks_is_served_without_a_query(db, http, django_assert_num_queries):
    http.get("/oidc/jwks")  # builds the server
    get_server().keyjar.clock = lambda: 0.0  # the refresh interval has not passed
    with django_assert_num_queries(0):
        body = http.get("/oidc/jwks").content
    assert json.loads(body)["keys"]
