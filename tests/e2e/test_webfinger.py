"""WebFinger against a live OP, asked by idpyoidc's RP: ``RPHandler.begin(user_id=...)`` finds the
issuer from a user's identifier (OIDC Discovery 1.0 §2), then discovers, registers and signs the
user in; users WEBFINGER_USERS does not list are not found.

idpyoidc asks WebFinger over https only (``WF_URL``, as RFC 7033 §4 requires); the live server speaks
http on loopback. ``to_loopback`` stands for the TLS terminator in front of a real OP: it sends the
RP's ``https://127.0.0.1:<port>/`` requests to the server's http port and changes nothing else. The
issuer the OP names is http too, which idpyoidc accepts only with ``allow: {"http_links": True}``."""

import json
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from cryptojwt.key_jar import KeyJar
from idpyoidc.client.rp_handler import RPHandler

from tests.e2e.browser import TIMEOUT, authorize, new_session

pytestmark = pytest.mark.live

ISSUER_REL = "http://openid.net/specs/connect/1.0/issuer"
SERVICES = {
    name: {"class": f"idpyoidc.client.oidc.{module}", "kwargs": {}}
    for name, module in [
        ("webfinger", "webfinger.WebFinger"),
        ("discovery", "provider_info_discovery.ProviderInfoDiscovery"),
        ("registration", "registration.Registration"),
        ("authorization", "authorization.Authorization"),
        ("accesstoken", "access_token.AccessToken"),
        ("userinfo", "userinfo.UserInfo"),
    ]
}


@pytest.fixture(scope="module")
def op(op_server, start_server):
    """An OP (on the session's database, so with its user) where only the user ``alice`` is discoverable."""
    return start_server(env={"OIDC_TEST_SETTINGS": json.dumps({"WEBFINGER_USERS": ["alice"]})})


def to_loopback(server, http, calls):
    origin = f"https://127.0.0.1:{server.port}/"

    def request(method, url, **kwargs):
        if url.startswith(origin):
            url = f"{server.url}/{url[len(origin) :]}"
        response = http.request(method, url, **kwargs)
        calls.append((method, response.url, response.status_code))
        return response

    return request


def webfinger_url(server, resource):
    """The request idpyoidc's WebFinger service sends (its parameters in its order)."""
    return f"{server.url}/.well-known/webfinger?rel={quote(ISSUER_REL, safe='')}&resource={quote(resource, safe='')}"


def finger_rp(server, calls) -> RPHandler:
    """idpy's example RP set-up: no OP known in advance (the "" entry), dynamic registration."""
    config = {
        "client_type": "oidc",
        "allow": {"http_links": True},
        "redirect_uris": ["https://rp.example/cb"],
        "preference": {
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        },
    }
    return RPHandler(
        base_url="https://rp.example",
        client_configs={"": config},
        services=SERVICES,
        keyjar=KeyJar(),
        httpc=to_loopback(server, new_session(), calls),
        httpc_params={"timeout": TIMEOUT},
    )


def test_idpyoidc_rp_finds_the_op_from_an_acct_identifier(op, op_user):
    calls = []
    rph = finger_rp(op, calls)
    resource = f"acct:{op_user.username}@127.0.0.1:{op.port}"
    url = rph.begin(user_id=resource)

    assert calls[:3] == [
        ("GET", webfinger_url(op, resource), 200),
        ("GET", f"{op.issuer}/.well-known/openid-configuration", 200),
        ("POST", f"{op.issuer}/register", 201),
    ]
    assert rph.issuer2rp[op.issuer].get_context().issuer == op.issuer
    assert url.startswith(f"{op.issuer}/authorize?")

    redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
    response = authorize(new_session(), url, redirect_uri, op_user.username, op_user.password)
    result = rph.finalize(op.issuer, response)
    assert "error" not in result, result
    assert result["id_token"]["iss"] == op.issuer
    assert result["userinfo"]["preferred_username"] == op_user.username


def test_idpyoidc_webfinger_finds_the_op_from_a_url_identifier(op, op_user):
    """``127.0.0.1:<port>/alice`` is normalised to ``https://127.0.0.1:<port>/alice`` (OIDC Discovery §2.1)."""
    calls = []
    rph = finger_rp(op, calls)
    client = rph.do_webfinger(f"127.0.0.1:{op.port}/{op_user.username}")
    assert client.get_context().issuer == op.issuer
    assert calls == [("GET", webfinger_url(op, f"https://127.0.0.1:{op.port}/{op_user.username}"), 200)]


def test_a_user_not_listed_looks_like_no_user(op, op_user):
    """bob exists but is not listed; nobody does not exist: the same answer, headers and body."""
    op.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model\n"
        "get_user_model().objects.get_or_create(username='bob', email='bob@example.org')",
    )
    http = new_session()
    answers = []
    for user in ("bob", "nobody", "bob%40example.org", "nobody%40example.org"):
        response = http.get(f"{op.url}/.well-known/webfinger?resource=acct:{user}@127.0.0.1:{op.port}")
        headers = {k: v for k, v in response.headers.items() if k not in ("Date", "Content-Length")}
        answers.append((response.status_code, headers, response.content))
    assert answers[0][0] == 404
    assert answers[0][1]["Content-Type"] == "application/jrd+json"
    assert json.loads(answers[0][2]) == {"error": "not_found", "error_description": "Unknown resource"}
    assert all(answer == answers[0] for answer in answers)


def test_the_default_discovers_nobody(op_server, op_user):
    response = new_session().get(
        f"{op_server.url}/.well-known/webfinger",
        params={"resource": f"acct:{op_user.username}@127.0.0.1:{op_server.port}"},
    )
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "error_description": "Unknown resource"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_an_rp_asking_for_a_user_not_listed_gets_no_issuer(op, op_user):
    """idpyoidc 5.0.0's RP does not stop at the 404: it goes on with no issuer, and its discovery
    request has no URL. Nothing about the OP reached it."""
    calls = []
    rph = finger_rp(op, calls)
    with pytest.raises(requests.exceptions.MissingSchema, match="'/.well-known/openid-configuration'"):
        rph.begin(user_id=f"acct:bob@127.0.0.1:{op.port}")
    assert calls == [("GET", webfinger_url(op, f"acct:bob@127.0.0.1:{op.port}"), 404)]
    assert rph.issuer2rp == {}
