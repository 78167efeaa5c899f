"""The code flow played by idpyoidc's own RP (RPHandler): discovery, PKCE, token, ID token, userinfo."""

import pytest
from cryptojwt.key_jar import KeyJar
from idpyoidc.client.rp_handler import RPHandler

from tests.e2e.browser import TIMEOUT, authorize, new_session

pytestmark = pytest.mark.live


def rp_handler(issuer, client, http) -> RPHandler:
    """An RP statically registered at ``issuer`` (so no dynamic registration), discovering the rest."""
    config = {
        "client_type": "oidc",
        "issuer": issuer,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uris": [client.redirect_uri],
        "client_authn_methods": [client.auth_method],
        "preference": {
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": [client.auth_method],
            "scopes_supported": client.scope.split(),
        },
        "add_ons": {
            "pkce": {
                "function": "idpyoidc.client.oauth2.add_on.pkce.add_support",
                "kwargs": {"code_challenge_length": 64, "code_challenge_method": "S256"},
            }
        },
    }
    return RPHandler(
        base_url="https://rp.example",
        client_configs={issuer: config},
        keyjar=KeyJar(),  # no RP keys on disk: the RP only verifies the OP's signatures
        httpc=http.request,  # the RP's back-channel requests go through ``http``
        httpc_params={"timeout": TIMEOUT},
    )


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_rp_handler_code_flow(make_client, op_server, op_user, auth_method):
    client = make_client(auth_method=auth_method)
    http = new_session()  # rejects 5xx
    responses = []
    http.hooks["response"].append(lambda response, **kwargs: responses.append(response))
    rph = rp_handler(op_server.issuer, client, http)
    url = rph.begin(issuer_id=op_server.issuer)
    assert "code_challenge_method=S256" in url

    response = authorize(new_session(), url, client.redirect_uri, op_user.username, op_user.password)
    assert response["iss"] == op_server.issuer
    result = rph.finalize(op_server.issuer, response)

    assert "error" not in result, result
    id_token = result["id_token"]  # verified by idpyoidc: signature, iss, aud, nonce, exp
    assert id_token["iss"] == op_server.issuer
    assert client.client_id in id_token["aud"]
    assert "auth_time" in id_token
    userinfo = result["userinfo"]
    assert userinfo["sub"] == id_token["sub"]
    assert userinfo["email"] == op_user.email
    assert userinfo["given_name"] == op_user.given_name
    assert userinfo["family_name"] == op_user.family_name
    assert userinfo["preferred_username"] == op_user.username
    assert result["token"]

    token_request = next(r.request for r in responses if r.url == f"{op_server.issuer}/token")
    if auth_method == "client_secret_basic":
        assert token_request.headers["Authorization"].startswith("Basic ")
    else:
        assert "Authorization" not in token_request.headers
        assert "client_secret=" in token_request.body


def test_rp_handler_refreshes_its_access_token(make_client, op_server, op_user):
    """idpyoidc's RP asks for offline_access with prompt=consent and refreshes; the OP rotates."""
    client = make_client(scope="openid profile email offline_access")
    rph = rp_handler(op_server.issuer, client, new_session())
    url = rph.begin(issuer_id=op_server.issuer)
    assert "prompt=consent" in url
    response = authorize(new_session(), url, client.redirect_uri, op_user.username, op_user.password)
    result = rph.finalize(op_server.issuer, response)
    assert "error" not in result, result

    refreshed = rph.refresh_access_token(result["state"])
    assert "error" not in refreshed, refreshed.to_dict()
    assert refreshed["access_token"] != result["token"]
    assert "offline_access" in refreshed["scope"] and refreshed["refresh_token"]
    refreshed_again = rph.refresh_access_token(result["state"])  # the RP keeps the rotated refresh token
    assert refreshed_again["access_token"] != refreshed["access_token"]
