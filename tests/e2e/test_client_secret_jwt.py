"""``client_secret_jwt`` (OIDC Core §9, RFC 7523) against the running OP, the assertions built by
authlib: a client made with ``createclient`` and one registered (RFC 7591), and a replayed ``jti``
refused by another OP process over the same database."""

import time

import pytest
from authlib.oauth2.rfc7523 import ClientSecretJWT, client_secret_jwt_sign

from tests.e2e.browser import new_session
from tests.e2e.rp import authorization_response, get_code, oauth_session, validate_id_token

pytestmark = pytest.mark.live

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def server_b(op_server, start_server):
    return start_server(issuer=op_server.issuer)


def authlib_code_flow(client, user, discovery, alg):
    rp = oauth_session(client)
    rp.register_client_auth_method(ClientSecretJWT(discovery["token_endpoint"], alg=alg))
    result, sent = authorization_response(client, user, discovery["authorization_endpoint"], rp=rp)
    assert "code" in result, result
    token = rp.fetch_token(
        discovery["token_endpoint"], code=result["code"], state=sent["state"], code_verifier=sent["verifier"]
    )
    return token, sent


@pytest.mark.parametrize("alg", ["HS256", "HS512"])
def test_an_authlib_client_secret_jwt_client_gets_tokens(make_client, op_server, op_user, op_discovery, alg):
    assert "client_secret_jwt" in op_discovery["token_endpoint_auth_methods_supported"]
    assert alg in op_discovery["token_endpoint_auth_signing_alg_values_supported"]
    client = make_client(auth_method="client_secret_jwt")
    token, sent = authlib_code_flow(client, op_user, op_discovery, alg)
    jwks = new_session().get(op_discovery["jwks_uri"]).json()
    claims = validate_id_token(
        token["id_token"],
        jwks,
        issuer=op_server.issuer,
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
    )
    assert claims["aud"] == client.client_id or claims["aud"] == [client.client_id]


def test_a_registered_client_secret_jwt_client_gets_tokens(register, op_user, op_discovery):
    client = register(token_endpoint_auth_method="client_secret_jwt")
    assert client.client_secret and client.auth_method == "client_secret_jwt"
    token, _ = authlib_code_flow(client, op_user, op_discovery, "HS256")
    assert token["token_type"].lower() == "bearer"


def test_the_secret_itself_is_refused(make_client, op_user, op_discovery):
    client = make_client(auth_method="client_secret_jwt")
    code, verifier = get_code(client, op_user, op_discovery["authorization_endpoint"])
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri}
    response = new_session().post(
        op_discovery["token_endpoint"],
        data={**data, "code_verifier": verifier},
        auth=(client.client_id, client.client_secret),
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_replayed_assertion_is_refused_by_another_process(make_client, op_server, server_b, op_user, op_discovery):
    """One assertion, two codes: redeemed at process A, then replayed at process B (same issuer, same
    database): B refuses it, so the jti store is shared, not per process."""
    client = make_client(auth_method="client_secret_jwt")
    token_endpoint = op_discovery["token_endpoint"]
    used = client_secret_jwt_sign(client.client_secret, client.client_id, token_endpoint)
    if isinstance(used, bytes):
        used = used.decode()

    def redeem_at(url):
        code, verifier = get_code(client, op_user, op_discovery["authorization_endpoint"])
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            "code_verifier": verifier,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": used,
        }
        return new_session().post(url, data=data)

    first = redeem_at(token_endpoint)
    assert first.status_code == 200, first.text
    replayed = redeem_at(f"{server_b.url}/oidc/token")
    assert replayed.status_code == 401
    assert replayed.json() == {"error": "invalid_client", "error_description": "Client authentication failed"}
    deadline = time.monotonic() + 10  # the access log is written after the response
    while not any(line.startswith("POST /oidc/token") and status == 401 for _, line, status in server_b.access_log()):
        assert time.monotonic() < deadline, server_b.access_log()
        time.sleep(0.1)
