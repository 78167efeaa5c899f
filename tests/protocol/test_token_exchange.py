"""Token exchange (RFC 8693) under a per-client policy."""

import time
import uuid
from urllib.parse import urlencode

import pytest

from oidc_provider.models import Client, SessionNode
from tests import flows


def set_policy(client_id="rp1", **policy):
    base = {
        "subject_token_types": ["access_token", "refresh_token"],
        "requested_token_types": ["access_token", "refresh_token"],
    }
    Client.objects.filter(client_id=client_id).update(token_exchange={**base, **policy})


def make_rp2(*extra):
    flows.make_client("rp2", "other", "--grant-type", "authorization_code", "--grant-type", flows.EXCHANGE, *extra)


def test_the_use_case_request_as_written(tokens, http):
    """idpyoidc's documented request: client_secret_post, no subject_token_type."""
    Client.objects.filter(client_id="rp1").update(token_endpoint_auth_method="client_secret_post")
    data = {
        "grant_type": flows.EXCHANGE,
        "requested_token_type": flows.AT_TYPE,
        "client_id": "rp1",
        "client_secret": "s3cret",
        "subject_token": tokens["access_token"],
    }
    response = http.post("/oidc/token", urlencode(data), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "issued_token_type", "token_type", "expires_in", "scope"}
    assert body["issued_token_type"] == flows.AT_TYPE and body["token_type"] == "Bearer"
    assert body["scope"] == flows.OFFLINE_SCOPE
    info = flows.introspect(http, body["access_token"]).json()
    assert info["active"] and info["exp"] - int(time.time()) in range(body["expires_in"] - 2, body["expires_in"] + 1)
    assert flows.userinfo(http, body["access_token"]).json()["email"] == "alice@example.com"


def test_a_refresh_token_requested_is_a_working_refresh_token(tokens, http):
    body = flows.exchange(http, tokens["access_token"], requested_token_type=flows.RT_TYPE).json()
    assert body["issued_token_type"] == flows.RT_TYPE and body["token_type"] == "N_A"
    refreshed = flows.refresh(http, body["access_token"])
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"]


def test_a_refresh_token_needs_offline_access(tokens, http):
    response = flows.exchange(http, tokens["access_token"], requested_token_type=flows.RT_TYPE, scope="openid email")
    assert flows.error_of(response) == "invalid_request"


def test_a_refresh_token_subject(tokens, http):
    response = flows.exchange(http, tokens["refresh_token"], subject_token_type=flows.RT_TYPE)
    assert response.status_code == 200 and response.json()["issued_token_type"] == flows.AT_TYPE


def test_exchanging_a_refresh_token_for_a_refresh_token_does_not_fork_the_rotation_chain(tokens, http):
    """Defect 70: the subject refresh token is rotated out, as a refresh does; else both it and the new
    one refresh on, two chains where rotation promises one. Presented again at once, it is refused as
    a retry (REFRESH_TOKEN_REUSE_WINDOW) and the one chain goes on."""
    body = flows.exchange(
        http, tokens["refresh_token"], subject_token_type=flows.RT_TYPE, requested_token_type=flows.RT_TYPE
    ).json()
    assert body["issued_token_type"] == flows.RT_TYPE, body
    assert flows.introspect(http, tokens["refresh_token"]).json() == {"active": False}
    refreshed = flows.refresh(http, body["access_token"])
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"]
    response = flows.refresh(http, tokens["refresh_token"])
    assert response.json() == {"error": "invalid_grant", "error_description": "Refresh token already used"}
    assert flows.refresh(http, refreshed.json()["refresh_token"]).status_code == 200


