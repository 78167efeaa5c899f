"""Delivery of back-channel logout tokens: timeout, bounded retries, a row for every failure."""

import time

import pytest

from oidc_provider.backchannel import ThreadDispatcher, deliver
from oidc_provider.models import BackchannelLogoutFailure
from tests.e2e.live import free_port
from tests.rp_server import RPServer


@pytest.fixture(autouse=True)
def debug(settings):
    settings.DEBUG = True  # the RP listens on http://127.0.0.1 (OUTBOUND_ALLOWED_HOSTS in tests/settings.py)


@pytest.fixture
def rp():
    server = RPServer()
    yield server
    server.stop()


def delivery(uri):
    return {"client_id": "rp1", "uri": uri, "logout_token": "a.logout.token"}


def test_token_is_posted_form_encoded(db, rp):
    assert deliver(delivery(f"{rp.url}/bc")) is True
    [request] = rp.to("/bc")
    assert request["method"] == "POST" and request["content_type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {"logout_token": ["a.logout.token"]}
    assert not BackchannelLogoutFailure.objects.exists()


def test_a_refusal_is_recorded_and_not_retried(db, rp):
    rp.respond("/bc", status=400)
    assert deliver(delivery(f"{rp.url}/bc"), attempts=3, backoff=0) is False
    assert len(rp.to("/bc")) == 1
    failure = BackchannelLogoutFailure.objects.get()
    assert (failure.client_id, failure.uri, failure.attempts, failure.error) == ("rp1", f"{rp.url}/bc", 1, "HTTP 400")


def test_a_redirect_is_not_followed(db, rp):
    rp.respond("/bc", status=302)
    assert deliver(delivery(f"{rp.url}/bc"), attempts=3, backoff=0) is False
    assert rp.to("/elsewhere") == [] and BackchannelLogoutFailure.objects.get().error == "HTTP 302"


def test_server_errors_are_retried_then_recorded(db, rp):
    rp.respond("/bc", status=503)
    assert deliver(delivery(f"{rp.url}/bc"), attempts=3, backoff=0) is False
    assert len(rp.to("/bc")) == 3
    failure = BackchannelLogoutFailure.objects.get()
    assert failure.attempts == 3 and failure.error == "HTTP 503"


def test_an_rp_that_recovers_gets_its_token(db, rp):
    rp.respond("/bc", status=500)
    rp.respond("/ok")
    assert deliver(delivery(f"{rp.url}/ok"), attempts=2, backoff=0) is True


def test_a_dead_rp_is_recorded(db):
    assert deliver(delivery(f"http://127.0.0.1:{free_port()}/bc"), attempts=2, backoff=0) is False
    failure = BackchannelLogoutFailure.objects.get()
    assert failure.attempts == 2 and failure.error == "127.0.0.1: cannot connect (ConnectionRefusedError)"


def test_a_slow_rp_times_out(db, rp):
    rp.respond("/bc", delay=2)
    started = time.monotonic()
    assert deliver(delivery(f"{rp.url}/bc"), timeout=0.3, attempts=1) is False
    assert time.monotonic() - started < 1.5
    assert BackchannelLogoutFailure.objects.get().error == "127.0.0.1: no complete answer within 0.3 s"


def test_defaults_come_from_settings(db, rp, settings):
    settings.OIDC_PROVIDER = {
        **settings.OIDC_PROVIDER,
        "BACKCHANNEL_LOGOUT_ATTEMPTS": 2,
        "BACKCHANNEL_LOGOUT_TIMEOUT": 0.3,
    }
    rp.respond("/bc", delay=1)
    started = time.monotonic()
    assert deliver(delivery(f"{rp.url}/bc"), backoff=0) is False
    assert BackchannelLogoutFailure.objects.get().attempts == 2 and time.monotonic() - started < 1.5


def test_thread_dispatcher_returns_at_once(rp):
    rp.respond("/slow", delay=1)
    started = time.monotonic()
    ThreadDispatcher().dispatch([delivery(f"{rp.url}/slow"), delivery(f"{rp.url}/fast")])
    assert time.monotonic() - started < 0.8  # not after the slow RP's answer (1 s)
    assert rp.wait_for("/fast", timeout=5)["form"]["logout_token"] == ["a.logout.token"]
    assert rp.wait_for("/slow", timeout=5)["at"] - started >= 1
