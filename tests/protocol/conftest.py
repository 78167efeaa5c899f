"""Fixtures for the in-process protocol tests (Django's test client against the OP's views)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient

from oidc_provider.backchannel import LogoutDispatcher
from oidc_provider.server import reset_server
from tests import flows


@pytest.fixture(autouse=True)
def fresh_server(db):
    """Each test builds its idpyoidc Server against its own database state."""
    reset_server()
    yield
    reset_server()


@pytest.fixture
def rp(db):
    flows.make_client()
    return "rp1"


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(
        "alice", "alice@example.com", "pw", first_name="Alice", last_name="Liddell"
    )


@pytest.fixture
def browser(user):
    """A browser session logged in to the site as alice."""
    browser = HttpClient()
    browser.login(username="alice", password="pw")
    return browser


@pytest.fixture
def http():
    """A client with no cookies: what an RP's back channel looks like."""
    return HttpClient()


@pytest.fixture
def jwks_server(settings):
    """A client's jwks_uri on http://127.0.0.1 (accepted only with DEBUG)."""
    from tests.jwks_server import JWKSServer

    settings.DEBUG = True
    server = JWKSServer()
    yield server
    server.close()


class RecordingDispatcher(LogoutDispatcher):
    """Keeps the back-channel deliveries instead of sending them (the end-to-end suite sends them)."""

    deliveries = []

    def dispatch(self, deliveries):
        type(self).deliveries.extend(deliveries)


@pytest.fixture(autouse=True)
def deliveries(settings):
    """The back-channel logout deliveries dispatched during the test (after their commit); nothing
    in this suite is sent for real."""
    settings.OIDC_PROVIDER = {
        **settings.OIDC_PROVIDER,
        "LOGOUT_DISPATCHER": "tests.protocol.conftest.RecordingDispatcher",
    }
    RecordingDispatcher.deliveries = []
    return RecordingDispatcher.deliveries


@pytest.fixture
def offline_rp(db):
    """rp1, allowed offline_access (refresh tokens) and token exchange."""
    flows.make_offline_client()
    return "rp1"


@pytest.fixture
def tokens(offline_rp, browser, http):
    """A token response of rp1 with an access, a refresh and an ID token."""
    return flows.offline_tokens(browser, http)