def test_a_refresh_token_exchanged_for_a_refresh_token_and_replayed_revokes_the_family(tokens, http, settings):
    """Outside the reuse window, the rotated-out subject presented again is a replay (RFC 9700 §4.14.2)."""
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REFRESH_TOKEN_REUSE_WINDOW": 0}
    body = flows.exchange(
        http, tokens["refresh_token"], subject_token_type=flows.RT_TYPE, requested_token_type=flows.RT_TYPE
    ).json()
    refreshed = flows.refresh(http, body["access_token"])
    assert refreshed.status_code == 200
    response = flows.refresh(http, tokens["refresh_token"])
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Refresh token reused: every token of this grant is revoked",
    }
    assert flows.error_of(flows.refresh(http, refreshed.json()["refresh_token"])) == "invalid_grant"


def test_exchanging_a_refresh_token_for_an_access_token_leaves_it_live(tokens, http):
    body = flows.exchange(
        http, tokens["refresh_token"], subject_token_type=flows.RT_TYPE, requested_token_type=flows.AT_TYPE
    ).json()
    assert body["issued_token_type"] == flows.AT_TYPE
    assert flows.refresh(http, tokens["refresh_token"]).status_code == 200


def test_a_refresh_token_subject_with_audience_is_invalid_target(tokens, http):
    """The use-case rule: a refresh token has a single owner."""
    set_policy(audiences=["rp2"])
    response = flows.exchange(http, tokens["refresh_token"], subject_token_type=flows.RT_TYPE, audience="rp2")
    assert flows.error_of(response) == "invalid_target"


def test_expires_in_matches_the_token_issued(tokens, http):
    """Defect 102: stock copies the subject's expiry (here a 30-day refresh token) onto the new token."""
    body = flows.exchange(http, tokens["refresh_token"], subject_token_type=flows.RT_TYPE).json()
    assert 3590 <= body["expires_in"] <= 3600
    info = flows.introspect(http, body["access_token"]).json()
    assert info["exp"] - info["iat"] == 3600


def test_an_exchanged_token_never_outlives_its_subject(offline_rp, browser, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "ACCESS_TOKEN_LIFETIME": 60}
    tokens = flows.offline_tokens(browser, http)
    body = flows.exchange(http, tokens["access_token"], requested_token_type=flows.RT_TYPE).json()
    assert body["expires_in"] <= 60
    assert flows.introspect(http, body["access_token"]).json()["exp"] <= int(time.time()) + 60


def test_scope_is_narrowed_and_never_widened(tokens, http):
    assert flows.exchange(http, tokens["access_token"], scope="openid email").json()["scope"] == "openid email"
    body = flows.exchange(http, tokens["access_token"], scope="openid address").json()  # RFC 6749 §3.3
    assert body["scope"] == "openid"


def test_policy_scopes_limit_the_token(tokens, http):
    set_policy(scopes=["openid", "profile"])
    assert flows.exchange(http, tokens["access_token"]).json()["scope"] == "openid profile"
    assert flows.error_of(flows.exchange(http, tokens["access_token"], scope="email")) == "invalid_scope"


def test_audience_and_resource_must_be_listed_in_the_policy(tokens, http):
    """Defect 103: stock lets any audience through when the policy lists none."""
    for param in ("audience", "resource"):
        assert (
            flows.error_of(flows.exchange(http, tokens["access_token"], **{param: "https://api.example"}))
            == "invalid_target"
        )
    set_policy(audiences=["https://api.example"])
    for param in ("audience", "resource"):
        body = flows.exchange(http, tokens["access_token"], **{param: "https://api.example"}).json()
        assert flows.introspect(http, body["access_token"]).json()["aud"] == ["https://api.example"]
    assert (
        flows.error_of(flows.exchange(http, tokens["access_token"], audience="https://other.example"))
        == "invalid_target"
    )


def test_several_audiences_and_resources(tokens, http):
    """RFC 8693 §2.1 and RFC 8707 §2: audience and resource may repeat; every value must be allowed."""
    set_policy(audiences=["rp2", "https://api.example", "https://other.example"])
    body = flows.exchange(
        http, tokens["access_token"], audience=["rp2", "https://api.example"], resource="https://other.example"
    ).json()
    assert sorted(flows.introspect(http, body["access_token"]).json()["aud"]) == [
        "https://api.example",
        "https://other.example",
        "rp2",
    ]
    response = flows.exchange(http, tokens["access_token"], audience=["rp2", "https://evil.example"])
    assert flows.error_of(response) == "invalid_target"
    response = flows.exchange(http, tokens["access_token"], scope=["openid", "email"])
    assert flows.error_of(response) == "invalid_request"  # other parameters still may not repeat


