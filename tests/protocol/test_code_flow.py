"""The authorization code flow (OIDC Core §3.1) through the OP's views."""

import time

from oidc_provider.models import SessionNode
from oidc_provider.server import reset_server
from tests import flows


def test_unauthenticated_request_redirects_to_login_and_resumes(rp, user, http):
    verifier, challenge = flows.pkce_pair()
    browser = http
    response = browser.get("/oidc/authorize", flows.auth_params(challenge))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/oidc/authorize/resume")
    resume = flows.query(response)["next"]
    login = browser.post("/accounts/login/", {"username": "alice", "password": "pw", "next": resume})
    assert login["Location"] == resume
    consent = browser.get(resume)
    assert consent["Location"].startswith("/oidc/consent?k=")
    page = browser.get(consent["Location"])
    assert b"rp1" in page.content and b"email" in page.content
    done = browser.post("/oidc/consent", {"k": flows.query(consent)["k"], "decision": "allow"})
    params = flows.query(done)
    assert done["Location"].startswith(flows.REDIRECT_URI)
    assert params["state"] == "st-1" and params["iss"] == "http://testserver/oidc" and params["code"]


def test_code_redeems_for_tokens_and_userinfo(rp, browser, http):
    code, verifier = flows.get_code(browser)
    response = flows.redeem(http, code, verifier)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 3500
    assert "refresh_token" not in tokens  # no offline_access
    claims = flows.jwt_claims(tokens["id_token"])
    assert claims["iss"] == "http://testserver/oidc"
    assert claims["aud"] == ["rp1"] and claims["nonce"] == "n-1"
    assert claims["exp"] > claims["iat"] >= claims["auth_time"]
    info = http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + tokens["access_token"])
    assert info.status_code == 200
    assert info.json()["sub"] == claims["sub"]
    assert info.json()["email"] == "alice@example.com"


def test_userinfo_accepts_post_with_token_in_body(rp, browser, http):
    code, verifier = flows.get_code(browser)
    token = flows.redeem(http, code, verifier).json()["access_token"]
    response = http.post("/oidc/userinfo", {"access_token": token})
    assert response.status_code == 200 and response.json()["preferred_username"] == "alice"


def test_authorization_endpoint_accepts_post(rp, browser, http):
    """OIDC Core §3.1.2.1: the authorization endpoint MUST support GET and POST."""
    verifier, challenge = flows.pkce_pair()
    browser.get("/oidc/authorize", flows.auth_params(challenge))  # consent once
    response = flows.authorize(browser, challenge)
    code = flows.query(response)["code"]
    response = browser.post("/oidc/authorize", flows.auth_params(challenge))
    assert response.status_code == 302 and "code" in flows.query(response)
    assert code != flows.query(response)["code"]


def test_code_is_single_use_and_replay_revokes_its_tokens(rp, browser, http):
    """RFC 6749 §4.1.2: a replayed code fails and the tokens issued from it are revoked."""
    code, verifier = flows.get_code(browser)
    token = flows.redeem(http, code, verifier).json()["access_token"]
    replay = flows.redeem(http, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    info = http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + token)
    assert info.status_code == 401


def test_code_minted_by_one_server_is_redeemed_by_another(rp, browser, http):
    """Defect 9: opaque-token and session-id keys come from settings, not per-process randoms."""
    code, verifier = flows.get_code(browser)
    reset_server()  # a new idpyoidc Server, as in another worker process
    response = flows.redeem(http, code, verifier)
    assert response.status_code == 200
    reset_server()
    info = http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + response.json()["access_token"])
    assert info.status_code == 200


def test_sub_is_stable_across_servers_and_not_the_primary_key(rp, browser, http, user):
    code, verifier = flows.get_code(browser)
    sub1 = flows.jwt_claims(flows.redeem(http, code, verifier).json()["id_token"])["sub"]
    reset_server()
    code, verifier = flows.get_code(browser)
    sub2 = flows.jwt_claims(flows.redeem(http, code, verifier).json()["id_token"])["sub"]
    assert sub1 == sub2 and sub1 != str(user.pk) and len(sub1) == 64


