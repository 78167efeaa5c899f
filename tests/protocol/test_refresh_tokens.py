"""Refresh tokens (RFC 6749 §6, OIDC Core §11-12, RFC 9700 §4.14): offline access, rotation, replay."""

import time

import pytest

from oidc_provider.consent import ConsentPolicy
from oidc_provider.crypto import token_digest
from oidc_provider.models import Client, Consent, IssuedToken, SessionNode
from oidc_provider.storage.revocation import revoke_nodes
from tests import flows


def grant_tokens(token_class):
    return flows.stored_tokens(token_class=token_class)


def test_offline_access_with_prompt_consent_gives_a_refresh_token(tokens):
    assert tokens["refresh_token"] and tokens["scope"] == flows.OFFLINE_SCOPE


def test_no_refresh_token_without_offline_access(offline_rp, browser, http):
    code, verifier = flows.get_code(browser)
    assert "refresh_token" not in flows.redeem(http, code, verifier).json()


def test_offline_access_without_prompt_consent_is_asked_for_on_the_consent_page(offline_rp, browser, http):
    """Defect 40: stock refuses the whole request without prompt=consent; OIDC Core §11 lets the OP
    grant offline access when other conditions permit it: here, the user allowing it on the page."""
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, scope=flows.OFFLINE_SCOPE))
    page = browser.get(response["Location"])
    assert b'<li data-scope="offline_access">' in page.content
    code, verifier = flows.get_code(browser, scope=flows.OFFLINE_SCOPE)
    response = flows.redeem(http, code, verifier).json()
    assert response["refresh_token"] and response["scope"] == flows.OFFLINE_SCOPE


def test_remembered_consent_to_offline_access_grants_it_without_asking(offline_rp, browser, http):
    """Defect 40: an unexpired consent that covers offline_access is another condition (OIDC Core §11)."""
    flows.offline_tokens(browser, http)  # allowed on the consent page, with prompt=consent
    verifier, challenge = flows.pkce_pair()
    response = browser.get("/oidc/authorize", flows.auth_params(challenge, scope=flows.OFFLINE_SCOPE))
    code = flows.query(response)["code"]  # no consent page
    response = flows.redeem(http, code, verifier).json()
    assert response["refresh_token"] and response["scope"] == flows.OFFLINE_SCOPE


@pytest.mark.parametrize("consent", ["without offline_access", "expired"])
def test_offline_access_nobody_consented_to_is_ignored_with_prompt_none(offline_rp, browser, http, consent):
    """Defect 40: with prompt=none no page may ask, so offline_access without a consent that covers it
    is ignored (OIDC Core §11): a code without it, or consent_required when nothing is consented."""
    if consent == "expired":
        flows.offline_tokens(browser, http)
        Consent.objects.update(expires_at="2000-01-01T00:00:00Z")
    else:
        flows.get_code(browser)  # openid profile email allowed
    verifier, challenge = flows.pkce_pair()
    response = browser.get("/oidc/authorize", flows.auth_params(challenge, scope=flows.OFFLINE_SCOPE, prompt="none"))
    params = flows.query(response)
    if consent == "expired":
        assert params["error"] == "consent_required"
        return
    response = flows.redeem(http, params["code"], verifier).json()
    assert "refresh_token" not in response and response["scope"] == "openid profile email"


def test_a_consent_policy_that_never_asks_grants_no_offline_access(offline_rp, browser, http, settings):
    """The grant never holds offline_access without a consent to it, whatever CONSENT_POLICY says."""
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "CONSENT_POLICY": "tests.protocol.test_refresh_tokens.NeverAsk"}
    code, verifier = flows.get_code(browser, scope=flows.OFFLINE_SCOPE)
    response = flows.redeem(http, code, verifier).json()
    assert "refresh_token" not in response and response["scope"] == "openid profile email"


class NeverAsk(ConsentPolicy):
    def needs_consent(self, user, client, scopes, prompt, claims=()) -> bool:
        return False


def test_trusted_client_gets_offline_access_without_prompt_consent(db, browser, http):
    """Defect 40: for a trusted (skip_consent) client, the administrator's trust is the other condition."""
    flows.make_offline_client("rp1", "s3cret", "--skip-consent")
    code, verifier = flows.get_code(browser, scope=flows.OFFLINE_SCOPE)
    response = flows.redeem(http, code, verifier).json()
    assert response["refresh_token"] and response["scope"] == flows.OFFLINE_SCOPE


