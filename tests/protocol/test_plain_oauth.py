"""Plain OAuth 2.0 authorization requests (RFC 6749 §4.1): no ``openid`` scope, no ID token (defect 110)."""

import json
import time

import pytest
from django.test import Client as HttpClient

from oidc_provider.conf import oidc_settings
from tests import flows

REALM = 'Bearer realm="http://testserver/oidc"'


def redirected(response):
    assert response.status_code == 302 and response["Location"].startswith(flows.REDIRECT_URI), response.content
    params = flows.query(response)
    assert params["iss"] == "http://testserver/oidc" and params["state"] == "st-1"
    return params


def test_a_code_without_openid_gives_an_access_token_and_no_id_token(rp, browser, http):
    tokens = flows.get_tokens(browser, http, scope="profile email")
    assert "id_token" not in tokens and "refresh_token" not in tokens
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "profile email"
    introspected = flows.introspect(http, tokens["access_token"]).json()
    assert introspected["active"] is True and introspected["scope"] == "profile email"
    assert introspected["client_id"] == "rp1" and introspected["token_type"] == "Bearer"


def test_userinfo_refuses_a_plain_oauth_token_with_insufficient_scope(rp, browser, http):
    tokens = flows.get_tokens(browser, http, scope="email")
    response = flows.userinfo(http, tokens["access_token"])
    assert response.status_code == 403
    assert response.json() == {"error": "insufficient_scope", "error_description": "The token has no openid scope"}
    assert response["WWW-Authenticate"] == (
        f'{REALM}, error="insufficient_scope", error_description="The token has no openid scope", scope="openid"'
    )


def test_openid_requests_are_unchanged(rp, browser, http):
    tokens = flows.get_tokens(browser, http, scope="openid email")
    assert tokens["scope"] == "openid email" and "id_token" in tokens
    assert flows.userinfo(http, tokens["access_token"]).json()["email"] == "alice@example.com"


def consent_page(browser, scope, client_id="rp1"):
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1], scope=scope, client_id=client_id))
    assert response.status_code == 302 and response["Location"].startswith("/oidc/consent"), response
    page = browser.get(response["Location"])
    assert page.status_code == 200
    return page.content.decode()


def test_the_consent_page_describes_plain_oauth_scopes(rp, browser):
    page = consent_page(browser, "email profile")
    assert '<li data-scope="email"><strong>Your email address</strong>' in page
    assert '<li data-scope="profile"><strong>Your profile</strong>' in page
    assert 'data-scope="openid"' not in page  # nothing about confirming who the user is


@pytest.fixture
def api_client(settings, db):
    """A client allowed two API scopes that release no claims, one described, one not."""
    scopes = {**oidc_settings.SCOPES_TO_CLAIMS, "api:read": [], "reports": []}
    descriptions = {"api:read": "Read your files in %(client)s"}
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SCOPES_TO_CLAIMS": scopes, "SCOPE_DESCRIPTIONS": descriptions}
    flows.make_client("api", "s3cret", "--scope", "openid api:read reports")
    return "api"


def test_api_scopes_are_described_or_shown_by_name(api_client, browser):
    page = consent_page(browser, "api:read reports", client_id=api_client)
    assert '<li data-scope="api:read"><strong>Read your files in api</strong></li>' in page
    assert '<li data-scope="reports"><strong>reports</strong></li>' in page


def test_an_api_scope_gives_an_access_token_for_resource_servers(api_client, browser, http):
    tokens = flows.get_tokens(browser, http, client_id=api_client, scope="api:read")
    assert tokens["scope"] == "api:read" and "id_token" not in tokens
    introspected = flows.introspect(http, tokens["access_token"], client_id=api_client).json()
    assert introspected["active"] is True and introspected["scope"] == "api:read"


def test_a_remembered_consent_to_openid_scopes_covers_the_same_scopes_without_openid(rp, browser, http):
    flows.get_tokens(browser, http, scope="openid email")
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1], scope="email", prompt="none"))
    assert "code" in redirected(response)


