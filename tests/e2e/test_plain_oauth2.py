"""Plain OAuth 2.0 (RFC 6749 §4.1, no ``openid`` scope) played by authlib's OAuth2Session against the
running OP: an access token and, with ``offline_access``, a refresh token; never an ID token; userinfo
refused; the token introspects with its scope."""

import secrets

import pytest
from authlib.integrations.requests_client import OAuth2Session

from tests.e2e.browser import TIMEOUT, authorize, new_session

pytestmark = pytest.mark.live

CLIENT_SCOPE = "openid profile email offline_access"
GRANTS = ("--grant-type", "authorization_code", "--grant-type", "refresh_token")


def plain_session(client, scope):
    session = OAuth2Session(
        client.client_id,
        client.client_secret,
        scope=scope,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=client.auth_method,
        default_timeout=TIMEOUT,
    )
    return new_session(session)


def plain_flow(client, user, discovery, scope):
    """The code flow with PKCE and no nonce, built by authlib; returns (authlib session, token response)."""
    rp = plain_session(client, scope)
    verifier = secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(discovery["authorization_endpoint"], code_verifier=verifier)
    assert "openid" not in url and "nonce=" not in url
    result = authorize(new_session(), url, client.redirect_uri, user.username, user.password)
    assert result["state"] == state and result["iss"] == discovery["issuer"], result
    token = rp.fetch_token(discovery["token_endpoint"], code=result["code"], state=state, code_verifier=verifier)
    return rp, token


def test_code_flow_without_openid_gives_access_and_refresh_tokens_and_no_id_token(make_client, op_user, op_discovery):
    client = make_client(scope=CLIENT_SCOPE, extra=GRANTS)
    rp, token = plain_flow(client, op_user, op_discovery, "profile email offline_access")
    assert token["token_type"].lower() == "bearer" and token["expires_in"] > 0
    assert token["scope"] == "profile email offline_access"
    assert "id_token" not in token and token["refresh_token"]

    response = new_session().get(
        op_discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert response.status_code == 403
    assert response.json() == {"error": "insufficient_scope", "error_description": "The token has no openid scope"}
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="{op_discovery["issuer"]}", error="insufficient_scope", '
        'error_description="The token has no openid scope", scope="openid"'
    )

    info = rp.introspect_token(op_discovery["introspection_endpoint"], token=token["access_token"]).json()
    assert info["active"] is True and info["scope"] == "profile email offline_access"
    assert info["client_id"] == client.client_id and info["sub"]

    refreshed = rp.refresh_token(op_discovery["token_endpoint"], refresh_token=token["refresh_token"])
    assert "id_token" not in refreshed and refreshed["refresh_token"] != token["refresh_token"]
    assert refreshed["scope"] == "profile email offline_access"
    info = rp.introspect_token(op_discovery["introspection_endpoint"], token=refreshed["access_token"]).json()
    assert info["active"] is True and info["scope"] == "profile email offline_access"


def test_no_refresh_token_without_offline_access(make_client, op_user, op_discovery):
    """The refresh_token grant type alone is not enough: the grant must hold offline_access."""
    client = make_client(scope=CLIENT_SCOPE, extra=GRANTS)
    _, token = plain_flow(client, op_user, op_discovery, "email")
    assert token["scope"] == "email" and "refresh_token" not in token and "id_token" not in token


def test_a_public_client_without_openid(make_client, op_user, op_discovery):
    client = make_client(auth_method="none")
    rp, token = plain_flow(client, op_user, op_discovery, "profile")
    assert token["scope"] == "profile" and "id_token" not in token and "refresh_token" not in token


def test_a_scope_the_client_may_not_have_is_invalid_scope(make_client, op_user, op_discovery):
    client = make_client()
    rp = plain_session(client, "phone")
    url, state = rp.create_authorization_url(op_discovery["authorization_endpoint"], code_verifier="v" * 43)
    result = authorize(new_session(), url, client.redirect_uri, op_user.username, op_user.password)
    assert result == {
        "error": "invalid_scope",
        "error_description": "No requested scope is allowed for this client",
        "state": state,
        "iss": op_discovery["issuer"],
    }
