"""WebFinger (RFC 7033, OIDC Discovery 1.0 §2) at the site's root: every bad input with its exact
answer, who is discoverable (WEBFINGER_USERS), and that a user who is not discoverable cannot be
told apart from one who does not exist."""

import json
from urllib.parse import unquote, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from oidc_provider.checks import check_settings

URL = "/.well-known/webfinger"
ISSUER_REL = "http://openid.net/specs/connect/1.0/issuer"
ISSUER = "http://testserver/oidc"
NOT_FOUND = {"error": "not_found", "error_description": "Unknown resource"}


@pytest.fixture
def configure(settings):
    def configure(**values):
        settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, **values}

    return configure


def finger(*pairs, **extra):
    """GET the endpoint with ``pairs`` (name, value) as its query, in order, repeats kept."""
    query = "&".join(f"{k}={v}" for k, v in pairs)
    return HttpClient().get(f"{URL}?{query}" if pairs else URL, **extra)


def res(value):
    from urllib.parse import quote

    return ("resource", quote(value, safe=""))


def assert_jrd(response, status, body):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/jrd+json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == "no-store"
    assert json.loads(response.content) == body


def issuer_of(resource):
    return {"subject": resource, "links": [{"rel": ISSUER_REL, "href": ISSUER}]}


def bad(description):
    return {"error": "invalid_request", "error_description": description}


def test_missing_resource_is_400(db):
    assert_jrd(finger(), 400, bad("The resource parameter is missing"))
    assert_jrd(finger(("rel", ISSUER_REL)), 400, bad("The resource parameter is missing"))


def test_repeated_resource_is_400(db):
    response = finger(res("acct:alice@testserver"), res("acct:bob@testserver"))
    assert_jrd(response, 400, bad("The resource parameter is repeated"))


@pytest.mark.parametrize(
    "resource, description",
    [
        ("", "The resource parameter is empty"),
        ("acct:" + "a" * 1020 + "@testserver", "The resource is too long"),
        ("alice@testserver", "The resource is not a URI"),
        ("testserver", "The resource is not a URI"),
        (":alice@testserver", "The resource is not a URI"),
        ("1acct:alice@testserver", "The resource is not a URI"),
        ("ac ct:alice@testserver", "The resource is not a URI"),
        ("acct:alice @testserver", "The resource is not a URI"),
        ("acct:alice@testserver\n", "The resource is not a URI"),
        ("acct:alice\x00@testserver", "The resource is not a URI"),
        ("äcct:alice@testserver", "The resource is not a URI"),
        ("acct:alice", "An acct URI is acct:user@host (RFC 7565)"),
        ("acct:@testserver", "An acct URI is acct:user@host (RFC 7565)"),
        ("acct:alice@", "An acct URI is acct:user@host (RFC 7565)"),
        ("ACCT:testserver", "An acct URI is acct:user@host (RFC 7565)"),
    ],
)
def test_malformed_resource_is_400(db, configure, user, resource, description):
    configure(WEBFINGER_USERS="all")
    assert_jrd(finger(res(resource)), 400, bad(description))


def test_nobody_is_discoverable_by_default(user):
    assert_jrd(finger(res("acct:alice@testserver")), 404, NOT_FOUND)
    assert_jrd(finger(res("https://testserver/alice")), 404, NOT_FOUND)


def test_a_listed_user_is_discoverable(configure, user):
    configure(WEBFINGER_USERS=["alice"])
    for resource in (
        "acct:alice@testserver",
        "acct:alice@TestServer",
        "https://testserver/alice",
        "http://testserver/alice",
    ):
        assert_jrd(finger(res(resource)), 200, issuer_of(resource))


def test_a_user_found_by_email(configure, user):
    """The acct local part may be the user's whole email, percent-encoded (OIDC Discovery §2.2.2's
    ``acct:juliet%40capulet.example@shopping.example.com``), or the name of ``name@host``."""
    configure(WEBFINGER_USERS=["ALICE@example.com"])
    resource = "acct:alice%40example.com@testserver"
    assert_jrd(finger(res(resource)), 200, issuer_of(resource))
    get_user_model().objects.create_user("carol", "carol@testserver", "pw")
    configure(WEBFINGER_USERS=["carol@testserver"])
    assert_jrd(finger(res("acct:Carol@testserver")), 200, issuer_of("acct:Carol@testserver"))