def test_a_client_may_not_exchange_a_token_it_may_not_see(tokens, http):
    """Defect 16: stock lets any authenticated client exchange any token."""
    make_rp2()
    response = flows.exchange(http, tokens["access_token"], "rp2", "other")
    assert flows.error_of(response) == "invalid_request"
    assert response.json()["error_description"] == "Subject token invalid"


def test_a_client_named_in_the_audience_may_exchange_it(tokens, http):
    """Defect 101: the token lands in a grant of the caller, with its usage rules (stock: 60 s) and an audience."""
    make_rp2()
    set_policy(audiences=["rp2"])
    for_rp2 = flows.exchange(http, tokens["access_token"], audience="rp2").json()["access_token"]
    body = flows.exchange(http, for_rp2, "rp2", "other").json()
    assert body["expires_in"] > 3000
    info = flows.introspect(http, body["access_token"], "rp2", "other").json()
    assert info["active"] and info["client_id"] == "rp2" and info["aud"] == ["rp2"] and info["exp"] - info["iat"] > 3000
    assert info["sub"] == flows.jwt_claims(tokens["id_token"])["sub"]
    assert flows.userinfo(http, body["access_token"]).json()["email"] == "alice@example.com"
    assert flows.introspect(http, body["access_token"]).json() == {"active": False}  # rp1 is not its audience
    assert SessionNode.objects.filter(kind=SessionNode.GRANT, client_id="rp2").count() == 1


def test_an_invalid_stored_policy_is_unauthorized_client(tokens, http):
    Client.objects.filter(client_id="rp1").update(token_exchange={"subject_token_types": "access_token"})
    assert flows.error_of(flows.exchange(http, tokens["access_token"])) == "unauthorized_client"


def test_the_exchange_grant_row_keeps_no_client_secret(tokens, http):
    make_rp2("--token-endpoint-auth-method", "client_secret_post")
    set_policy(audiences=["rp2"])
    for_rp2 = flows.exchange(http, tokens["access_token"], audience="rp2").json()["access_token"]
    data = {"grant_type": flows.EXCHANGE, "subject_token": for_rp2, "client_id": "rp2", "client_secret": "other"}
    assert http.post("/oidc/token", data).status_code == 200
    row = SessionNode.objects.get(kind=SessionNode.GRANT, client_id="rp2")
    stored = row.data["exchange_request"]["idpyoidc.message.oauth2.TokenExchangeRequest"]
    assert stored["client_id"] == "rp2" and "client_secret" not in stored and "other" not in str(row.data)


def test_no_grant_key_names_the_op_host(tokens, http):
    """Defect 205: idpyoidc's ``Grant()`` and ``ExchangeGrant()`` draw a ``uuid1`` for the grant's id, the
    last part of its row's key (in the admin and the database): the OP host's MAC address (its last twelve
    hex digits, ``uuid.getnode()``) and the time. Checked on a grant an authorization made and one an
    exchange made."""
    make_rp2("--token-endpoint-auth-method", "client_secret_post")
    set_policy(audiences=["rp2"])
    for_rp2 = flows.exchange(http, tokens["access_token"], audience="rp2").json()["access_token"]
    data = {"grant_type": flows.EXCHANGE, "subject_token": for_rp2, "client_id": "rp2", "client_secret": "other"}
    assert http.post("/oidc/token", data).status_code == 200  # a grant of rp2's
    keys = dict(SessionNode.objects.filter(kind=SessionNode.GRANT).values_list("key", "class_name"))
    assert sorted(keys.values()) == [f"idpyoidc.server.session.grant.{name}" for name in ("ExchangeGrant", "Grant")]
    ids = [key.rpartition(";;")[2] for key in keys]
    assert all(len(grant_id) == 32 for grant_id in ids)
    assert not [grant_id for grant_id in ids if grant_id.endswith(f"{uuid.getnode():012x}")]


