"""Malformed requests to every endpoint get a spec-shaped 4xx or a safe page, never a 5xx, and a
failed request writes no row (issue 6)."""

import base64
import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oidc_provider.conf import oidc_settings
from oidc_provider.models import Client, Consent, InitialAccessToken, OPSession, SessionNode, SigningKey
from oidc_provider.server import reset_server
from tests import flows

EXAMPLES = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

# Values that break parsers: control characters, huge strings, JWT look-alikes, numbers, empties.
b64 = st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="))
jwt_like = st.tuples(b64, b64, b64).map(".".join)
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20).map(lambda s: s + "\x00"),
    st.sampled_from(["", " ", "\x00", "null", "[]", "{}", "-1", "0", "1e309", "99999999999999999999", "%ff", "é" * 3]),
    st.integers(min_value=1000, max_value=20000).map(lambda n: "x" * n),
    jwt_like,
)
AUTHORIZE_KEYS = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "response_mode",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "id_token_hint",
    "claims",
    "request",
    "request_uri",
    "ui_locales",
    "acr_values",
    "display",
    "registration",
    "resource",
]
TOKEN_KEYS = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "client_id",
    "client_secret",
    "refresh_token",
    "scope",
    "client_assertion",
    "client_assertion_type",
    "subject_token",
    "subject_token_type",
    "audience",
]


def params_from(keys):
    """A dict of hostile values over some of ``keys``, some repeated (lists)."""
    value = st.one_of(hostile_text, st.lists(hostile_text, min_size=2, max_size=3))
    return st.dictionaries(st.sampled_from(keys), value, max_size=8)


def valid_authorize_with(challenge):
    """A valid request with one or two parameters replaced by hostile ones."""
    return params_from(AUTHORIZE_KEYS).map(lambda bad: {**flows.auth_params(challenge), **bad})


authorization_header = st.one_of(
    st.none(),
    hostile_text.map(lambda s: "Basic " + s),
    st.binary(max_size=40).map(lambda b: "Basic " + base64.b64encode(b).decode()),
    hostile_text.map(lambda s: "Bearer " + s),
    jwt_like.map(lambda s: "Bearer " + s),
    hostile_text,
)
body = st.one_of(
    params_from(TOKEN_KEYS).map(lambda p: ("application/x-www-form-urlencoded", urlencode(p, doseq=True).encode())),
    st.binary(max_size=200).map(lambda b: ("application/x-www-form-urlencoded", b)),
    st.recursive(
        st.none() | st.integers() | st.text(max_size=10),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=30,
    ).map(lambda j: ("application/json", json.dumps(j).encode())),
    st.binary(max_size=200).map(lambda b: ("text/plain", b)),
    st.just(("multipart/form-data; boundary=xx", b"--xx\r\nbroken")),
)


def row_counts():
    return tuple(m.objects.count() for m in (Client, Consent, SessionNode, SigningKey, OPSession, InitialAccessToken))


def failed(response):
    return response.status_code >= 400 or "error=" in response.get("Location", "")


def check(response, counts_before, *, json_errors=True):
    assert response.status_code < 500, response.content[:300]
    if failed(response):
        assert row_counts() == counts_before, "a failed request wrote rows"
        if json_errors and response.status_code >= 400 and response.content:
            assert response.json()["error"]
            assert response["Cache-Control"] == "no-store"


@pytest.fixture
def hostile(db):
    reset_server()
    flows.make_client()
    get_user_model().objects.create_user("alice", "alice@example.com", "pw")
    browser = HttpClient()
    browser.login(username="alice", password="pw")
    return browser


@EXAMPLES
@given(
    params=st.one_of(params_from(AUTHORIZE_KEYS), valid_authorize_with("x" * 43)),
    method=st.sampled_from(["get", "post"]),
    logged_in=st.booleans(),
)
def test_authorization_endpoint(hostile, tried, params, method, logged_in):
    browser = hostile if logged_in else HttpClient()
    before = row_counts()
    response = getattr(browser, method)("/oidc/authorize", params)
    tried["authorization"] += 1
    check(response, before, json_errors=False)
    assert response.status_code in (200, 302, 400)
    if response.status_code == 302 and "error=" in response["Location"]:
        assert response["Location"].startswith(flows.REDIRECT_URI)  # errors only to the verified URI


@EXAMPLES
@given(payload=body, authorization=authorization_header)
def test_token_endpoint(hostile, tried, payload, authorization):
    content_type, data = payload
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    before = row_counts()
    response = HttpClient().post("/oidc/token", data, content_type=content_type, **headers)
    tried["token"] += 1
    check(response, before)
    assert response.status_code in (400, 401, 413)


GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials", flows.EXCHANGE]
GRANT_KEYS = [*TOKEN_KEYS, "requested_token_type", "actor_token", "actor_token_type", "resource"]


@EXAMPLES
@given(grant_type=st.sampled_from(GRANT_TYPES), params=params_from(GRANT_KEYS))
def test_token_endpoint_grants_of_an_authenticated_client(hostile, tried, grant_type, params):
    """Past client authentication, every grant's own parsing meets hostile values."""
    if not Client.objects.filter(client_id="machine").exists():
        flows.make_offline_client("machine", "s3cret", "--grant-type", "client_credentials")
    before = row_counts()
    data = {**params, "grant_type": grant_type}
    response = HttpClient().post("/oidc/token", data, HTTP_AUTHORIZATION=flows.basic("machine", "s3cret"))
    tried["token (authenticated)"] += 1
    check(response, before)
    assert response.status_code in (200, 400, 413)


@EXAMPLES
@given(
    params=params_from(["token", "token_type_hint", "client_id", "client_secret"]),
    authorization=st.one_of(authorization_header, st.just(flows.basic())),
    path=st.sampled_from(["/oidc/introspect", "/oidc/revoke"]),
)
def test_introspection_and_revocation_endpoints(hostile, tried, params, authorization, path):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    before = row_counts()
    response = HttpClient().post(path, params, **headers)
    tried[path.rsplit("/", 1)[-1]] += 1
    check(response, before)
    assert response.status_code in (200, 400, 401, 413)
    if response.status_code == 200 and path.endswith("introspect"):
        assert response.json() == {"active": False}


@EXAMPLES
@given(
    authorization=authorization_header,
    params=params_from(["access_token", "schema", "claims"]),
    method=st.sampled_from(["get", "post"]),
)
def test_userinfo_endpoint(hostile, tried, authorization, params, method):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    before = row_counts()
    response = getattr(HttpClient(), method)("/oidc/userinfo", params, **headers)
    tried["userinfo"] += 1
    if response.status_code == 413:  # a body over MAX_REQUEST_BODY is refused before anything else
        assert method == "post" and response.json()["error"] == "invalid_request"
    else:
        assert response.status_code in (400, 401)
    assert response.status_code < 500 and row_counts() == before
    assert response["WWW-Authenticate"].startswith("Bearer") if response.status_code == 401 else True


@EXAMPLES
@given(params=params_from(["k", "decision", "csrfmiddlewaretoken"]), method=st.sampled_from(["get", "post"]))
def test_consent_resume_and_switch_account_pages(hostile, tried, params, method):
    before = row_counts()
    for path in ("/oidc/consent", "/oidc/authorize/resume", "/oidc/consent/switch-account"):
        response = getattr(hostile, method)(path, params)
        tried[path.rsplit("/", 1)[-1]] += 1
        assert response.status_code in (302, 400, 403, 405), response.content[:200]
        assert row_counts() == before


@EXAMPLES
@given(params=params_from(AUTHORIZE_KEYS), method=st.sampled_from(["get", "post", "put", "delete", "options"]))
def test_discovery_and_jwks(hostile, tried, params, method):
    for path in ("/oidc/.well-known/openid-configuration", "/oidc/jwks"):
        response = getattr(HttpClient(), method)(path, params)
        tried[path.rsplit("/", 1)[-1]] += 1
        if response.status_code == 413:  # a body over MAX_REQUEST_BODY is refused before anything else
            assert method != "get" and response.json()["error"] == "invalid_request"
        else:
            # RFC 9110 §15.5.6: 405 for a method the resource does not serve; the JWKS view also answers
            # OPTIONS (§9.3.7, Django's default with an Allow header)
            served = ("get", "options") if path.endswith("jwks") else ("get",)
            assert response.status_code == (200 if method in served else 405)


# Registration (RFC 7591): JSON of any shape and size, bodies that are not JSON at all.
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=20,
)
REGISTRATION_FIELDS = [
    "redirect_uris",
    "post_logout_redirect_uris",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "scope",
    "client_name",
    "jwks",
    "jwks_uri",
    "contacts",
    "logo_uri",
    "id_token_signed_response_alg",
    "userinfo_signed_response_alg",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "frontchannel_logout_uri",
    "software_statement",
    "client_id",
    "client_secret",
    "token_exchange",
]


