"""Userinfo errors follow RFC 6750 §3 (defects 20, 21)."""

import pytest

from oidc_provider.models import SessionNode
from tests import flows


def assert_invalid_token(response):
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert response.json()["error"] == "invalid_token"


def test_no_token_gets_a_bare_challenge(db, http):
    response = http.get("/oidc/userinfo")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ") and "error=" not in response["WWW-Authenticate"]


@pytest.mark.parametrize(
    "header", ["Bearer nonsense", "Bearer ", "Bearer Z0FBQUFB" + "A" * 300, "Basic abc", "Bearer \x7f"]
)
def test_bad_tokens_are_401_invalid_token(db, http, header):
    response = http.get("/oidc/userinfo", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_invalid_token(rp, browser, http):
    code, verifier = flows.get_code(browser)
    token = flows.redeem(http, code, verifier).json()["access_token"]
    flows.change_tokens(lambda token: token.update(revoked=True))
    assert_invalid_token(http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + token))


def test_expired_token_is_invalid_token(rp, browser, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "ACCESS_TOKEN_LIFETIME": -10}
    code, verifier = flows.get_code(browser)
    token = flows.redeem(http, code, verifier).json()["access_token"]
    assert_invalid_token(http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + token))


def test_token_whose_session_rows_are_gone_is_invalid_token(rp, browser, http):
    code, verifier = flows.get_code(browser)
    token = flows.redeem(http, code, verifier).json()["access_token"]
    SessionNode.objects.all().delete()
    assert_invalid_token(http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + token))


def test_code_is_not_an_access_token(rp, browser, http):
    code, _ = flows.get_code(browser)
    assert_invalid_token(http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + code))


def test_id_token_is_not_an_access_token(rp, browser, http):
    code, verifier = flows.get_code(browser)
    id_token = flows.redeem(http, code, verifier).json()["id_token"]
    assert_invalid_token(http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + id_token))
