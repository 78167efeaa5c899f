"""The demo RP carries its sign-ins in progress in an encrypted cookie of its own (``rp.seal``), not in
the Django session it shares with the OP: a cookie the browser altered, or one past its lifetime,
holds no flow, and many flows are cut to what a cookie can hold, the oldest first."""

import secrets

import pytest

from example_project.demo import rp


@pytest.fixture(autouse=True)
def secret_key(settings):
    settings.SECRET_KEY = "demo-rp-flows-test"


def flows(count, size=100):
    return {f"state-{n}": {"verifier": secrets.token_urlsafe(size)} for n in range(count)}


def test_a_sealed_store_opens_to_the_same_flows():
    store = {rp.SESSION_KEY: flows(2)}
    sealed = rp.seal(store)
    assert rp.unseal(sealed) == store
    assert "state-0" not in sealed and store[rp.SESSION_KEY]["state-0"]["verifier"] not in sealed


@pytest.mark.parametrize("value", [None, "", "garbage", "gAAAAA"])
def test_no_cookie_or_garbage_holds_no_flow(value):
    assert rp.unseal(value) == {}


def test_an_altered_cookie_holds_no_flow():
    sealed = rp.seal({rp.SESSION_KEY: flows(1)})
    altered = sealed[:40] + ("A" if sealed[40] != "A" else "B") + sealed[41:]
    assert rp.unseal(altered) == {}


def test_a_cookie_sealed_with_another_key_holds_no_flow(settings):
    sealed = rp.seal({rp.SESSION_KEY: flows(1)})
    settings.SECRET_KEY = "another-site"
    assert rp.unseal(sealed) == {}


def test_a_cookie_past_the_flow_lifetime_holds_no_flow(monkeypatch):
    sealed = rp.seal({rp.SESSION_KEY: flows(1)})
    issued = rp._fernet().extract_timestamp(sealed)
    monkeypatch.setattr("time.time", lambda: issued + rp.FLOW_LIFETIME + 61)  # Fernet's 60 s clock skew
    assert rp.unseal(sealed) == {}


def test_flows_that_do_not_fit_in_a_cookie_are_dropped_oldest_first():
    many = flows(6, size=900)  # about 1,200 bytes each: not all fit
    sealed = rp.seal({rp.SESSION_KEY: many})
    kept = rp.unseal(sealed)[rp.SESSION_KEY]
    assert len(sealed) <= rp.MAX_SEALED
    assert list(kept) == list(many)[-len(kept) :] and 0 < len(kept) < 6
