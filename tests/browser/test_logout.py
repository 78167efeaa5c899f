"""Signing out: at the OP with its confirmation (sign out, or stay), from the demo relying party with
its verified post_logout_redirect_uri, and a client's front-channel logout page loaded in an iframe."""

import base64
import json
import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.flows import (
    ALLOW,
    CONSENT_PATH,
    LOGIN_PATH,
    RESULT_PATH,
    VERIFIER,
    authorization_url,
    log_in,
    sign_in_at_demo,
)

pytestmark = pytest.mark.live

SIGN_OUT = "button[name=decision][value=logout]"
STAY = "button[name=decision][value=stay]"


def signed_in_at_demo(tab, site, someone):
    sign_in_at_demo(tab, site, someone)
    tab.click(ALLOW)
    assert tab.path == RESULT_PATH, tab.page.url


def test_sign_out_at_the_op_after_confirming(tab, demo_site, person):
    signed_in_at_demo(tab, demo_site, person())
    tab.goto(f"{demo_site.issuer}/end_session")  # no application named: the OP asks
    tab.click(SIGN_OUT)
    expect(tab.page.locator("h1#outcome")).to_be_visible()
    expect(tab.page.locator("a#continue")).to_have_count(0)
    tab.click("a#home")
    assert tab.path == "/", tab.page.url
    tab.click('a[href="/rp/login"]')  # signed out: the password is asked again
    assert tab.path == LOGIN_PATH, tab.page.url


def test_stay_signed_in_offers_the_way_back_to_the_application(tab, demo_site, person):
    someone = person()
    signed_in_at_demo(tab, demo_site, someone)
    tab.goto(f"{demo_site.issuer}/end_session?client_id=demo-client&post_logout_redirect_uri={demo_site.url}/")
    tab.click(STAY)
    expect(tab.page.locator("h1#outcome")).to_be_visible()
    back = tab.page.locator("a#continue")
    expect(back).to_have_attribute("href", f"{demo_site.url}/")
    expect(back).to_contain_text(demo_site.url.split("//", 1)[1])  # the host it leads to
    tab.click("a#continue")
    assert tab.path == "/", tab.page.url
    expect(tab.page.locator("header")).to_contain_text(f"Signed in to the OP as {someone.username}")


def test_demo_sign_out_returns_to_the_demo(tab, demo_site, person):
    """The demo RP's "Sign out everywhere" sends its ID token as id_token_hint and a registered
    post_logout_redirect_uri: no question asked, the browser ends on the demo's home page, signed out."""
    signed_in_at_demo(tab, demo_site, person())
    with tab.page.expect_navigation(url=f"{demo_site.url}/"):
        tab.page.click(f'a[href^="{demo_site.issuer}/end_session"]')
    tab.shot()
    tab.click('a[href="/rp/login"]')
    assert tab.path == LOGIN_PATH, tab.page.url


def claims_of(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_front_channel_logout_page_is_loaded_at_sign_out(tab, demo_site, person, rp_server):
    name = uuid.uuid4().hex[:10]
    discovery = requests.get(f"{demo_site.issuer}/.well-known/openid-configuration", timeout=10).json()
    registered = requests.post(
        discovery["registration_endpoint"],
        json={
            "client_name": "Front-channel test RP",
            "redirect_uris": [f"{rp_server.url}/cb/{name}"],
            "frontchannel_logout_uri": f"{rp_server.url}/fc/{name}",
            "frontchannel_logout_session_required": True,
        },
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    client = registered.json()
    redirect_uri = client["redirect_uris"][0]

    tab.goto(authorization_url(demo_site, client["client_id"], redirect_uri, scope="openid"))
    log_in(tab, person())
    assert tab.path == CONSENT_PATH, tab.page.url
    expect(tab.page.locator("#unverified")).to_be_visible()  # it registered itself
    tab.click(ALLOW)
    assert tab.path == f"/cb/{name}", tab.page.url
    exchange = {"grant_type": "authorization_code", "code": tab.query["code"], "redirect_uri": redirect_uri}
    token = requests.post(
        discovery["token_endpoint"],
        data={**exchange, "code_verifier": VERIFIER},
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    sid = claims_of(token.json()["id_token"])["sid"]

    tab.goto(f"{demo_site.issuer}/end_session")
    tab.click(SIGN_OUT)
    expect(tab.page.locator("h1#outcome")).to_be_visible()
    loaded = rp_server.wait_for(f"/fc/{name}")
    assert loaded["method"] == "GET"
    assert loaded["query"] == {"iss": [demo_site.issuer], "sid": [sid]}