def test_client_without_refresh_grant_gets_no_offline_access(db, browser, http):
    flows.make_client("rp1", "s3cret", "--scope", "")  # every scope allowed, but grant types: authorization_code
    code, verifier = flows.get_code(browser, scope=flows.OFFLINE_SCOPE, prompt="consent")
    response = flows.redeem(http, code, verifier).json()
    assert "refresh_token" not in response and "offline_access" not in response["scope"]


def test_refresh_gives_new_tokens_and_a_fresh_id_token(tokens, http):
    time.sleep(1)  # a later iat
    response = flows.refresh(http, tokens["refresh_token"])
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    new = response.json()
    assert set(new) == {"access_token", "token_type", "expires_in", "scope", "refresh_token", "id_token"}
    assert new["token_type"] == "Bearer" and 3590 <= new["expires_in"] <= 3600
    assert new["scope"] == flows.OFFLINE_SCOPE
    assert new["access_token"] != tokens["access_token"] and new["refresh_token"] != tokens["refresh_token"]
    first, fresh = flows.jwt_claims(tokens["id_token"]), flows.jwt_claims(new["id_token"])
    for claim in ("iss", "sub", "aud", "auth_time"):  # OIDC Core §12.2
        assert fresh[claim] == first[claim]
    assert fresh["iat"] > first["iat"] and fresh["at_hash"] != first["at_hash"]
    assert flows.userinfo(http, new["access_token"]).json()["email"] == "alice@example.com"


def test_rotation_retires_the_old_refresh_token(tokens, http):
    """Defect 12: stock leaves a rotated-out refresh token valid."""
    assert flows.refresh(http, tokens["refresh_token"]).status_code == 200
    assert flows.error_of(flows.refresh(http, tokens["refresh_token"])) == "invalid_grant"


def assert_family_revoked(http, tokens, new):
    assert flows.error_of(flows.refresh(http, new["refresh_token"])) == "invalid_grant"
    for access_token in (tokens["access_token"], new["access_token"]):
        assert flows.userinfo(http, access_token).status_code == 401
        assert flows.introspect(http, access_token).json() == {"active": False}
    assert SessionNode.objects.get(kind=SessionNode.GRANT).revoked


def test_replay_of_a_rotated_out_refresh_token_revokes_the_family(tokens, http, settings):
    """Defect 43, RFC 9700 §4.14.2: the replay means two holders; every token of the grant dies.
    (With no reuse window: every second presentation is a replay.)"""
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REFRESH_TOKEN_REUSE_WINDOW": 0}
    new = flows.refresh(http, tokens["refresh_token"]).json()
    replay = flows.refresh(http, tokens["refresh_token"])
    assert flows.error_of(replay) == "invalid_grant" and "revoked" in replay.json()["error_description"]
    assert_family_revoked(http, tokens, new)


def test_replay_of_a_refresh_token_whose_row_is_gone_revokes_the_family(tokens, http):
    """A token's row may be gone (clearexpired deletes expired ones; a grant's row prunes its own): the
    expiry sealed in the token still tells a replay from an expired token."""
    new = flows.refresh(http, tokens["refresh_token"]).json()
    newer = flows.refresh(http, new["refresh_token"]).json()
    assert IssuedToken.objects.filter(digest=token_digest(tokens["refresh_token"])).delete()[0] == 1
    assert flows.error_of(flows.refresh(http, tokens["refresh_token"])) == "invalid_grant"
    assert flows.error_of(flows.refresh(http, newer["refresh_token"])) == "invalid_grant"
    assert flows.userinfo(http, newer["access_token"]).status_code == 401


def test_retried_refresh_within_the_reuse_window_revokes_nothing(tokens, http):
    """A lost token response retried, or two tabs refreshing at once: the second presentation of the
    token just rotated out is refused, and the winner's new tokens keep working (RFC 9700 §4.14.2
    is for replays, not retries)."""
    new = flows.refresh(http, tokens["refresh_token"]).json()
    retry = flows.refresh(http, tokens["refresh_token"])
    assert retry.status_code == 400 and retry.json() == {
        "error": "invalid_grant",
        "error_description": "Refresh token already used",
    }
    assert flows.userinfo(http, new["access_token"]).status_code == 200
    assert flows.refresh(http, new["refresh_token"]).status_code == 200
    assert not SessionNode.objects.get(kind=SessionNode.GRANT).revoked


def age_successors(seconds):
    """Move every refresh token's issue time back: the clock of the reuse window, controlled."""

    def age(token):
        if token["token_class"] == "refresh_token":
            token["issued_at"] -= seconds

    flows.change_tokens(age)