def test_sub_can_be_the_user_id(rp, browser, http, user, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SUBJECT_IDENTIFIER": "user_id"}
    code, verifier = flows.get_code(browser)
    assert flows.jwt_claims(flows.redeem(http, code, verifier).json()["id_token"])["sub"] == str(user.pk)


def test_numeric_user_ids_that_look_like_base64_work(rp, http, django_user_model):
    """Defect 1: the stock _unwrap_identity crashes on uid "140" (valid base64, not JSON)."""
    django_user_model.objects.create_user("u140", password="pw", id=140)
    browser = http.__class__()
    browser.login(username="u140", password="pw")
    code, verifier = flows.get_code(browser)
    assert flows.redeem(http, code, verifier).status_code == 200


def test_auth_time_is_the_login_time(rp, browser, http):
    """Defect 2: stock idpyoidc reports the time of the authorization request as auth_time."""
    session = browser.session
    login_time = int(time.time()) - 1234
    session["oidc_provider.auth_time"] = login_time
    session.save()
    code, verifier = flows.get_code(browser)
    claims = flows.jwt_claims(flows.redeem(http, code, verifier).json()["id_token"])
    assert claims["auth_time"] == login_time


def test_userinfo_works_long_after_login(rp, browser, http):
    """Defect 3: stock userinfo crashes once login time + 3600 s has passed."""
    session = browser.session
    session["oidc_provider.auth_time"] = int(time.time()) - 7200
    session.save()
    code, verifier = flows.get_code(browser)
    token = flows.redeem(http, code, verifier).json()["access_token"]
    assert http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + token).status_code == 200


def test_tokens_do_not_leave_junk_rows(rp, browser, http):
    """Defect 30: mint_token re-stores the grant under its encrypted session id."""
    code, verifier = flows.get_code(browser)
    flows.redeem(http, code, verifier)
    keys = list(SessionNode.objects.values_list("key", "kind"))
    assert sorted(kind for _, kind in keys) == ["client", "grant", "user"]
    assert all(key.split(";;")[0] == key.split(";;")[0].strip() and len(key) < 100 for key, _ in keys)


def test_second_login_to_same_client_adds_a_grant_without_losing_the_first(rp, browser, http):
    first = flows.redeem(http, *flows.get_code(browser)).json()["access_token"]
    second = flows.redeem(http, *flows.get_code(browser)).json()["access_token"]
    assert SessionNode.objects.filter(kind="grant").count() == 2
    for token in (first, second):
        assert http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + token).status_code == 200


def test_id_token_has_at_hash_of_the_access_token(rp, browser, http):
    """Defect 32: stock idpyoidc mints the ID token without the access token, so no at_hash."""
    import base64
    import hashlib

    code, verifier = flows.get_code(browser)
    tokens = flows.redeem(http, code, verifier).json()
    digest = hashlib.sha256(tokens["access_token"].encode()).digest()
    expected = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert flows.jwt_claims(tokens["id_token"])["at_hash"] == expected


def test_no_idpyoidc_cookie_is_made_or_sent(rp, browser, http, monkeypatch):
    """The OP's browser session is Django's: idpyoidc's own cookies are neither sent nor made (it would
    sign and encrypt one per authorization and token response)."""
    from idpyoidc.server.cookie_handler import CookieHandler

    made = []
    monkeypatch.setattr(CookieHandler, "_sign_enc_payload", lambda self, *args: made.append(args) or "x")
    code, verifier = flows.get_code(browser)
    response = flows.redeem(http, code, verifier)
    assert response.status_code == 200
    assert not response.cookies
    assert not [c for c in browser.cookies if c.startswith("oidc_op")], list(browser.cookies)
    assert made == []