def test_all_means_every_active_user(configure, user):
    configure(WEBFINGER_USERS="all")
    assert_jrd(finger(res("acct:alice@testserver")), 200, issuer_of("acct:alice@testserver"))
    user.is_active = False
    user.save()
    assert_jrd(finger(res("acct:alice@testserver")), 404, NOT_FOUND)


def test_username_is_case_sensitive(configure, user):
    """``ALICE`` is not the username ``alice``; it finds her only through her email ``alice@testserver``."""
    configure(WEBFINGER_USERS=["alice"])
    assert_jrd(finger(res("acct:ALICE@testserver")), 404, NOT_FOUND)
    user.email = "alice@testserver"
    user.save()
    assert_jrd(finger(res("acct:ALICE@testserver")), 200, issuer_of("acct:ALICE@testserver"))
    user.email = ""
    user.save()
    assert_jrd(finger(res("acct:ALICE@testserver")), 404, NOT_FOUND)


def test_not_discoverable_looks_like_unknown(configure, user):
    """A user who exists but is not listed, and a name nobody has: the same answer, byte for byte,
    from the same database queries (no user enumeration, not by timing either)."""
    get_user_model().objects.create_user("bob", "bob@example.com", "pw")
    configure(WEBFINGER_USERS=["alice"])
    answers = []
    for name in ("bob", "nobody"):
        with CaptureQueriesContext(connection) as queries:
            response = finger(res(f"acct:{name}@testserver"))
        sql = [q["sql"].replace(name, "?") for q in queries.captured_queries]
        answers.append((response.status_code, response.content, sorted(response.items()), sql))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404 and json.loads(answers[0][1]) == NOT_FOUND
    assert len(answers[0][3]) == 1  # the lookup ran for both


@pytest.mark.parametrize(
    "resource",
    [
        "acct:alice@evil.example",
        "acct:alice@testserver:8443",
        "acct:alice@testserver@evil.example",
        "acct:%ff@testserver",
        "acct:nobody@testserver",
        "https://evil.example/alice",
        "https://alice@testserver/",
        "https://testserver/alice/x",
        "https://testserver/alice?x=1",
        "https://testserver/alice#x",
        "https://testserver/%ff",
        "https://[::1/alice",
        "mailto:alice@testserver",
        "urn:alice",
    ],
)
def test_unknown_resources_are_404(configure, user, resource):
    configure(WEBFINGER_USERS="all")
    assert_jrd(finger(res(resource)), 404, NOT_FOUND)


def test_the_host_itself(user):
    """OIDC Discovery §2.2.3: a host (and port) resolves to the issuer; no user is involved."""
    for resource in ("https://testserver", "https://testserver/"):
        assert_jrd(finger(res(resource)), 200, issuer_of(resource))


@pytest.mark.parametrize(
    "rels, links",
    [
        ([ISSUER_REL], [{"rel": ISSUER_REL, "href": ISSUER}]),
        (["http://webfinger.net/rel/profile-page"], []),
        (["http://webfinger.net/rel/profile-page", ISSUER_REL], [{"rel": ISSUER_REL, "href": ISSUER}]),
    ],
)
def test_only_the_relations_asked_for(configure, user, rels, links):
    configure(WEBFINGER_USERS="all")
    response = finger(res("acct:alice@testserver"), *[("rel", rel) for rel in rels])
    assert_jrd(response, 200, {"subject": "acct:alice@testserver", "links": links})


def test_the_requests_host_only_when_listed_in_allowed_hosts(settings, configure, user):
    configure(WEBFINGER_USERS="all")
    settings.ALLOWED_HOSTS = ["example.com", "testserver"]
    response = finger(res("acct:alice@example.com"), HTTP_HOST="example.com")
    assert_jrd(response, 200, issuer_of("acct:alice@example.com"))
    assert_jrd(finger(res("acct:alice@example.com")), 404, NOT_FOUND)  # asked at testserver
    settings.ALLOWED_HOSTS = [".example.com", "*"]
    assert_jrd(finger(res("acct:alice@example.com"), HTTP_HOST="example.com"), 404, NOT_FOUND)
    assert_jrd(finger(res("acct:alice@evil.example"), HTTP_HOST="evil.example"), 404, NOT_FOUND)