def test_replay_after_the_reuse_window_revokes_the_family(tokens, http):
    new = flows.refresh(http, tokens["refresh_token"]).json()
    age_successors(5)  # REFRESH_TOKEN_REUSE_WINDOW, the default
    replay = flows.refresh(http, tokens["refresh_token"])
    assert replay.json() == {
        "error": "invalid_grant",
        "error_description": "Refresh token reused: every token of this grant is revoked",
    }
    assert_family_revoked(http, tokens, new)


def test_rotated_out_refresh_token_replayed_by_another_client_revokes_the_family(tokens, http):
    """The window forgives a retry by the token's own client only: another client holding the token
    means it leaked. The other client learns nothing about the token (the same answer as for a live one)."""
    flows.make_offline_client("rp2", "s3cret2")
    new = flows.refresh(http, tokens["refresh_token"]).json()
    replay = flows.refresh(http, tokens["refresh_token"], client_id="rp2", secret="s3cret2")
    assert replay.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    assert_family_revoked(http, tokens, new)


def test_a_live_refresh_token_presented_by_another_client_kills_nothing(tokens, http):
    flows.make_offline_client("rp2", "s3cret2")
    refused = flows.refresh(http, tokens["refresh_token"], client_id="rp2", secret="s3cret2")
    assert refused.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    assert flows.refresh(http, tokens["refresh_token"]).status_code == 200


def test_a_rotated_out_refresh_token_keeps_its_row_revoked_until_it_expires(tokens, http):
    """Its own row, marked used and revoked (``clearexpired`` deletes it once expired): the grant's row
    never holds it, so the grant's row does not grow with each refresh."""
    new = flows.refresh(http, tokens["refresh_token"]).json()
    age_successors(5)
    newer = flows.refresh(http, new["refresh_token"]).json()
    stored = grant_tokens("refresh_token")
    assert [t["value"] for t in stored] == [token_digest(v) for v in (tokens, new, newer) for v in [v["refresh_token"]]]
    assert [(t["revoked"], t["used"] > 0) for t in stored] == [(True, True), (True, True), (False, False)]
    in_row = SessionNode.objects.get(kind=SessionNode.GRANT).data["issued_token"]
    assert sorted(t["token_class"] for item in in_row for t in item.values()) == ["authorization_code", "id_token"]


def test_an_expired_refresh_token_is_invalid_grant_and_kills_nothing(offline_rp, browser, http, settings):
    """Idle lifetime: REFRESH_TOKEN_LIFETIME. An expired token is no replay: the family lives on."""
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REFRESH_TOKEN_LIFETIME": 1}
    tokens = flows.offline_tokens(browser, http)
    time.sleep(2.1)
    assert flows.error_of(flows.refresh(http, tokens["refresh_token"])) == "invalid_grant"
    assert flows.userinfo(http, tokens["access_token"]).status_code == 200


