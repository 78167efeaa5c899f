"""Error responses over HTTP: client authentication, code replay, prompt=none, denial, bad redirect_uri."""

import pytest

from tests.e2e.browser import new_session
from tests.e2e.rp import authorization_response, get_code, oauth_session, redeem

pytestmark = pytest.mark.live


def test_wrong_client_secret(make_client, op_user, op_discovery):
    client = make_client()
    code, verifier = get_code(client, op_user, op_discovery["authorization_endpoint"])
    wrong = (client.client_id, "not-the-secret")
    response = redeem(op_discovery["token_endpoint"], client, code, verifier, auth=wrong)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json()["error"] == "invalid_client"
    assert response.headers["Cache-Control"] == "no-store"


def test_wrong_code_verifier(make_client, op_user, op_discovery):
    """PKCE (RFC 7636 §4.6): the code is bound to the challenge sent with it."""
    client = make_client()
    code, _ = get_code(client, op_user, op_discovery["authorization_endpoint"])
    response = redeem(op_discovery["token_endpoint"], client, code, "x" * 43)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_reused_code_is_refused_and_revokes_the_first_token(make_client, op_user, op_discovery):
    client = make_client()
    code, verifier = get_code(client, op_user, op_discovery["authorization_endpoint"])
    first = redeem(op_discovery["token_endpoint"], client, code, verifier)
    assert first.status_code == 200, first.text
    access_token = first.json()["access_token"]
    userinfo = op_discovery["userinfo_endpoint"]
    assert new_session().get(userinfo, headers={"Authorization": f"Bearer {access_token}"}).status_code == 200

    second = redeem(op_discovery["token_endpoint"], client, code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"

    # RFC 6749 §4.1.2 / §10.5: tokens issued from a replayed code are revoked
    response = new_session().get(userinfo, headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code == 401
    assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_prompt_none_without_login(make_client, op_user, op_discovery):
    client = make_client()
    result, sent = authorization_response(client, None, op_discovery["authorization_endpoint"], prompt="none")
    assert result["error"] == "login_required"
    assert result["iss"] == op_discovery["issuer"]
    assert result["state"] == sent["state"]
    assert "code" not in result


def test_consent_denied(make_client, op_user, op_discovery):
    client = make_client()
    result, sent = authorization_response(client, op_user, op_discovery["authorization_endpoint"], consent="deny")
    assert result["error"] == "access_denied"
    assert result["iss"] == op_discovery["issuer"]
    assert result["state"] == sent["state"]
    assert "code" not in result


def test_unregistered_redirect_uri_gets_an_error_page(make_client, op_discovery):
    client = make_client()
    url, _ = oauth_session(client).create_authorization_url(
        op_discovery["authorization_endpoint"], redirect_uri="https://evil.example/cb", code_verifier="v" * 43
    )
    response = new_session().get(url, allow_redirects=False)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
