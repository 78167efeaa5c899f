"""Rate limits on failed client authentication and on the token and introspection endpoints, and
request body size limits (issue 6 hardening; DESIGN.md rule 4)."""

import json

import pytest
from django.test import Client as HttpClient

from tests import flows


@pytest.fixture(autouse=True)
def limits(settings):
    """The default limits (tests/settings.py turns the failure limits off for the other suites),
    plus ``values``."""
    defaults = {k: v for k, v in settings.OIDC_PROVIDER.items() if not k.startswith("CLIENT_AUTHN_FAILURE")}
    settings.OIDC_PROVIDER = defaults

    def configure(**values):
        settings.OIDC_PROVIDER = {**defaults, **values}

    return configure


def assert_throttled(response):
    assert response.status_code == 429, response.content
    assert response.json()["error"] == "temporarily_unavailable"
    assert response["Cache-Control"] == "no-store" and response["Content-Type"] == "application/json"
    assert 1 <= int(response["Retry-After"]) <= 60


def bad_token_request(http, client_id="rp1"):
    return flows.token_request(http, {"grant_type": "authorization_code", "code": "x"}, client_id, "wrong")


def test_failed_client_authentications_lock_the_client_out(rp, http):
    for _ in range(10):
        assert flows.error_of(bad_token_request(http), 401) == "invalid_client"
    assert_throttled(bad_token_request(http))
    # the right secret does not get through during the lockout: that is what stops guessing
    assert_throttled(flows.introspect(http, "anything"))


def test_the_lockout_is_per_client(rp, http):
    flows.make_client("rp2")
    for _ in range(10):
        bad_token_request(http)
    assert flows.introspect(http, "anything", client_id="rp2").json() == {"active": False}


def test_failed_authentications_are_counted_per_address_too(rp, http, limits):
    limits(CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT=(3, 60))
    for n in range(3):
        assert bad_token_request(http, f"nobody{n}").status_code == 401
    assert_throttled(flows.introspect(http, "anything"))
    elsewhere = HttpClient(REMOTE_ADDR="192.0.2.7")
    assert flows.introspect(elsewhere, "anything").json() == {"active": False}


def test_failures_at_introspection_and_revocation_count(rp, http, limits):
    limits(CLIENT_AUTHN_FAILURE_LIMIT=(2, 60))
    assert flows.introspect(http, "t", secret="wrong").status_code == 401
    assert flows.revoke(http, "t", secret="wrong").status_code == 401
    assert_throttled(flows.introspect(http, "t"))


def test_successful_authentications_do_not_count(rp, http):
    for _ in range(15):
        assert flows.introspect(http, "anything").status_code == 200


def test_the_failure_limit_can_be_turned_off(rp, http, limits):
    limits(CLIENT_AUTHN_FAILURE_LIMIT=None, CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT=None)
    for _ in range(15):
        assert bad_token_request(http).status_code == 401


def test_token_requests_per_client(rp, http, limits):
    limits(TOKEN_RATE_LIMIT=(2, 60))
    for _ in range(2):
        assert flows.error_of(flows.token_request(http, {"grant_type": "authorization_code", "code": "x"})) == "invalid_grant"
    assert_throttled(flows.token_request(http, {"grant_type": "authorization_code", "code": "x"}))
    assert flows.introspect(http, "anything").status_code == 200  # introspection has its own limit


def test_introspection_requests_per_client(rp, http, limits):
    limits(INTROSPECTION_RATE_LIMIT=(3, 60))
    flows.make_client("rp2")
    for _ in range(3):
        assert flows.introspect(http, "anything").status_code == 200
    assert_throttled(flows.introspect(http, "anything"))
    assert flows.introspect(http, "anything", client_id="rp2").status_code == 200


def test_claiming_a_client_id_spends_none_of_its_request_quota(rp, http, limits):
    limits(INTROSPECTION_RATE_LIMIT=(2, 60), CLIENT_AUTHN_FAILURE_LIMIT=None)
    for _ in range(5):
        assert flows.introspect(http, "anything", secret="wrong").status_code == 401
    assert flows.introspect(http, "anything").status_code == 200


