"""Rate limits on failed client authentication, on the token, introspection and registration
endpoints, the client address they count, and request body size limits (issue 6 hardening;
issue 15). The lockout attacks are in tests/hostile/test_lockout.py."""

import base64
import json

import pytest
from django.test import Client as HttpClient

from tests import flows


@pytest.fixture(autouse=True)
def limits(settings):
    """The default limits (tests/settings.py turns the failure and registration limits off for the
    other suites), plus ``values``."""
    defaults = {
        k: v
        for k, v in settings.OIDC_PROVIDER.items()
        if not k.startswith("CLIENT_AUTHN_FAILURE") and k != "REGISTRATION_RATE_LIMIT"
    }
    settings.OIDC_PROVIDER = defaults

    def configure(**values):
        settings.OIDC_PROVIDER = {**defaults, **values}

    return configure


def assert_throttled(response, window=60):
    assert response.status_code == 429, response.content
    assert response.json()["error"] == "temporarily_unavailable"
    assert response["Cache-Control"] == "no-store" and response["Content-Type"] == "application/json"
    assert 1 <= int(response["Retry-After"]) <= window


def bad_token_request(http, client_id="rp1"):
    return flows.token_request(http, {"grant_type": "authorization_code", "code": "x"}, client_id, "wrong")


def test_failures_past_the_limit_are_answered_429(rp, http):
    for _ in range(10):
        assert flows.error_of(bad_token_request(http), 401) == "invalid_client"
    assert_throttled(bad_token_request(http))
    assert_throttled(flows.introspect(http, "anything", secret="wrong"))
    # the right secret is still served: a failure counter never refuses a correct authentication
    assert flows.introspect(http, "anything").json() == {"active": False}


def test_the_lockout_is_per_client(rp, http):
    flows.make_client("rp2")
    for _ in range(10):
        bad_token_request(http)
    assert flows.introspect(http, "anything", client_id="rp2").json() == {"active": False}


def test_failed_authentications_are_counted_per_address_too(rp, http, limits):
    limits(CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT=(3, 60))
    for n in range(3):
        assert bad_token_request(http, f"nobody{n}").status_code == 401
    assert_throttled(flows.introspect(http, "anything", secret="wrong"))
    assert flows.introspect(http, "anything").json() == {"active": False}
    elsewhere = HttpClient(REMOTE_ADDR="192.0.2.7")
    assert flows.error_of(flows.introspect(elsewhere, "anything", secret="wrong"), 401) == "invalid_client"


def test_failures_at_introspection_and_revocation_count(rp, http, limits):
    limits(CLIENT_AUTHN_FAILURE_LIMIT=(2, 60))
    assert flows.introspect(http, "t", secret="wrong").status_code == 401
    assert flows.revoke(http, "t", secret="wrong").status_code == 401
    assert_throttled(flows.revoke(http, "t", secret="wrong"))
    assert flows.revoke(http, "t").status_code == 200


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
        assert (
            flows.error_of(flows.token_request(http, {"grant_type": "authorization_code", "code": "x"}))
            == "invalid_grant"
        )
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
    assert bad_token_request(http).status_code == 401
    response = bad_token_request(http)
    assert_throttled(response)
    assert response["Retry-After"] == "40"
    clock.now += 40
    assert bad_token_request(http).status_code == 401


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


def test_a_correct_authentication_reads_no_failure_counter(rp, http, limits, monkeypatch):
    """A request that authenticates touches no failure counter (none can refuse it), and with no
    request limit configured makes no cache round trip at all; a failure is one ``incr`` per limit."""
    from django.core.cache import caches

    from oidc_provider import throttling

    calls = []

    class Recording:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(caches["default"], name)

    monkeypatch.setattr(throttling, "_cache", Recording)
    assert flows.introspect(http, "anything").status_code == 200
    assert calls == []
    limits(INTROSPECTION_RATE_LIMIT=(100, 60))
    assert flows.introspect(http, "anything").status_code == 200
    assert calls == ["incr", "add"]  # the window's first request starts its count
    calls.clear()
    assert flows.error_of(flows.introspect(http, "anything", secret="wrong"), 401) == "invalid_client"
    assert calls == ["incr", "add", "incr", "add"]  # the client at its address; the address


# registration


def register(http, **extra):
    body = json.dumps({"redirect_uris": ["https://rp.example/cb"]})
    return http.post("/oidc/register", body, content_type="application/json", **extra)


def test_registration_is_limited_per_client_address(db, http, limits, monkeypatch):
    from types import SimpleNamespace

    from oidc_provider import throttling

    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: 1_000_040.0))
    limits(REGISTRATION_RATE_LIMIT=(3, 60))
    for _ in range(3):
        assert register(http).status_code == 201
    response = register(http)
    assert_throttled(response)
    assert response["Retry-After"] == "40"
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": "Too many requests; retry later",
    }
    assert register(HttpClient(REMOTE_ADDR="192.0.2.7")).status_code == 201