def nested(depth):
    return ("[" * depth + "]" * depth).encode()


registration_body = st.one_of(
    # a valid request with some fields replaced by values of the wrong type or shape
    st.dictionaries(st.sampled_from(REGISTRATION_FIELDS), any_json, max_size=5).map(
        lambda bad: ("application/json", json.dumps({"redirect_uris": [flows.REDIRECT_URI], **bad}).encode())
    ),
    any_json.map(lambda j: ("application/json", json.dumps(j).encode())),
    st.integers(min_value=100, max_value=100_000).map(lambda d: ("application/json", nested(d))),
    st.integers(min_value=10_000, max_value=200_000).map(
        lambda n: (
            "application/json",
            json.dumps({"redirect_uris": [flows.REDIRECT_URI] * (n // 30), "client_name": "x" * n}).encode(),
        )
    ),
    st.binary(max_size=200).map(lambda b: ("application/json", b)),  # mostly invalid UTF-8 / not JSON
    st.binary(min_size=1, max_size=50).map(lambda b: ("application/json", b'{"redirect_uris": ["' + b + b'"]}')),
    st.sampled_from(
        [
            b'{"redirect_uris": ["https://rp.example/cb\\u0000"]}',
            b'{"client_name": "\\u0000"}',
            b'{"redirect_uris": ["https://rp.example/cb"], "client_name": "a\\u0000b"}',
            b"\x00",
            b"",
            b'{"redirect_uris": ["https://rp.example/cb"]}\x00',
        ]
    ).map(lambda b: ("application/json", b)),
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "text/plain",
            "multipart/form-data; boundary=xx",
            "application/json; charset=latin-1",
            "application/jwt",
            "",
        ]
    ).map(lambda ct: (ct, json.dumps({"redirect_uris": [flows.REDIRECT_URI]}).encode())),
)


@EXAMPLES
@given(payload=registration_body, authorization=st.one_of(st.none(), hostile_text.map(lambda s: "Bearer " + s)))
def test_registration_endpoint(hostile, tried, payload, authorization):
    content_type, data = payload
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    before = row_counts()
    response = HttpClient().post("/oidc/register", data, content_type=content_type, **headers)
    tried["registration"] += 1
    check(response, before)
    assert response.status_code in (201, 400, 401, 413, 415), response.content[:300]
    if response.status_code == 201:
        assert Client.objects.filter(client_id=response.json()["client_id"]).exists()


@EXAMPLES
@given(payload=registration_body, method=st.sampled_from(["get", "put", "delete"]), token=hostile_text)
def test_client_configuration_endpoint(hostile, tried, payload, method, token):
    content_type, data = payload
    before = row_counts()
    response = HttpClient().generic(
        method.upper(), "/oidc/register/client?client_id=rp1", data, content_type, HTTP_AUTHORIZATION="Bearer " + token
    )
    tried["client configuration"] += 1
    if len(data) > oidc_settings.MAX_REQUEST_BODY:
        expected = 413  # RFC 9110 §15.5.14, before anything else
    elif method == "delete":
        expected = 405  # RFC 7592 §2.3: deletion is not supported
    elif method == "put":
        expected = 400  # RFC 7592 §2.2: updates are not supported, an invalid_request
    else:
        expected = 401  # RFC 7592 §2.1, RFC 6750 §3.1: never a valid registration access token
    assert response.status_code == expected, response.content[:300]
    assert row_counts() == before


END_SESSION_KEYS = ["id_token_hint", "post_logout_redirect_uri", "state", "client_id", "logout_hint", "ui_locales"]


@EXAMPLES
@given(
    params=st.one_of(
        params_from(END_SESSION_KEYS),
        params_from(END_SESSION_KEYS).map(lambda p: {**p, "id_token_hint": p.get("id_token_hint") or "e30.e30.e30"}),
    ),
    method=st.sampled_from(["get", "post"]),
    logged_in=st.booleans(),
)
def test_end_session_endpoint(hostile, tried, params, method, logged_in):
    browser = hostile if logged_in else HttpClient()
    before = row_counts()
    response = getattr(browser, method)("/oidc/end_session", params)
    tried["end_session"] += 1
    assert response.status_code in (200, 302, 400, 403), response.content[:300]
    assert row_counts() == before  # nothing is ended before the user confirms, nothing written on an error
    if response.status_code == 302:
        # never an open redirect: only the login page or a registered post-logout URI
        location = response["Location"]
        assert location.startswith("/") or location.startswith("https://rp.example/"), location
