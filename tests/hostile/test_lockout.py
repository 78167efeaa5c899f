"""Failed client authentications must not lock a real client out (issue 15, finding 3): a request
that authenticates is always served; failures count per (client, client address) and per client
address; the client address is REMOTE_ADDR unless it is a trusted proxy."""

from types import SimpleNamespace

import pytest
from django.test import Client as HttpClient

from oidc_provider import throttling
from tests import flows

ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.7"
PROXY = "10.0.0.1"


@pytest.fixture(autouse=True)
def failure_limits(settings, monkeypatch):
    """The default failure limits, (10, 60) per client and address and (100, 60) per address,
    which tests/settings.py turns off for the other suites; the clock stopped 20 s into a window."""
    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: 1_000_040.0))
    defaults = {k: v for k, v in settings.OIDC_PROVIDER.items() if not k.startswith("CLIENT_AUTHN_FAILURE")}
    settings.OIDC_PROVIDER = defaults

    def configure(**values):
        settings.OIDC_PROVIDER = {**defaults, **values}

    return configure


@pytest.fixture
def m2m(db):
    flows.make_client("m2m", "s3cret", "--grant-type", "client_credentials")
    return "m2m"


def from_address(address, forwarded_for=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return HttpClient(REMOTE_ADDR=address, **extra)


def client_credentials(http, secret="s3cret"):
    return flows.token_request(http, {"grant_type": "client_credentials"}, "m2m", secret)


def assert_throttled(response):
    assert response.status_code == 429, response.content
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": "Too many requests; retry later",
    }
    assert response["Cache-Control"] == "no-store"
    assert response["Retry-After"] == "40"  # the window's end


def assert_invalid_client(response):
    assert flows.error_of(response, 401) == "invalid_client"


def guess(http, count):
    """``count`` wrong-secret token requests naming m2m: the statuses answered."""
    return [client_credentials(http, secret=f"guess-{n}").status_code for n in range(count)]


def assert_token(response):
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer" and response.json()["access_token"]


def test_wrong_secrets_naming_a_client_do_not_lock_its_token_requests_out(m2m):
    attacker = from_address(ATTACKER)
    assert guess(attacker, 25) == [401] * 10 + [429] * 15
    assert_token(client_credentials(from_address(VICTIM)))
    # even from the attacker's address (one NAT, one proxy): a correct authentication is served
    assert_token(client_credentials(attacker))
    assert_throttled(client_credentials(attacker, secret="guess-26"))


def test_wrong_secrets_naming_a_client_do_not_lock_its_introspection_out(m2m):
    attacker = from_address(ATTACKER)
    for n in range(25):
        flows.introspect(attacker, "t", client_id="m2m", secret=f"guess-{n}")
    assert_throttled(flows.introspect(attacker, "t", client_id="m2m", secret="guess-26"))
    for http in (from_address(VICTIM), attacker):
        response = flows.introspect(http, "t", client_id="m2m")
        assert response.status_code == 200 and response.json() == {"active": False}


def test_failures_from_one_address_do_not_count_at_another(m2m):
    attacker = from_address(ATTACKER)
    guess(attacker, 10)
    assert_throttled(client_credentials(attacker, secret="wrong"))
    assert_invalid_client(client_credentials(from_address(VICTIM), secret="wrong"))


def test_the_per_address_limit_never_refuses_a_correct_authentication(m2m, failure_limits):
    failure_limits(CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT=(3, 60))
    office = from_address(ATTACKER)  # one address for many clients: a NAT, or a proxy not configured as trusted
    for n in range(3):
        assert_invalid_client(flows.token_request(office, {"grant_type": "client_credentials"}, f"nobody-{n}", "x"))
    assert_throttled(flows.token_request(office, {"grant_type": "client_credentials"}, "someone-else", "x"))
    assert_token(client_credentials(office))
    assert flows.introspect(office, "t", client_id="m2m").json() == {"active": False}


@pytest.mark.parametrize("trusted", [[], [PROXY]])
def test_spoofed_forwarded_for_from_an_untrusted_address_is_ignored(m2m, failure_limits, trusted):
    failure_limits(TRUSTED_PROXIES=trusted)
    statuses = [
        client_credentials(from_address(ATTACKER, f"192.0.2.{n}"), secret="wrong").status_code for n in range(12)
    ]
    assert statuses == [401] * 10 + [429] * 2
    # nor does naming the victim's address put the victim's failures on the attacker's count
    assert_invalid_client(client_credentials(from_address(VICTIM), secret="wrong"))


def test_through_a_trusted_proxy_two_clients_addresses_are_told_apart(m2m, failure_limits):
    failure_limits(TRUSTED_PROXIES=["10.0.0.0/8"])
    # the attacker prepends the victim's address; the proxy appends the address it saw
    attacker = from_address(PROXY, f"{VICTIM}, {ATTACKER}")
    assert guess(attacker, 11) == [401] * 10 + [429]
    victim = from_address(PROXY, VICTIM)
    assert_invalid_client(client_credentials(victim, secret="wrong"))
    assert_token(client_credentials(victim))
    # without the setting, everyone behind the proxy is one address
    failure_limits(TRUSTED_PROXIES=[])
    guess(victim, 10)
    assert_throttled(client_credentials(attacker, secret="wrong"))
    assert_token(client_credentials(attacker))


def test_a_public_clients_request_limit_is_counted_per_address(db, failure_limits):
    """Anyone can name a public client (it has no secret): one address spending its token budget
    must not spend it for every other user of the app."""
    flows.make_client("spa", None, "--public")
    failure_limits(TOKEN_RATE_LIMIT=(2, 60))
    data = {
        "grant_type": "authorization_code",
        "code": "x",
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": "v" * 43,
        "client_id": "spa",
    }
    attacker = from_address(ATTACKER)
    for _ in range(2):
        assert flows.error_of(attacker.post("/oidc/token", data)) == "invalid_grant"
    assert_throttled(attacker.post("/oidc/token", data))
    assert flows.error_of(from_address(VICTIM).post("/oidc/token", data)) == "invalid_grant"