def test_registration_is_limited_by_default(db, http):
    from oidc_provider.conf import DEFAULTS

    count, seconds = DEFAULTS["REGISTRATION_RATE_LIMIT"]
    for _ in range(count):
        assert register(http).status_code == 201
    assert_throttled(register(http), seconds)


def test_refused_registrations_count_too(db, http, limits):
    """Guessing initial access tokens spends the address's registrations."""
    limits(REGISTRATION_RATE_LIMIT=(2, 60), REGISTRATION_POLICY="initial_access_token")
    for _ in range(2):
        assert register(http, HTTP_AUTHORIZATION="Bearer guess").status_code == 401
    assert_throttled(register(http, HTTP_AUTHORIZATION="Bearer guess"))


def test_no_registration_limit_where_registration_is_off(db, http, limits):
    limits(REGISTRATION_RATE_LIMIT=(1, 60), REGISTRATION_POLICY="none")
    for _ in range(3):
        assert flows.error_of(register(http), 403) == "access_denied"


# the client address


@pytest.mark.parametrize(
    "remote, forwarded, trusted, expected",
    [
        ("203.0.113.5", "192.0.2.1", [], "203.0.113.5"),  # no trusted proxy: the header is the client's word
        ("203.0.113.5", "192.0.2.1", ["10.0.0.0/8"], "203.0.113.5"),  # not from a trusted proxy
        ("10.0.0.1", "192.0.2.1", ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.1", "198.51.100.9, 192.0.2.1", ["10.0.0.0/8"], "192.0.2.1"),  # a spoofed entry on the left
        ("10.0.0.1", "192.0.2.1, 10.0.0.2", ["10.0.0.0/8"], "192.0.2.1"),  # two proxies
        ("10.0.0.1", "192.0.2.1,10.0.0.2 ,  10.0.0.3", ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.1", "10.0.0.3, 10.0.0.2", ["10.0.0.0/8"], "10.0.0.3"),  # proxies all the way
        ("10.0.0.1", "", ["10.0.0.0/8"], "10.0.0.1"),  # no header
        ("10.0.0.1", None, ["10.0.0.1"], "10.0.0.1"),
        ("10.0.0.1", "not-an-address", ["10.0.0.0/8"], "10.0.0.1"),  # malformed: the proxy itself
        ("10.0.0.1", "192.0.2.1, junk", ["10.0.0.0/8"], "10.0.0.1"),
        ("10.0.0.1", "192.0.2.1:4711", ["10.0.0.0/8"], "10.0.0.1"),  # ports are not addresses
        ("10.0.0.1", "junk, 192.0.2.1", ["10.0.0.0/8"], "192.0.2.1"),
        ("::1", "2001:db8:1:2::99", ["::1"], "2001:db8:1:2::/64"),
        ("2001:db8::1", None, [], "2001:db8::/64"),  # an IPv6 host's /64 is one address
        ("::ffff:203.0.113.5", None, [], "203.0.113.5"),
        # a peer that is no IP address (a proxy on a unix socket): one address for all, never none
        ("", None, [], "unix"),
        ("unix:/run/gunicorn.sock", None, [], "unix"),
        ("", "192.0.2.1", [], "unix"),  # not trusted: the header is the client's word
        ("", "192.0.2.1", ["unix"], "192.0.2.1"),
        ("", "192.0.2.1, 10.0.0.2", ["unix", "10.0.0.0/8"], "192.0.2.1"),
        ("", "junk", ["unix"], "unix"),
    ],
)
def test_the_client_address(settings, remote, forwarded, trusted, expected):
    from django.test import RequestFactory

    from oidc_provider.throttling import client_address

    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "TRUSTED_PROXIES": trusted}
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    assert client_address(RequestFactory().get("/", REMOTE_ADDR=remote, **extra)) == expected


def test_registrations_through_a_unix_socket_proxy_are_limited_too(db, http, settings):
    """gunicorn behind nginx on a unix socket sets REMOTE_ADDR to "": a limit keyed by a missing
    address counted nothing, so every limit was off there."""
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_RATE_LIMIT": (3, 3600)}
    codes = [register(http, REMOTE_ADDR="").status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]


def test_a_deeply_nested_client_assertion_is_invalid_client_not_a_500(db, http):
    """The claimed client_id is read from an assertion's payload before its signature is checked:
    JSON nested a thousand deep raised RecursionError there (a 500, from any caller)."""
    header = base64.urlsafe_b64encode(b'{"alg":"RS256"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(b"[" * 1000 + b"]" * 1000).rstrip(b"=").decode()
    for path in ("/oidc/token", "/oidc/introspect", "/oidc/revoke"):
        response = http.post(
            path,
            {
                "grant_type": "client_credentials",
                "token": "x",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": f"{header}.{payload}.c2ln",
            },
        )
        assert response.status_code == 401, (path, response.content)
        assert response.json()["error"] == "invalid_client"
