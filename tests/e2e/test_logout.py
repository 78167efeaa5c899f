"""Logout over real HTTP: RP-initiated, the site's own logout view, back-channel tokens received by an
RP server in the test process, front-channel pages loaded like a browser loads iframes."""

import time
import uuid
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest

from tests.e2e.browser import csrf_header, lands_on_login, new_session
from tests.e2e.live import free_port
from tests.e2e.rp import code_flow, fetch_jwks, validate_id_token, validate_logout_token

pytestmark = pytest.mark.live


@pytest.fixture
def signed_in(op_server, op_user, op_discovery, register, rp_server):
    """``signed_in(browser, **metadata)``: a client registered with logout URIs on ``rp_server`` under a
    fresh name, and the user signed in to it in ``browser``: (client, name, tokens, ID token claims)."""

    def sign_in(browser, **metadata):
        name = uuid.uuid4().hex[:10]
        defaults = {
            "redirect_uris": [f"{rp_server.url}/cb/{name}"],
            "post_logout_redirect_uris": [f"{rp_server.url}/bye/{name}"],
            "backchannel_logout_uri": f"{rp_server.url}/bc/{name}",
            "backchannel_logout_session_required": True,
        }
        client = register(**{**defaults, **metadata})
        user = None if browser.cookies.get("sessionid") else op_user
        token, sent = code_flow(
            client, user, op_discovery["authorization_endpoint"], op_discovery["token_endpoint"], browser=browser
        )
        claims = validate_id_token(
            token["id_token"],
            fetch_jwks(op_discovery),
            issuer=op_server.issuer,
            client_id=client.client_id,
            nonce=sent["nonce"],
            access_token=token["access_token"],
        )
        assert claims["sid"]  # the RP needs it to match logout tokens
        return client, name, token, claims

    return sign_in


