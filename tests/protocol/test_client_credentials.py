"""The client_credentials grant (RFC 6749 §4.4)."""

import json
import time
from unittest import mock

import pytest

from oidc_provider.crypto import token_digest
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
    flows.make_client(
        "m2m", "s3cret", "--grant-type", "client_credentials", "--token-endpoint-auth-method", "client_secret_post"
    )
    response = http.post(
        "/oidc/token", {"grant_type": "client_credentials", "client_id": "m2m", "client_secret": "s3cret"}
    )
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


def stock_grant_row(client_id, scope):
    """The row idpyoidc's own grant machinery writes for a client-credentials token (its ``add_grant``,
    ``Grant.mint_token``, the grant dumped at the end of the unit of work): what this helper wrote
    before it wrote the dump itself."""
    from idpyoidc.message.oauth2 import AuthorizationRequest
    from idpyoidc.server.session.manager import SessionManager as IdpySessionManager

    from oidc_provider.idpy.fast.client_credentials import NO_USER
    from oidc_provider.server import get_server
    from oidc_provider.storage.unit_of_work import unit_of_work

    context = get_server().context
    manager = context.session_manager
    rules = context.authz.usage_rules(client_id)["access_token"]
    # the grant and its token stamped at one instant, as ours are: a second ticking over between the two
    # stamps would put the grant's expiry a second later than ours
    now = mock.patch("idpyoidc.server.session.token.utc_time_sans_frac", return_value=int(time.time()))
    with unit_of_work(), now:
        session_id = IdpySessionManager.add_grant(  # the stock method, not ours
            manager,
            [NO_USER, client_id],
            scope=scope,
            sub=client_id,
            resources=[client_id],
            authorization_request=AuthorizationRequest(client_id=client_id, scope=scope),
            usage_rules={"access_token": rules},
        )
        grant = manager[session_id]
        token = grant.mint_token(
            session_id,
            context,
            "access_token",
            manager.token_handler["access_token"],
            usage_rules=rules,
            scope=scope,
            token_type="Bearer",
        )
        token.expires_at = grant.expires_at = token.issued_at + rules["expires_in"]
    return SessionNode.objects.get(key=";;".join(manager.decrypt_session_id(session_id)))


def comparable(row):
    """A grant row without what differs between any two grants: ids, times, the token's value."""
    data = json.loads(json.dumps(row.data))
    issued_at = data.pop("issued_at")
    data["expires_at"] -= issued_at
    for item in data["issued_token"]:
        for token in item.values():
            token.update(id=None, value=None, issued_at=None, expires_at=token["expires_at"] - issued_at)
    fields = {
        f: getattr(row, f)
        for f in ("parent_key", "kind", "user_id", "client_id", "class_name", "revoked", "op_session")
    }
    return {**fields, "data": data, "lifetime": (row.expires_at - row.created_at).total_seconds() // 10}


@pytest.mark.parametrize("extra", [{}, {"scope": "profile"}])
@pytest.mark.parametrize("access_token_format", ["opaque", "jwt"])
def test_the_grant_row_is_the_one_idpyoidc_writes(machine, http, extra, access_token_format):
    Client.objects.filter(client_id="m2m").update(access_token_format=access_token_format)
    response = cc(http, **extra)
    assert response.status_code == 200
    ours = SessionNode.objects.get(kind=SessionNode.GRANT)
    stock = stock_grant_row("m2m", extra["scope"].split() if extra else ours.data["scope"])
    assert comparable(ours) == comparable(stock)
    token = next(iter(ours.data["issued_token"][0].values()))
    access_token = response.json()["access_token"]
    assert (access_token.count(".") == 2) == (access_token_format == "jwt")
    assert token["value"] == token_digest(access_token)  # its keyed hash, not the token
