"""The client_credentials grant (RFC 6749 §4.4)."""

import json

import pytest

from oidc_provider.models import Client, SessionNode
from tests import flows


@pytest.fixture
def machine(db):
    flows.make_client("m2m", "s3cret", "--grant-type", "client_credentials")
    return "m2m"


def cc(http, client_id="m2m", secret="s3cret", **extra):
    return flows.token_request(http, {"grant_type": "client_credentials", **extra}, client_id, secret)


def test_an_access_token_and_nothing_else(machine, http):
    response = cc(http)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and 3590 <= body["expires_in"] <= 3600
    assert body["scope"] == "profile email"  # the client's scopes; openid and offline_access need a user


def test_repeated_requests_work(machine, http):
    """Defect 8: stock raises on a client's second request."""
    values = [cc(http).json()["access_token"] for _ in range(3)]
    assert len(set(values)) == 3
    assert all(flows.introspect(http, v, "m2m").json()["active"] for v in values)


def test_the_token_introspects_as_the_clients_own(machine, http):
    info = flows.introspect(http, cc(http).json()["access_token"], "m2m").json()
    assert info["active"] and info["client_id"] == "m2m" and info["sub"] == "m2m" and info["aud"] == ["m2m"]
    assert info["token_type"] == "Bearer" and info["scope"] == "profile email"


def test_username_is_absent_without_a_user(machine, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "INTROSPECTION_USERNAME": True}
    assert "username" not in flows.introspect(http, cc(http).json()["access_token"], "m2m").json()


def test_a_narrower_scope_is_honoured(machine, http):
    assert cc(http, scope="email").json()["scope"] == "email"


@pytest.mark.parametrize("scope", ["openid", "offline_access", "address", "email bogus"])
def test_a_scope_not_allowed_is_invalid_scope(machine, http, scope):
    assert flows.error_of(cc(http, scope=scope)) == "invalid_scope"


def test_a_client_without_the_grant_type_is_unauthorized_client(rp, http):
    assert flows.error_of(cc(http, "rp1")) == "unauthorized_client"


def test_a_public_client_is_unauthorized_client(db, http):
    flows.make_client("spa", None, "--public")
    Client.objects.filter(client_id="spa").update(grant_types=["client_credentials"])  # what validation refuses
    response = http.post("/oidc/token", {"grant_type": "client_credentials", "client_id": "spa"})
    assert flows.error_of(response) == "unauthorized_client"


def test_client_authentication_is_required(machine, http):
    assert flows.error_of(cc(http, secret=None), 401) == "invalid_client"
    assert flows.error_of(cc(http, secret="wrong"), 401) == "invalid_client"


def test_client_secret_post(db, http):
    flows.make_client("m2m", "s3cret", "--grant-type", "client_credentials", "--token-endpoint-auth-method", "client_secret_post")
    response = http.post("/oidc/token", {"grant_type": "client_credentials", "client_id": "m2m", "client_secret": "s3cret"})
    assert response.status_code == 200


def test_userinfo_refuses_a_token_without_a_user(machine, http):
    """Defect 47: stock raises on a token whose grant has no authentication event."""
    response = flows.userinfo(http, cc(http).json()["access_token"])
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"
    assert response["WWW-Authenticate"].startswith('Bearer realm="http://testserver/oidc", error="insufficient_scope"')


def test_the_token_can_be_revoked(machine, http):
    token = cc(http).json()["access_token"]
    assert flows.revoke(http, token, "m2m").status_code == 200
    assert flows.introspect(http, token, "m2m").json() == {"active": False}


def test_the_grant_row_stays_small(machine, http):
    """One row per token: it holds the rules of the only class it mints, and stays under
    PostgreSQL's ~2 kB threshold, above which every insert is compressed."""
    assert cc(http).status_code == 200
    data = SessionNode.objects.get(kind=SessionNode.GRANT).data
    assert list(data["usage_rules"]) == ["access_token"]
    assert len(json.dumps(data)) < 1900
