"""Rate limits on ``gunicorn -w 2`` with a shared Redis cache: the counts hold across worker
processes, and failed authentications from one address never lock a real client out (issue 15,
finding 3). Requests come through 127.0.0.1, a trusted proxy here, with the client address in
``X-Forwarded-For``, so each test plays its own addresses.

Redis: ``OIDC_TEST_REDIS_URL`` (default redis://127.0.0.1:6379/0), under a key prefix of this run's
own, whose keys alone are deleted afterwards. Without Redis the module is skipped, unless
``OIDC_TEST_REQUIRE_REDIS`` is set (CI), which makes that a failure.
"""

import json
import math
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from tests.e2e.browser import new_session
from tests.e2e.live import delete_cache_keys

pytestmark = pytest.mark.live

REDIS_URL = os.environ.get("OIDC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WINDOW = 3600  # long windows: a test never straddles two
LIMITS = {
    "CLIENT_AUTHN_FAILURE_LIMIT": [10, WINDOW],
    "CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT": [100, WINDOW],
    "TOKEN_RATE_LIMIT": [6, WINDOW],
    "REGISTRATION_RATE_LIMIT": [3, WINDOW],
    "TRUSTED_PROXIES": ["127.0.0.1"],
}


@pytest.fixture(scope="module")
def redis_prefix():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as err:
        message = f"Redis is not reachable at {REDIS_URL}: {err}"
        if os.environ.get("OIDC_TEST_REQUIRE_REDIS"):
            pytest.fail(message)
        pytest.skip(message)
    prefix = f"oidc-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    delete_cache_keys(REDIS_URL, prefix)


@pytest.fixture(scope="module")
def limited(op_server, start_server, redis_prefix):
    """Two workers on the session's database, counting in Redis."""
    remaining = WINDOW - time.time() % WINDOW
    if remaining < 30:  # the module's counts must all fall in one window
        time.sleep(remaining + 0.5)
    return start_server(
        workers=2,
        env={
            "OIDC_TEST_CACHE_URL": REDIS_URL,
            "OIDC_TEST_CACHE_PREFIX": redis_prefix,
            "OIDC_TEST_SETTINGS": json.dumps(LIMITS),
        },
    )


ADDRESSES = (f"203.0.113.{n}" for n in range(1, 255))


def address():
    """A client address no other request of the module uses (runs are kept apart by the key prefix)."""
    return next(ADDRESSES)


def post(url, at, **kwargs):
    return new_session().post(url, headers={"X-Forwarded-For": at, **kwargs.pop("headers", {})}, **kwargs)


def client_credentials(server, client, at, secret=None):
    return post(
        f"{server.url}/oidc/token",
        at,
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, secret or client.client_secret),
    )


def at_once(server, calls):
    """Run ``calls`` (functions of no argument) at the same time; their responses, and check that
    both workers served some of them."""
    before = len(server.access_log())
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        responses = list(pool.map(lambda call: call(), calls))
    deadline = time.monotonic() + 10
    while len(server.access_log()) < before + len(calls) and time.monotonic() < deadline:
        time.sleep(0.05)  # a worker writes its access log line after the response
    pids = {pid for pid, _, _ in server.access_log()[before:]}
    assert len(pids) == 2, f"one worker served every request: {pids}"
    return responses


def assert_throttled(response):
    assert response.status_code == 429, response.text
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": "Too many requests; retry later",
    }
    assert response.headers["Cache-Control"] == "no-store"
    # read here, after the burst the response came in: the server's was up to a few seconds earlier (a loaded machine)
    window_end = math.ceil(WINDOW - time.time() % WINDOW)
    assert window_end - 2 <= int(response.headers["Retry-After"]) <= window_end + 5


def test_25_wrong_secrets_on_two_workers_do_not_lock_out_the_real_secret(limited, make_client):
    client = make_client(extra=("--grant-type", "client_credentials"))
    attacker = address()
    responses = at_once(
        limited, [lambda n=n: client_credentials(limited, client, attacker, secret=f"guess-{n}") for n in range(25)]
    )
    # counted in one place: exactly the limit's ten failures get 401, whichever worker served them
    assert sorted(r.status_code for r in responses) == [401] * 10 + [429] * 15
    assert {r.json()["error"] for r in responses if r.status_code == 401} == {"invalid_client"}
    for response in responses:
        if response.status_code == 429:
            assert_throttled(response)
    for at in (attacker, address()):  # the real secret, from the attacker's address and another
        token = client_credentials(limited, client, at)
        assert token.status_code == 200, token.text
        introspection = post(
            f"{limited.url}/oidc/introspect",
            at,
            data={"token": token.json()["access_token"]},
            auth=(client.client_id, client.client_secret),
        )
        assert introspection.status_code == 200 and introspection.json()["active"] is True


def test_failures_at_one_address_do_not_count_at_another(limited, make_client):
    client = make_client(extra=("--grant-type", "client_credentials"))
    attacker = address()
    at_once(limited, [lambda: client_credentials(limited, client, attacker, secret="wrong") for _ in range(12)])
    assert_throttled(client_credentials(limited, client, attacker, secret="wrong"))
    victim = address()
    response = client_credentials(limited, client, victim, secret="wrong")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_the_token_rate_limit_holds_across_workers(limited, make_client):
    client = make_client(extra=("--grant-type", "client_credentials"))
    responses = at_once(limited, [lambda: client_credentials(limited, client, address()) for _ in range(8)])
    assert sorted(r.status_code for r in responses) == [200] * 6 + [429] * 2
    assert_throttled(next(r for r in responses if r.status_code == 429))


def test_the_registration_limit_holds_across_workers(limited):
    at = address()
    body = {"redirect_uris": ["https://rp.example/cb"]}
    responses = at_once(limited, [lambda: post(f"{limited.url}/oidc/register", at, json=body) for _ in range(5)])
    assert sorted(r.status_code for r in responses) == [201] * 3 + [429] * 2
    assert_throttled(next(r for r in responses if r.status_code == 429))
    assert post(f"{limited.url}/oidc/register", address(), json=body).status_code == 201