def test_a_client_without_the_grant_type_is_unauthorized_client(tokens, http):
    Client.objects.filter(client_id="rp1").update(grant_types=["authorization_code", "refresh_token"])
    assert flows.error_of(flows.exchange(http, tokens["access_token"])) == "unauthorized_client"


def test_the_policy_limits_subject_and_requested_token_types(tokens, http):
    set_policy(subject_token_types=["refresh_token"], requested_token_types=["access_token"])
    assert flows.error_of(flows.exchange(http, tokens["access_token"])) == "invalid_request"
    response = flows.exchange(
        http, tokens["refresh_token"], subject_token_type=flows.RT_TYPE, requested_token_type=flows.RT_TYPE
    )
    assert flows.error_of(response) == "invalid_request"
    assert flows.exchange(http, tokens["refresh_token"], subject_token_type=flows.RT_TYPE).status_code == 200


def test_an_omitted_requested_token_type_is_the_policys_default(tokens, http):
    """Stock checks only a requested_token_type that is present, then issues an access token."""
    set_policy(requested_token_types=["refresh_token"])
    body = flows.exchange(http, tokens["access_token"]).json()
    assert body["issued_token_type"] == flows.RT_TYPE


def test_the_settings_policy_applies_when_the_client_has_none(tokens, http, settings):
    policy = {"subject_token_types": ["refresh_token"], "requested_token_types": ["access_token"]}
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "TOKEN_EXCHANGE_POLICY": policy}
    assert flows.error_of(flows.exchange(http, tokens["access_token"])) == "invalid_request"
    set_policy()
    assert flows.exchange(http, tokens["access_token"]).status_code == 200


@pytest.mark.parametrize("value", ["nonsense", "a.b.c", "Z0FBQUFBQnJCX1Y0" * 20, "id_token", "revoked", "code"])
def test_bad_subject_tokens_are_invalid_request(tokens, browser, http, value):
    """RFC 8693 §2.2.2: an invalid subject token is invalid_request."""
    if value == "revoked":
        flows.revoke(http, tokens["access_token"])
        value = tokens["access_token"]
    elif value == "code":
        value, _ = flows.get_code(browser)
    response = flows.exchange(http, tokens.get(value, value), subject_token_type=None)
    assert flows.error_of(response) == "invalid_request"


def test_an_expired_subject_token_is_invalid_request(offline_rp, browser, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "ACCESS_TOKEN_LIFETIME": 1}
    tokens = flows.offline_tokens(browser, http)
    time.sleep(2.1)
    assert flows.error_of(flows.exchange(http, tokens["access_token"])) == "invalid_request"


@pytest.mark.parametrize(
    "extra",
    [
        {"subject_token_type": flows.RT_TYPE},  # not what the token is
        {"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"},
        {"subject_token_type": "urn:made:up"},
        {"requested_token_type": "urn:made:up"},
        {"requested_token_type": "urn:ietf:params:oauth:token-type:id_token"},
        {"actor_token": "x", "actor_token_type": flows.AT_TYPE},
    ],
)
def test_bad_requests_are_invalid_request(tokens, http, extra):
    assert flows.error_of(flows.exchange(http, tokens["access_token"], **extra)) == "invalid_request"


@pytest.mark.parametrize("extra", [{}, {"subject_token": ""}])
def test_missing_subject_token_is_invalid_request(tokens, http, extra):
    response = flows.token_request(http, {"grant_type": flows.EXCHANGE, "subject_token_type": flows.AT_TYPE, **extra})
    assert flows.error_of(response) == "invalid_request"


def test_exchange_needs_client_authentication(tokens, http):
    assert flows.error_of(flows.exchange(http, tokens["access_token"], secret=None), 401) == "invalid_client"
    assert flows.error_of(flows.exchange(http, tokens["access_token"], secret="wrong"), 401) == "invalid_client"
