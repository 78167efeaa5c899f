"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592) over real HTTP, and the
registered client used by an independent RP library (authlib)."""

import pytest

from tests.e2e.browser import new_session
from tests.e2e.rp import code_flow, fetch_jwks, validate_id_token

pytestmark = pytest.mark.live


def test_registered_client_signs_in_with_authlib(op_server, op_user, op_discovery, register):
    client = register(client_name="authlib RP", token_endpoint_auth_method="client_secret_post")
    assert client.registration["client_secret_expires_at"] == 0
    token, sent = code_flow(client, op_user, op_discovery["authorization_endpoint"], op_discovery["token_endpoint"])
    claims = validate_id_token(
        token["id_token"],
        fetch_jwks(op_discovery),
        issuer=op_server.issuer,
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
    )
    assert claims["aud"] == [client.client_id]


def test_client_configuration_needs_the_registration_access_token(register):
    client = register(post_logout_redirect_uris=["https://rp.example/bye"])
    uri = client.registration["registration_client_uri"]
    token = client.registration["registration_access_token"]
    read = new_session().get(uri, headers={"Authorization": f"Bearer {token}"})
    assert read.status_code == 200 and read.headers["Cache-Control"] == "no-store"
    assert read.json()["client_id"] == client.client_id
    assert read.json()["post_logout_redirect_uris"] == ["https://rp.example/bye"]
    anonymous = new_session().get(uri)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer ")
    wrong = new_session().get(uri, headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_token"


@pytest.mark.parametrize(
    "metadata, error",
    [
        ({"redirect_uris": ["https://rp.example/cb#f"]}, "invalid_redirect_uri"),
        (
            {"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "tls_client_auth"},
            "invalid_client_metadata",
        ),
    ],
)
def test_bad_metadata_gets_an_rfc7591_error(op_discovery, metadata, error):
    response = new_session().post(op_discovery["registration_endpoint"], json=metadata)
    assert response.status_code == 400 and response.headers["Cache-Control"] == "no-store"
    assert response.json()["error"] == error