def test_methods(configure, user):
    configure(WEBFINGER_USERS="all")
    http = HttpClient()
    head = http.head(f"{URL}?resource=acct:alice@testserver")
    assert head.status_code == 200 and head["Content-Type"] == "application/jrd+json" and head.content == b""
    options = http.options(URL)
    assert options.status_code == 200 and options["Access-Control-Allow-Origin"] == "*"
    assert options["Allow"] == "GET, HEAD, OPTIONS"
    assert http.post(f"{URL}?resource=acct:alice@testserver").status_code == 405


def test_rate_limited_per_address(configure, user):
    configure(WEBFINGER_RATE_LIMIT=(2, 60), WEBFINGER_USERS="all")
    assert finger(res("acct:alice@testserver")).status_code == 200
    assert finger(("resource", "")).status_code == 400  # malformed requests count too
    response = finger(res("acct:alice@testserver"))
    assert_jrd(
        response, 429, {"error": "temporarily_unavailable", "error_description": "Too many requests; retry later"}
    )
    assert 1 <= int(response["Retry-After"]) <= 60
    other = finger(res("acct:alice@testserver"), REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 200


@pytest.fixture
def checks(settings):
    settings.DEBUG = True  # the test issuer is http


@pytest.mark.parametrize("value", ["ALL", "alice", ["alice", 1], [""], {"alice": True}, 0])
def test_bad_webfinger_users_is_E040(checks, configure, value):
    configure(WEBFINGER_USERS=value)
    assert [e.id for e in check_settings()] == ["oidc_provider.E040"]


@pytest.mark.parametrize("value", ["all", [], None, ("alice", "bob@example.com")])
def test_good_webfinger_users_pass(checks, configure, value):
    configure(WEBFINGER_USERS=value)
    assert check_settings() == []


def test_bad_webfinger_rate_limit_is_E031(checks, configure):
    configure(WEBFINGER_RATE_LIMIT=(60,))
    assert [e.id for e in check_settings()] == ["oidc_provider.E031"]


def test_the_worked_example_of_the_docs(settings, configure):
    """docs/webfinger.md's curl command and its answer, on the demo's issuer and host."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "webfinger.md").read_text()
    command = page.split("```sh\ncurl '")[1].split("'")[0]
    answer = json.loads(page.split("```json\n")[1].split("```")[0])
    get_user_model().objects.create_user("demo", "demo@example.com", "demo")
    configure(ISSUER="http://127.0.0.1:8000/oidc", WEBFINGER_USERS=["demo"])
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    path = command.removeprefix("http://127.0.0.1:8000")
    response = HttpClient().get(path, HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200 and json.loads(response.content) == answer


HOSTILE = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20).map(lambda s: f"acct:{s}@testserver"),
    st.text(max_size=20).map(lambda s: f"https://testserver/{s}"),
    st.sampled_from(
        ["acct:%ff@testserver", "https://[::1", "acct:a@[::1", "http://testserver:99999/a", "\x00", "x" * 5000]
    ),
)


@given(resource=HOSTILE, rel=st.one_of(st.none(), st.text(max_size=30)))
@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
def test_hostile_resources_get_a_jrd_answer(configure, user, resource, rel):
    """Whatever the query, a 200, 400 or 404 in JSON, never a 5xx; a 200 only for alice or the host."""
    configure(WEBFINGER_USERS="all", WEBFINGER_RATE_LIMIT=None)
    query = {"resource": resource} if rel is None else {"resource": resource, "rel": rel}
    response = HttpClient().get(URL, query)
    assert response.status_code in (200, 400, 404)
    assert response["Content-Type"] == "application/jrd+json"
    body = json.loads(response.content)
    if response.status_code == 200:
        assert body["subject"] == resource
        scheme = resource.partition(":")[0].lower()
        if scheme == "acct":
            name = unquote(resource.partition(":")[2].rpartition("@")[0])
        else:
            name = unquote(urlsplit(resource).path.removeprefix("/"))
        assert name == "alice" or name.lower() == "alice@example.com" or (name == "" and scheme != "acct")
