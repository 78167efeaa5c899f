"""Client authentication over real HTTP: a private_key_jwt client (authlib) at introspection and
revocation, an assertion addressed to another party too, and revocation of another client's token."""

import json
import time
import uuid

import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptojwt.jwk.ec import new_ec_key
from cryptojwt.jws.jws import JWS
from joserfc.jwk import ECKey

from tests.e2e.browser import TIMEOUT, new_session
from tests.e2e.conftest import register_clients
from tests.e2e.rp import authorization_response, code_flow

pytestmark = pytest.mark.live

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REFUSED = {"error": "invalid_client", "error_description": "Client authentication failed"}


@pytest.fixture(scope="module")
def pk_client(op_server):
    key = new_ec_key("P-256", kid="rp-key-1", use="sig")
    public = {k: v for k, v in key.serialize(private=True).items() if k != "d"}
    extra = [
        "--jwks",
        json.dumps({"keys": [public]}),
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "client_credentials",
    ]
    client = register_clients(op_server, auth_method="private_key_jwt", extra=extra)[0]
    client.key = key
    return client


def assertion(client, aud):
    now = int(time.time())
    claims = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": aud,
        "exp": now + 60,
        "iat": now,
        "jti": uuid.uuid4().hex,
    }
    return JWS(json.dumps(claims), alg="ES256", kid=client.key.kid).sign_compact([client.key])


def test_a_private_key_jwt_client_introspects_and_revokes_with_authlib(pk_client, op_user, op_discovery):
    """authlib addresses its assertions to the token endpoint at every endpoint: accepted, as the issuer is."""
    token_endpoint = op_discovery["token_endpoint"]
    rp = new_session(
        OAuth2Session(
            pk_client.client_id,
            ECKey.import_key(pk_client.key.serialize(private=True)),
            scope=pk_client.scope,
            redirect_uri=pk_client.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="private_key_jwt",
            revocation_endpoint_auth_method="private_key_jwt",
            default_timeout=TIMEOUT,
        )
    )
    rp.register_client_auth_method(PrivateKeyJWT(token_endpoint, alg="ES256", headers={"kid": "rp-key-1"}))
    result, sent = authorization_response(pk_client, op_user, op_discovery["authorization_endpoint"], rp=rp)
    token = rp.fetch_token(token_endpoint, code=result["code"], state=sent["state"], code_verifier=sent["verifier"])
    info = rp.introspect_token(op_discovery["introspection_endpoint"], token=token["access_token"]).json()
    assert info["active"] is True and info["client_id"] == pk_client.client_id
    assert rp.revoke_token(op_discovery["revocation_endpoint"], token=token["access_token"]).status_code == 200
    assert rp.introspect_token(op_discovery["introspection_endpoint"], token=token["access_token"]).json() == {
        "active": False
    }


@pytest.mark.parametrize("endpoint", ["token_endpoint", "introspection_endpoint", "revocation_endpoint"])
def test_an_assertion_also_addressed_to_another_party_is_refused(pk_client, op_discovery, endpoint):
    """RFC 7523bis: the OP is the assertion's sole audience; a one-element array is accepted."""
    url = op_discovery[endpoint]
    request = {"grant_type": "client_credentials", "scope": "email"} if endpoint == "token_endpoint" else {"token": "x"}
    for aud, status in (([op_discovery["issuer"], "https://evil.example"], 401), ([op_discovery["issuer"]], 200)):
        data = {**request, "client_assertion_type": JWT_BEARER, "client_assertion": assertion(pk_client, aud)}
        response = new_session().post(url, data=data)
        assert response.status_code == status, response.text
        if status == 401:
            assert response.json() == REFUSED


def test_revoking_another_clients_token_answers_200_and_changes_nothing(make_client, op_user, op_discovery):
    owner, other = make_client(), make_client()
    token, _ = code_flow(owner, op_user, op_discovery["authorization_endpoint"], op_discovery["token_endpoint"])

    def revoke(value):
        return new_session().post(
            op_discovery["revocation_endpoint"], data={"token": value}, auth=(other.client_id, other.client_secret)
        )

    response = revoke(token["access_token"])
    assert response.status_code == 200 and response.text == revoke("nonsense").text
    info = (
        new_session()
        .post(
            op_discovery["introspection_endpoint"],
            data={"token": token["access_token"]},
            auth=(owner.client_id, owner.client_secret),
        )
        .json()
    )
    assert info["active"] is True
