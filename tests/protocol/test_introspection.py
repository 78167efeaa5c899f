"""Token introspection (RFC 7662)."""

import time

import pytest

from oidc_provider.models import Client, SessionNode
from oidc_provider.storage.revocation import revoke_nodes
from tests import flows

ISSUER = "http://testserver/oidc"


def test_an_active_access_token(tokens, http):
    response = flows.introspect(http, tokens["access_token"], token_type_hint="access_token")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    info = response.json()
    sub = flows.jwt_claims(tokens["id_token"])["sub"]
    assert set(info) == {"active", "scope", "client_id", "token_type", "exp", "iat", "sub", "iss", "aud"}
    assert info["active"] is True and info["scope"] == flows.OFFLINE_SCOPE and info["client_id"] == "rp1"
    assert info["token_type"] == "Bearer" and info["sub"] == sub and info["iss"] == ISSUER and info["aud"] == ["rp1"]
    assert info["exp"] - info["iat"] == 3600


def test_an_active_refresh_token(tokens, http):
    info = flows.introspect(http, tokens["refresh_token"], token_type_hint="refresh_token").json()
    assert info["active"] is True and info["token_type"] == "N_A" and info["scope"] == flows.OFFLINE_SCOPE
    # 30 days; less by the seconds between the authorization and the redemption when the grant's absolute
    # deadline, set at the authorization, caps it (a second or two; a few on a loaded machine)
    assert 30 * 86400 - 5 <= info["exp"] - info["iat"] <= 30 * 86400


@pytest.mark.parametrize("hint", ["refresh_token", "access_token", "authorization_code", "bogus"])
def test_the_hint_is_honoured_but_not_trusted(tokens, http, hint):
    assert flows.introspect(http, tokens["access_token"], token_type_hint=hint).json()["active"] is True
    assert flows.introspect(http, tokens["refresh_token"], token_type_hint=hint).json()["token_type"] == "N_A"


def test_a_secret_client_may_send_its_secret_in_either_form(tokens, http):
    """RFC 6749 §2.3.1: Basic is a MUST for a client with a password; the registered method names the
    token endpoint's form. Only the secret: see test_private_key_jwt.py for the other credentials."""
    data = {"token": tokens["access_token"], "client_id": "rp1", "client_secret": "s3cret"}
    assert http.post("/oidc/introspect", data).json()["active"] is True
    Client.objects.filter(client_id="rp1").update(token_endpoint_auth_method="client_secret_post")
    assert flows.introspect(http, tokens["access_token"]).json()["active"] is True


def test_username_when_configured(tokens, http, settings):
    assert "username" not in flows.introspect(http, tokens["access_token"]).json()
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "INTROSPECTION_USERNAME": True}
    assert flows.introspect(http, tokens["access_token"]).json()["username"] == "alice"


@pytest.mark.parametrize(
    "value", ["nonsense", "a.b.c", "Z0FBQUFBQnJCX1Y0" * 20, "eyJhbGciOiJub25lIn0.e30.", "id_token", "code"]
)
def test_unknown_malformed_and_other_kinds_of_token_are_inactive(tokens, browser, http, value):
    if value == "code":
        value, _ = flows.get_code(browser)
    value = tokens.get(value, value)
    response = flows.introspect(http, value)
    assert response.status_code == 200 and response.json() == {"active": False}


def test_a_revoked_token_is_inactive(tokens, http):
    assert flows.revoke(http, tokens["access_token"]).status_code == 200
    assert flows.introspect(http, tokens["access_token"]).json() == {"active": False}
    assert flows.introspect(http, tokens["refresh_token"]).json()["active"] is True


def test_an_expired_token_is_inactive(offline_rp, browser, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "ACCESS_TOKEN_LIFETIME": 1}
    tokens = flows.offline_tokens(browser, http)
    time.sleep(2.1)
    assert flows.introspect(http, tokens["access_token"]).json() == {"active": False}


def test_a_logged_out_session_makes_its_tokens_inactive(tokens, http, user):
    revoke_nodes(SessionNode.objects.filter(kind=SessionNode.USER, user_id=str(user.pk)))
    for value in (tokens["access_token"], tokens["refresh_token"]):
        assert flows.introspect(http, value).json() == {"active": False}


def test_a_revoked_grant_whose_tokens_look_active_is_inactive(tokens, http):
    """Defects 6 and 45: idpyoidc's logout revokes the grant, not its tokens; stock says active."""
    grant = SessionNode.objects.get(kind=SessionNode.GRANT)
    grant.data["revoked"] = True
    grant.save()
    assert flows.introspect(http, tokens["access_token"]).json() == {"active": False}


def test_a_token_whose_grant_is_gone_is_inactive(tokens, http):
    """Defect 45: stock raises (a 500)."""
    SessionNode.objects.filter(kind=SessionNode.GRANT).delete()
    assert flows.introspect(http, tokens["access_token"]).json() == {"active": False}


def test_another_clients_token_is_inactive(tokens, http):
    flows.make_client("rp2", "other")
    assert flows.introspect(http, tokens["access_token"], "rp2", "other").json() == {"active": False}


def test_a_client_in_the_audience_sees_the_token_and_so_does_its_owner(tokens, http):
    """Defect 45: stock refuses the owner when the token's audience names only others."""
    flows.make_client("rp2", "other")
    Client.objects.filter(client_id="rp1").update(
        token_exchange={
            "subject_token_types": ["access_token"],
            "requested_token_types": ["access_token"],
            "audiences": ["rp2"],
        }
    )
    exchanged = flows.exchange(http, tokens["access_token"], audience="rp2").json()["access_token"]
    for client_id, secret in (("rp2", "other"), ("rp1", "s3cret")):
        info = flows.introspect(http, exchanged, client_id, secret).json()
        assert info["active"] is True and info["aud"] == ["rp2"] and info["client_id"] == "rp1"


@pytest.mark.parametrize(
    "headers, data",
    [
        ({}, {}),
        ({"HTTP_AUTHORIZATION": flows.basic("rp1", "wrong")}, {}),
        ({"HTTP_AUTHORIZATION": flows.basic("nobody", "x")}, {}),
        ({"HTTP_AUTHORIZATION": "Basic !!!"}, {}),
        ({"HTTP_AUTHORIZATION": "Bearer x"}, {}),
        ({}, {"client_id": "rp1"}),
        ({}, {"client_id": "rp1", "client_secret": "wrong"}),
    ],
)
def test_unauthenticated_callers_get_401(tokens, http, headers, data):
    response = http.post("/oidc/introspect", {"token": tokens["access_token"], **data}, **headers)
    assert flows.error_of(response, 401) == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic ")


def test_a_public_client_cannot_introspect(db, browser, http):
    flows.make_client("spa", None, "--public")
    response = http.post("/oidc/introspect", {"token": "x", "client_id": "spa"})
    assert flows.error_of(response, 401) == "invalid_client"


@pytest.mark.parametrize("data", [{}, {"token": ""}])
def test_missing_token_is_invalid_request(offline_rp, http, data):
    response = http.post("/oidc/introspect", data, HTTP_AUTHORIZATION=flows.basic())
    assert flows.error_of(response) == "invalid_request"


def test_repeated_parameter_is_invalid_request(tokens, http):
    response = http.post("/oidc/introspect", {"token": [tokens["access_token"]] * 2}, HTTP_AUTHORIZATION=flows.basic())
    assert flows.error_of(response) == "invalid_request"


def test_get_is_refused(offline_rp, http):
    assert http.get("/oidc/introspect", HTTP_AUTHORIZATION=flows.basic()).status_code == 405