def test_the_window_ends(rp, http, limits, monkeypatch):
    from types import SimpleNamespace

    from oidc_provider import throttling

    limits(CLIENT_AUTHN_FAILURE_LIMIT=(1, 60))
    clock = SimpleNamespace(now=1_000_040.0)  # 20 s into a window
    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: clock.now))
    bad_token_request(http)
    response = flows.introspect(http, "anything")
    assert_throttled(response)
    assert response["Retry-After"] == "40"
    clock.now += 40
    assert flows.introspect(http, "anything").status_code == 200


# request body size


@pytest.mark.parametrize("path", ["/oidc/token", "/oidc/introspect", "/oidc/revoke", "/oidc/userinfo"])
def test_an_oversized_form_body_is_a_413(rp, http, path):
    response = http.post(path, {"token": "x" * 70_000}, HTTP_AUTHORIZATION=flows.basic())
    assert response.status_code == 413 and response.json()["error"] == "invalid_request"
    assert response["Cache-Control"] == "no-store"


def test_an_oversized_registration_is_a_413(http):
    body = json.dumps({"redirect_uris": ["https://rp.example/cb"], "client_name": "x" * 70_000})
    response = http.post("/oidc/register", body, content_type="application/json")
    assert response.status_code == 413 and response.json()["error"] == "invalid_request"


def test_the_body_limit_is_configurable(rp, http, limits):
    limits(MAX_REQUEST_BODY=1000)
    assert http.post("/oidc/introspect", {"token": "x" * 2000}, HTTP_AUTHORIZATION=flows.basic()).status_code == 413
    assert http.post("/oidc/introspect", {"token": "x" * 500}, HTTP_AUTHORIZATION=flows.basic()).status_code == 200


def test_djangos_upload_limits_get_a_json_answer(rp, http, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = http.post("/oidc/introspect", {"token": "x" * 500}, HTTP_AUTHORIZATION=flows.basic())
    assert response.status_code == 413 and response.json()["error"] == "invalid_request"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = None
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = http.post("/oidc/introspect", {f"p{i}": "1" for i in range(10)}, HTTP_AUTHORIZATION=flows.basic())
    assert response.status_code == 413 and response.json()["error"] == "invalid_request"


def test_a_bad_content_length_is_a_400(rp, http):
    response = http.generic("POST", "/oidc/token", b"", CONTENT_LENGTH="nope")
    assert flows.error_of(response) == "invalid_request"


class BrokenCache:
    def __getattr__(self, name):
        raise ConnectionError("cache down")


def test_an_unreachable_cache_fails_open(rp, http, monkeypatch):
    from oidc_provider import throttling

    monkeypatch.setattr(throttling, "_cache", lambda: BrokenCache())
    for _ in range(12):
        assert bad_token_request(http).status_code == 401
    assert flows.introspect(http, "anything").status_code == 200


def test_the_limits_are_read_in_one_cache_round_trip(rp, http, limits, monkeypatch):
    """A token request is within three limits (its client's failures, its address's, its client's
    requests): one ``get_many``, never a ``get`` each."""
    from django.core.cache import caches

    from oidc_provider import throttling

    calls = []

    class Recording:
        def __getattr__(self, name):
            method = getattr(caches["default"], name)
            return lambda *args, **kwargs: calls.append((name, len(args[0]) if name == "get_many" else 1)) or method(
                *args, **kwargs)

    limits(TOKEN_RATE_LIMIT=(100, 60))
    monkeypatch.setattr(throttling, "_cache", Recording)
    response = flows.token_request(http, {"grant_type": "client_credentials"})
    assert flows.error_of(response) == "unauthorized_client"  # authenticated: counted as a request
    assert calls[0] == ("get_many", 3) and [name for name, _ in calls].count("get_many") == 1
    assert "get" not in [name for name, _ in calls]
    calls.clear()
    assert flows.error_of(bad_token_request(http), 401) == "invalid_client"
    assert calls[0] == ("get_many", 3) and "get" not in [name for name, _ in calls]