def test_refresh_tokens_need_offline_access_also_without_openid(browser, http):
    flows.make_offline_client()
    tokens = flows.get_tokens(browser, http, scope="profile")
    assert "refresh_token" not in tokens  # the refresh_token grant type alone is not enough
    tokens = flows.offline_tokens(browser, http, scope="profile offline_access")
    assert "id_token" not in tokens and tokens["scope"] == "profile offline_access"
    refreshed = flows.refresh(http, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    body = refreshed.json()
    assert "id_token" not in body and body["refresh_token"] != tokens["refresh_token"]
    assert body["scope"] == "profile offline_access"
    assert flows.introspect(http, body["access_token"]).json()["scope"] == "profile offline_access"
    assert flows.userinfo(http, body["access_token"]).status_code == 403


def test_offline_access_without_consent_is_ignored_with_prompt_none(browser, http):
    """OIDC Core §11 as for openid requests (defect 40): no page may ask, so no refresh token."""
    flows.make_offline_client()
    flows.get_tokens(browser, http, scope="profile")  # consent to profile, remembered
    tokens = flows.get_tokens(browser, http, scope="profile offline_access", prompt="none")
    assert tokens["scope"] == "profile" and "refresh_token" not in tokens and "id_token" not in tokens


@pytest.mark.parametrize(
    "scope, error, description",
    [
        ("phone", "invalid_scope", "No requested scope is allowed for this client"),  # known, not the client's
        ("unknown-scope", "invalid_scope", "No requested scope is allowed for this client"),
        ("offline_access", "invalid_scope", "No requested scope is allowed for this client"),
        ("", "invalid_request", None),  # an empty scope is a missing one
        (None, "invalid_request", None),
    ],
)
def test_a_plain_request_without_a_grantable_scope_is_refused(rp, browser, scope, error, description):
    params = redirected(browser.get("/oidc/authorize", flows.auth_params("x" * 43, scope=scope)))
    assert params["error"] == error
    if description:
        assert params["error_description"] == description


def test_scopes_beyond_the_clients_are_dropped_as_for_openid_requests(rp, browser, http):
    tokens = flows.get_tokens(browser, http, scope="email phone")
    assert tokens["scope"] == "email"


@pytest.mark.parametrize(
    "override, error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"id_token_hint": "not-a-jwt"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "invalid_request_object"),
    ],
)
def test_bad_plain_requests_get_the_errors_of_openid_requests(rp, browser, override, error):
    for scope in ("openid email", "email"):
        params = redirected(browser.get("/oidc/authorize", flows.auth_params("x" * 43, scope=scope, **override)))
        assert params["error"] == error, (scope, params)


def test_prompt_none_without_login_is_login_required(rp, db):
    response = HttpClient().get("/oidc/authorize", flows.auth_params("x" * 43, scope="email", prompt="none"))
    assert redirected(response)["error"] == "login_required"


def test_prompt_none_without_consent_is_consent_required(rp, browser):
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, scope="email", prompt="none"))
    assert redirected(response)["error"] == "consent_required"


@pytest.mark.parametrize("override", [{"prompt": "login"}, {"max_age": "60"}, {"login_hint": "bob"}])
def test_prompt_max_age_and_login_hint_ask_for_a_login_as_for_openid_requests(rp, browser, override):
    session = browser.session
    session["oidc_provider.auth_time"] = int(time.time()) - 600  # signed in ten minutes ago
    session.save()
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, scope="email", **override))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    if override != {"prompt": "login"}:  # prompt=none with login is invalid_request, tested above
        params = flows.auth_params("x" * 43, scope="email", prompt="none", **override)
        assert redirected(browser.get("/oidc/authorize", params))["error"] == "login_required"


def test_a_claims_parameter_is_ignored_without_openid(rp, browser, http):
    claims = json.dumps({"userinfo": {"phone_number": None}, "id_token": {"email": {"essential": True}}})
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1], scope="email", claims=claims))
    page = browser.get(response["Location"]).content.decode()
    assert "phone" not in page.lower()
    tokens = flows.get_tokens(browser, http, scope="email", claims=claims)
    assert "id_token" not in tokens and tokens["scope"] == "email"


def test_a_nonce_is_ignored_without_openid(rp, browser, http):
    tokens = flows.get_tokens(browser, http, scope="email", nonce=None)
    assert "id_token" not in tokens


def test_a_jwt_access_token_without_openid_follows_rfc_9068(rp, browser, http):
    from oidc_provider.models import Client

    Client.objects.filter(client_id="rp1").update(access_token_format="jwt")
    openid_sub = flows.jwt_claims(flows.get_tokens(browser, http, scope="openid")["id_token"])["sub"]
    token = flows.get_tokens(browser, http, scope="email")["access_token"]
    claims, headers = flows.verified_claims(http, token)
    assert headers["typ"] == "at+jwt"
    assert claims["scope"] == "email" and claims["client_id"] == "rp1" and claims["sub"] == openid_sub
    assert "email" not in claims  # the scope is for a resource server to check, not a claim release
    assert flows.introspect(http, token).json()["active"] is True
    assert flows.userinfo(http, token).status_code == 403