def test_refresh_tokens_never_outlive_the_absolute_lifetime(offline_rp, browser, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REFRESH_TOKEN_ABSOLUTE_LIFETIME": 120}
    tokens = flows.offline_tokens(browser, http)
    issued_at = SessionNode.objects.get(kind=SessionNode.GRANT).data["issued_at"]
    assert flows.introspect(http, tokens["refresh_token"]).json()["exp"] == issued_at + 120
    time.sleep(1)
    new = flows.refresh(http, tokens["refresh_token"]).json()
    assert flows.introspect(http, new["refresh_token"]).json()["exp"] == issued_at + 120


def test_idle_lifetime_is_counted_from_each_rotation(offline_rp, browser, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REFRESH_TOKEN_LIFETIME": 500}
    tokens = flows.offline_tokens(browser, http)
    info = flows.introspect(http, tokens["refresh_token"]).json()
    assert info["exp"] - info["iat"] == 500


def test_an_expired_grant_is_invalid_grant(offline_rp, browser, http, settings):
    # long enough for the code, made with the grant, to be redeemed on a loaded machine
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "GRANT_LIFETIME": 3}
    tokens = flows.offline_tokens(browser, http)
    time.sleep(4.1)
    assert flows.error_of(flows.refresh(http, tokens["refresh_token"])) == "invalid_grant"


def test_narrower_scope_is_honoured_and_the_refresh_token_keeps_its_scope(tokens, http):
    """RFC 6749 §6: the access token may be narrower; a new refresh token has the old one's scope (defect 44)."""
    narrow = flows.refresh(http, tokens["refresh_token"], scope="openid offline_access").json()
    assert narrow["scope"] == "openid offline_access"
    assert "email" not in flows.userinfo(http, narrow["access_token"]).json()
    assert flows.introspect(http, narrow["refresh_token"]).json()["scope"] == flows.OFFLINE_SCOPE
    full = flows.refresh(http, narrow["refresh_token"]).json()
    assert full["scope"] == flows.OFFLINE_SCOPE


def test_narrowing_away_offline_access_still_rotates(tokens, http):
    """Defect 44: stock issues no new refresh token then, having revoked the old one: offline access lost."""
    narrow = flows.refresh(http, tokens["refresh_token"], scope="openid profile").json()
    assert narrow["scope"] == "openid profile" and "id_token" in narrow
    assert flows.refresh(http, narrow["refresh_token"]).status_code == 200


def test_narrowing_away_openid_gives_no_id_token(tokens, http):
    narrow = flows.refresh(http, tokens["refresh_token"], scope="profile offline_access").json()
    assert "id_token" not in narrow and narrow["refresh_token"]


def test_wider_scope_is_invalid_scope(tokens, http):
    """Defect 42: stock answers invalid_request."""
    assert flows.error_of(flows.refresh(http, tokens["refresh_token"], scope="openid address")) == "invalid_scope"
    assert flows.refresh(http, tokens["refresh_token"]).status_code == 200  # not spent by the refusal


def test_another_clients_refresh_token_is_invalid_grant_and_kills_nothing(tokens, http):
    flows.make_offline_client("rp2", "other")
    assert flows.error_of(flows.refresh(http, tokens["refresh_token"], "rp2", "other")) == "invalid_grant"
    assert flows.refresh(http, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("value", ["nonsense", "Z0FBQUFBQnJCX1Y0" * 20, "a.b.c", "access", "code", "id"])
def test_unknown_or_wrong_refresh_tokens_are_invalid_grant(tokens, http, value):
    value = {"access": tokens["access_token"], "id": tokens["id_token"]}.get(value, value)
    assert flows.error_of(flows.refresh(http, value)) == "invalid_grant"


def test_an_authorization_code_is_not_a_refresh_token(offline_rp, browser, http):
    code, _ = flows.get_code(browser, scope=flows.OFFLINE_SCOPE, prompt="consent")
    assert flows.error_of(flows.refresh(http, code)) == "invalid_grant"


@pytest.mark.parametrize("extra", [{}, {"refresh_token": ""}])
def test_missing_refresh_token_is_invalid_request(offline_rp, http, extra):
    response = flows.token_request(http, {"grant_type": "refresh_token", **extra})
    assert flows.error_of(response) == "invalid_request"


def test_client_without_the_refresh_grant_is_unauthorized_client(tokens, http):
    Client.objects.filter(client_id="rp1").update(grant_types=["authorization_code"])
    assert flows.error_of(flows.refresh(http, tokens["refresh_token"])) == "unauthorized_client"


def test_refresh_needs_client_authentication(tokens, http):
    assert flows.error_of(flows.refresh(http, tokens["refresh_token"], secret=None), 401) == "invalid_client"
    assert flows.error_of(flows.refresh(http, tokens["refresh_token"], secret="wrong"), 401) == "invalid_client"


def test_a_revoked_grant_refuses_its_refresh_token(tokens, http):
    revoke_nodes(SessionNode.objects.filter(kind=SessionNode.GRANT))
    assert flows.error_of(flows.refresh(http, tokens["refresh_token"])) == "invalid_grant"


def test_a_revoked_grant_whose_tokens_look_active_refuses_them(tokens, http):
    """Defect 6: idpyoidc's logout marks grants revoked but not their tokens."""
    grant = SessionNode.objects.get(kind=SessionNode.GRANT)
    grant.data["revoked"] = True
    grant.save()
    assert flows.error_of(flows.refresh(http, tokens["refresh_token"])) == "invalid_grant"


def test_public_client_refreshes_with_rotation(db, browser, http):
    tokens = flows.public_offline_tokens(browser, http)
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "spa"}
    assert http.post("/oidc/token", data).status_code == 200
    assert flows.error_of(http.post("/oidc/token", data)) == "invalid_grant"


def test_the_grant_row_stays_the_same_size_however_often_it_is_refreshed(tokens, http):
    """idpyoidc keeps every token in the grant; here the tokens minted by a refresh have rows of their
    own, and the grant's row keeps the code it was made with and its latest ID token."""
    sizes = []
    refresh_token = tokens["refresh_token"]
    for _ in range(12):
        refresh_token = flows.refresh(http, refresh_token).json()["refresh_token"]
        sizes.append(len(str(SessionNode.objects.get(kind=SessionNode.GRANT).data)))
    # a few bytes may move (the use count gains a digit, a timestamp one more); a kept token is ~330 bytes
    assert max(sizes) - min(sizes) <= 16, sizes
    assert len(grant_tokens("refresh_token")) == 13 and len(grant_tokens("access_token")) == 13
    assert len(grant_tokens("id_token")) == 1
