"""Hostile pushes (RFC 9126) and hostile front-channel request_uris: a spec-shaped 4xx, never a 5xx;
a refused push keeps no row, a refused redemption spends none."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient
from hypothesis import given
from hypothesis import strategies as st

from oidc_provider.models import PushedRequest
from oidc_provider.protocol import PAR_REQUEST_URI_PREFIX as REQUEST_URI_PREFIX
from oidc_provider.server import reset_server
from tests import flows
from tests.hostile.test_hostile_input import (
    AUTHORIZE_KEYS,
    EXAMPLES,
    authorization_header,
    check,
    hostile_text,
    params_from,
    row_counts,
    valid_authorize_with,
)


@pytest.fixture
def hostile(db):
    """rp1, and alice's browser (as ``tests/hostile/test_hostile_input.py``'s)."""
    reset_server()
    flows.make_client()
    get_user_model().objects.create_user("alice", "alice@example.com", "pw")
    browser = HttpClient()
    browser.login(username="alice", password="pw")
    return browser


@EXAMPLES
@given(
    params=st.one_of(
        params_from([*AUTHORIZE_KEYS, "client_secret", "client_assertion"]), valid_authorize_with("x" * 43)
    ),
    authorization=st.one_of(authorization_header, st.just(flows.basic())),
)
def test_pushed_authorization_endpoint(hostile, tried, params, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    before, pushes = row_counts(), PushedRequest.objects.count()
    response = HttpClient().post("/oidc/par", params, **headers)
    tried["par"] += 1
    check(response, before)
    assert response.status_code in (201, 400, 401, 413)
    if response.status_code != 201:
        assert PushedRequest.objects.count() == pushes, "a refused push kept a row"
    else:
        assert response.json()["request_uri"].startswith(REQUEST_URI_PREFIX)


@EXAMPLES
@given(
    suffix=hostile_text,
    client_id=st.one_of(st.just("rp1"), hostile_text),
    method=st.sampled_from(["get", "post"]),
)
def test_front_channel_request_uri(hostile, tried, suffix, client_id, method):
    if not PushedRequest.objects.exists():
        verifier, challenge = flows.pkce_pair()
        HttpClient().post("/oidc/par", flows.auth_params(challenge), HTTP_AUTHORIZATION=flows.basic())
    before = row_counts()
    response = getattr(hostile, method)(
        "/oidc/authorize", {"client_id": client_id, "request_uri": REQUEST_URI_PREFIX + suffix}
    )
    tried["authorization (request_uri)"] += 1
    check(response, before, json_errors=False)
    assert response.status_code == 400
    assert not PushedRequest.objects.filter(consumed=True).exists()