def userinfo_status(op_discovery, token):
    return (
        new_session()
        .get(op_discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"})
        .status_code
    )


def end_session(browser, op_discovery, **params):
    started = time.monotonic()
    response = browser.get(op_discovery["end_session_endpoint"], params=params, allow_redirects=False)
    return response, time.monotonic() - started


def introspection(op_discovery, client, value):
    response = new_session().post(
        op_discovery["introspection_endpoint"], data={"token": value}, auth=(client.client_id, client.client_secret)
    )
    assert response.status_code == 200, response.text
    return response.json()


def assert_signed_out(browser, op_discovery, client, *tokens):
    """The tokens are dead at userinfo and introspection, and a new authorization request asks for
    the password again."""
    for token in tokens:
        assert userinfo_status(op_discovery, token) == 401
        assert introspection(op_discovery, client, token["access_token"]) == {"active": False}
    url = (
        f"{op_discovery['authorization_endpoint']}?response_type=code&client_id={client.client_id}"
        f"&redirect_uri={client.redirect_uri}&scope=openid&state=s&nonce=n"
    )
    assert lands_on_login(browser, url)


def test_rp_initiated_logout(op_server, op_discovery, signed_in, rp_server):
    browser = new_session()
    client, name, token, claims = signed_in(browser)
    assert introspection(op_discovery, client, token["access_token"])["active"] is True
    response, took = end_session(
        browser,
        op_discovery,
        id_token_hint=token["id_token"],
        post_logout_redirect_uri=f"{rp_server.url}/bye/{name}",
        state="st-9",
    )
    # the client registered itself: the person is shown where it goes and clicks (RFC 9700 §4.11.2)
    assert response.status_code == 200 and "Location" not in response.headers and took < 2
    page = _Frames()
    page.feed(response.text)
    host = rp_server.url.split("//", 1)[1]
    assert page.links == {"continue": f"{rp_server.url}/bye/{name}?state=st-9"}
    assert f"<strong>{host}</strong>" in response.text
    delivered = rp_server.wait_for(f"/bc/{name}", timeout=10)
    assert delivered["content_type"] == "application/x-www-form-urlencoded"
    validate_logout_token(
        delivered["form"]["logout_token"][0],
        fetch_jwks(op_discovery),
        issuer=op_server.issuer,
        client_id=client.client_id,
        id_token_claims=claims,
    )
    assert_signed_out(browser, op_discovery, client, token)


def test_single_logout_reaches_every_client_of_the_session(op_server, op_discovery, signed_in, rp_server):
    browser = new_session()
    first = signed_in(browser)
    second = signed_in(browser)  # single sign-on: no password the second time
    response, _ = end_session(browser, op_discovery, id_token_hint=second[2]["id_token"])
    assert response.status_code == 200 and "You are signed out" in response.text
    jwks = fetch_jwks(op_discovery)
    for client, name, _token, claims in (first, second):
        delivered = rp_server.wait_for(f"/bc/{name}", timeout=10)
        validate_logout_token(
            delivered["form"]["logout_token"][0],
            jwks,
            issuer=op_server.issuer,
            client_id=client.client_id,
            id_token_claims=claims,
        )
    assert_signed_out(browser, op_discovery, first[0], first[2], second[2])


def test_the_sites_own_logout_ends_the_op_session(op_server, op_discovery, signed_in, rp_server):
    browser = new_session()
    client, name, token, claims = signed_in(browser)
    response = browser.post(
        urljoin(op_server.url, "/accounts/logout/"), headers=csrf_header(browser), allow_redirects=False
    )
    assert response.status_code == 200
    delivered = rp_server.wait_for(f"/bc/{name}", timeout=10)
    validate_logout_token(
        delivered["form"]["logout_token"][0],
        fetch_jwks(op_discovery),
        issuer=op_server.issuer,
        client_id=client.client_id,
        id_token_claims=claims,
    )
    assert_signed_out(browser, op_discovery, client, token)


class _Frames(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.links = [], {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "iframe":
            self.srcs.append(attrs["src"])
        if tag == "a" and attrs.get("id"):
            self.links[attrs["id"]] = attrs["href"]


def test_front_channel_logout(op_server, op_discovery, signed_in, rp_server):
    browser = new_session()
    fc = uuid.uuid4().hex[:10]
    client, name, token, claims = signed_in(
        browser, frontchannel_logout_uri=f"{rp_server.url}/fc/{fc}?tab=1", frontchannel_logout_session_required=True
    )
    response, _ = end_session(
        browser,
        op_discovery,
        id_token_hint=token["id_token"],
        post_logout_redirect_uri=f"{rp_server.url}/bye/{name}",
        state="st-3",
    )
    assert response.status_code == 200 and response.headers["X-Frame-Options"] == "DENY"
    page = _Frames()
    page.feed(response.text)
    assert page.links["continue"] == f"{rp_server.url}/bye/{name}?state=st-3"
    for src in page.srcs:  # what the browser does with the iframes
        assert new_session().get(src).status_code == 200
    [loaded] = rp_server.to(f"/fc/{fc}")
    assert loaded["query"] == {"tab": ["1"], "iss": [op_server.issuer], "sid": [claims["sid"]]}
    assert_signed_out(browser, op_discovery, client, token)


def test_post_logout_redirect_uri_mismatch_is_not_followed(op_discovery, signed_in, rp_server):
    browser = new_session()
    client, name, token, claims = signed_in(browser)
    response, _ = end_session(
        browser,
        op_discovery,
        id_token_hint=token["id_token"],
        post_logout_redirect_uri=f"{rp_server.url}/bye/{name}/elsewhere",
        state="st",
    )
    assert response.status_code == 200 and "Location" not in response.headers
    assert "You are signed out" in response.text and "elsewhere" not in response.text
    assert_signed_out(browser, op_discovery, client, token)


def test_slow_and_dead_rps_do_not_hold_up_logout(op_server, op_discovery, signed_in, rp_server):
    browser = new_session()
    dead_uri = f"http://127.0.0.1:{free_port()}/bc"
    dead = signed_in(browser, backchannel_logout_uri=dead_uri)
    slow = signed_in(browser)
    rp_server.respond(f"/bc/{slow[1]}", delay=3)
    fast = signed_in(browser)
    response, took = end_session(
        browser,
        op_discovery,
        id_token_hint=fast[2]["id_token"],
        post_logout_redirect_uri=f"{rp_server.url}/bye/{fast[1]}",
    )
    assert response.status_code == 200 and took < 1.5  # the page with the link to the (self-registered) client
    assert (
        rp_server.wait_for(f"/bc/{fast[1]}", timeout=5)["at"] < rp_server.wait_for(f"/bc/{slow[1]}", timeout=10)["at"]
    )
    assert_signed_out(browser, op_discovery, fast[0], dead[2], slow[2], fast[2])
    time.sleep(4)  # three attempts at the dead RP, 1 s and 2 s apart
    failures = op_server.manage(
        "shell",
        "-c",
        "from oidc_provider.models import BackchannelLogoutFailure as F\n"
        f"print(list(F.objects.filter(client_id={dead[0].client_id!r}).values_list('uri', 'attempts')))",
    )
    assert failures.strip().splitlines()[-1] == str([(dead_uri, 3)])
