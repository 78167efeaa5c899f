"""Codes, tokens, client secrets, registration access tokens and passwords never reach a log
record, whatever level the site logs at (issue 6 hardening; idpyoidc logs
them at INFO and DEBUG, and its ``sanitize()`` is a no-op)."""

import json
import logging

import pytest
from django.contrib.auth import get_user_model

from tests import flows

LOGGERS = ("", "django", "django.request", "idpyoidc", "cryptojwt", "oidc_provider")
SECRET = "client-secret-7f3a9c2e41d8b6"
PASSWORD = "pass-word-5e8d1b9c3a7f"


@pytest.fixture
def debug_logs(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def run_every_flow(http, browser):
    """Registration, client configuration read, code, token, userinfo, refresh, introspection,
    revocation: every secret that went over the wire, by name."""
    seen = {"client_secret": SECRET, "password": PASSWORD}
    registered = http.post(
        "/oidc/register", json.dumps({"redirect_uris": [flows.REDIRECT_URI]}), content_type="application/json"
    ).json()
    seen["registered client_secret"] = registered["client_secret"]
    seen["registration_access_token"] = registered["registration_access_token"]
    read = http.get(
        f"/oidc/register/client?client_id={registered['client_id']}",
        HTTP_AUTHORIZATION="Bearer " + registered["registration_access_token"],
    )
    assert read.status_code == 200

    flows.make_offline_client("rp1", SECRET)
    code, verifier = flows.get_code(browser, scope=flows.OFFLINE_SCOPE, prompt="consent")
    seen["code"], seen["code_verifier"] = code, verifier
    tokens = flows.redeem(http, code, verifier, "rp1", SECRET).json()
    for name in ("access_token", "refresh_token", "id_token"):
        seen[name] = tokens[name]
    assert flows.userinfo(http, tokens["access_token"]).status_code == 200
    refreshed = flows.refresh(http, tokens["refresh_token"], secret=SECRET).json()
    seen["refreshed access_token"], seen["refreshed refresh_token"] = (
        refreshed["access_token"],
        refreshed["refresh_token"],
    )
    assert flows.introspect(http, refreshed["access_token"], secret=SECRET).json()["active"] is True
    # failures log too: a wrong secret, a replayed code, a replayed (rotated-out) refresh token
    assert flows.introspect(http, "x", secret=SECRET + "-wrong").status_code == 401
    seen["wrong secret"] = SECRET + "-wrong"
    assert flows.redeem(http, code, verifier, "rp1", SECRET).status_code == 400
    assert flows.refresh(http, tokens["refresh_token"], secret=SECRET).status_code == 400
    assert flows.revoke(http, refreshed["refresh_token"], secret=SECRET).status_code == 200
    return seen


def leaked(caplog, seen):
    text = caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    # the tail of each: a JWT's head is shared by every token, a truncated secret still leaks its tail
    return sorted(name for name, secret in seen.items() if secret[-16:] in text)


@pytest.fixture
def browser_with_password(db):
    from django.test import Client as HttpClient

    get_user_model().objects.create_user("alice", "alice@example.com", PASSWORD)
    browser = HttpClient()
    assert browser.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    browser.login(username="alice", password=PASSWORD)
    return browser


def test_no_secret_is_logged_at_debug(debug_logs, http, browser_with_password):
    seen = run_every_flow(http, browser_with_password)
    assert debug_logs.records, "nothing was logged: the test would prove nothing"
    assert any(r.name.startswith("idpyoidc") and r.levelno == logging.DEBUG for r in debug_logs.records)
    assert leaked(debug_logs, seen) == []


@pytest.mark.parametrize(
    "message",
    [
        "request: {'grant_type': 'refresh_token', 'refresh_token': 'abc'}",
        'body: {"client_secret": "abc", "x": 1}',
        "grant_type=authorization_code&code=abc&code_verifier=abc",
        "headers: {'authorization': 'Basic cnAxOmFiYw=='}",
        "Bearer abc",
    ],
)
def test_redaction_of_short_secrets_by_name(message):
    from oidc_provider.redaction import redact

    redacted = redact(message)
    assert "abc" not in redacted and "cnAxOmFiYw" not in redacted and "[redacted]" in redacted


def test_a_late_logger_of_idpyoidc_is_filtered_after_the_server_is_built(http, debug_logs):
    from oidc_provider.redaction import RedactSecrets

    http.get("/oidc/.well-known/openid-configuration")
    assert any(isinstance(f, RedactSecrets) for f in logging.getLogger("idpyoidc.server.oidc.registration").filters)
