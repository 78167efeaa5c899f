"""Speed rewrite ``idpy/fast/jwt.py``: an RS256/384/512 JWT signed without cryptojwt's JWS objects is the
token cryptojwt's ``JWT.pack`` makes (PKCS#1 v1.5 signatures are deterministic: the whole token compares)."""

import time
from unittest import mock

import pytest
from cryptojwt.jwk.ec import new_ec_key
from cryptojwt.jwk.rsa import new_rsa_key
from cryptojwt.jwt import JWT
from cryptojwt.key_jar import KeyJar
from idpyoidc.server.token.id_token import IDToken as IdpyIDToken

from oidc_provider.idpy.fast import jwt as fast_jwt
from oidc_provider.idpy.fast.jwt import FastJWT
from oidc_provider.storage.unit_of_work import GRANTS, unit_of_work
from oidc_provider.views.authorization import authorization_endpoint
from tests import flows

ISSUER = "https://op.example/oidc"
PAYLOAD = {"sub": "248289761001", "nonce": "n-0S6_WzA2Mj", "name": "Zoë “Ψ” O’Brien", "groups": ["a", "b"], "n": 1}


def keyjar(*keys):
    jar = KeyJar()
    jar.add_keys("", list(keys))
    return jar


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
@pytest.mark.parametrize("kid", ["key-1", ""])
@pytest.mark.parametrize(("recv", "aud"), [("rp1", None), ("rp1", ["rp2"]), ("", None), ("rp1", ["rp1", "rp3"])])
def test_the_token_is_cryptojwts(alg, kid, recv, aud):
    jar = keyjar(new_rsa_key(2048, kid=kid))
    args = {"iss": ISSUER, "lifetime": 300, "sign_alg": alg}
    ours = FastJWT(jar, **args).pack(PAYLOAD, recv=recv, aud=aud, iat=1_700_000_000)
    theirs = JWT(jar, **args).pack(PAYLOAD, recv=recv, aud=aud, iat=1_700_000_000)
    assert ours == theirs


def test_what_it_does_not_cover_is_cryptojwts():
    jar = keyjar(new_rsa_key(2048, kid="rsa"), new_ec_key("P-256", kid="ec"))
    with mock.patch.object(JWT, "pack", autospec=True, side_effect=JWT.pack) as stock:
        for args in ({"sign_alg": "ES256"}, {"sign_alg": "PS256"}, {"sign_alg": "RS256", "encrypt": True}):
            FastJWT(jar, iss=ISSUER, **args).pack(
                PAYLOAD, recv="rp1", **({"encrypt": False} if "encrypt" in args else {})
            )
        FastJWT(jar, iss=ISSUER).pack(PAYLOAD, recv="rp1", jws_headers={"typ": "JWT"})
        assert stock.call_count == 4
        FastJWT(jar, iss=ISSUER).pack(PAYLOAD, recv="rp1")
        assert stock.call_count == 4


def test_the_id_token_is_the_stock_methods(rp, user):
    """The ID token handler's ``sign_encrypt`` signs what idpyoidc's signs, as it signs it."""
    endpoint = authorization_endpoint()
    parsed = endpoint.parse_request(flows.auth_params(flows.pkce_pair()[1]))
    authn = {"uid": str(user.pk), "authn_time": int(time.time()) - 5}
    with (
        unit_of_work(GRANTS),
        mock.patch("oidc_provider.idpy.id_token.new_id", return_value="a-jti"),
        mock.patch("cryptojwt.jwt.utc_time_sans_frac", return_value=1_700_000_000),
        mock.patch.object(fast_jwt.JWT, "pack", autospec=True, side_effect=JWT.pack) as stock_pack,
    ):
        session_id = endpoint.process_request(parsed, http_info={}, authn=authn)["session_id"]
        handler = endpoint.upstream_get("context").session_manager.token_handler["id_token"]
        ours = handler.sign_encrypt(session_id, "rp1", code="a-code", access_token="a-token")
        assert stock_pack.call_count == 0
        theirs = IdpyIDToken.sign_encrypt(handler, session_id, "rp1", code="a-code", access_token="a-token", sign=True)
    assert ours == theirs
    assert {"c_hash", "at_hash", "nonce", "sid"} <= set(flows.jwt_claims(ours))
