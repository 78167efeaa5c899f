"""Signing in through the demo relying party: the consent page, allowed and denied, remembered the
second time, switching account from it; at a phone's width; in French."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_USER, PHONE
from tests.browser.flows import (
    ALLOW,
    CONSENT_PATH,
    DENY,
    LOGIN_PATH,
    RESULT_PATH,
    authorization_url,
    log_in,
    sign_in_at_demo,
)

pytestmark = pytest.mark.live

DEMO_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")
EDGE = 8  # px: the least margin between the consent card and the screen's edges on a phone


def assert_signed_in_as(tab, email):
    """The demo RP's result page, showing the claims it received."""
    assert tab.path == RESULT_PATH, tab.page.url
    expect(tab.page.get_by_text(email, exact=True).first).to_be_visible()


def test_sign_in_through_the_demo_and_allow(tab, demo_site):
    sign_in_at_demo(tab, demo_site, DEMO_USER)
    page = tab.page
    expect(page.locator("#client-name")).to_have_text("Demo relying party")
    expect(page.locator("header.brand")).to_have_text("django-idpyoidc-op demo")  # the site's name, as its pages
    expect(page.locator("#destination")).to_have_text(demo_site.url.split("//", 1)[1])
    expect(page.locator("#account")).to_contain_text(DEMO_USER.username)
    for scope in DEMO_SCOPES:
        expect(page.locator(f'li[data-scope="{scope}"]')).to_have_count(1)
    # made by setup_demo (an administrator's command): no "unverified" marker, and no logo to show
    expect(page.locator("#unverified")).to_have_count(0)
    expect(page.locator("img#client-logo")).to_have_count(0)
    tab.click(ALLOW)
    assert_signed_in_as(tab, DEMO_USER.email)
    for value in ("demo", "Ada Lovelace", "+44 20 7946 0000", "Europe/London"):  # the demo profile's claims
        expect(page.get_by_text(value, exact=True).first).to_be_visible()


def test_deny_returns_access_denied_to_the_demo(tab, demo_site, person):
    someone = person()
    sign_in_at_demo(tab, demo_site, someone)
    tab.click(DENY)
    assert tab.path == RESULT_PATH and tab.query["error"] == "access_denied", tab.page.url
    expect(tab.page.get_by_text("access_denied", exact=True)).to_be_visible()
    expect(tab.page.get_by_text(someone.email, exact=True)).to_have_count(0)  # nothing was released


def test_consent_is_remembered_on_the_second_sign_in(tab, demo_site, person):
    someone = person()
    sign_in_at_demo(tab, demo_site, someone)
    tab.click(ALLOW)
    assert_signed_in_as(tab, someone.email)
    tab.click('a[href="/rp/login"]')  # "Sign in again": the OP session and the consent both stand
    assert tab.path != CONSENT_PATH, "the consent page was shown again"
    assert_signed_in_as(tab, someone.email)


def test_switch_account_from_the_consent_page(tab, demo_site, person):
    first, second = person(), person()
    sign_in_at_demo(tab, demo_site, first)
    expect(tab.page.locator("#account")).to_contain_text(first.username)
    tab.click("a#switch-account")
    assert tab.path == LOGIN_PATH, tab.page.url
    log_in(tab, second)
    assert tab.path == CONSENT_PATH, tab.page.url
    expect(tab.page.locator("#account")).to_contain_text(second.username)
    expect(tab.page.locator("#account")).not_to_contain_text(first.username)
    tab.click(ALLOW)
    assert_signed_in_as(tab, second.email)
    expect(tab.page.get_by_text(first.email, exact=True)).to_have_count(0)


def test_consent_page_keeps_a_margin_on_a_phone(new_tab, demo_site, person):
    tab = new_tab(viewport=PHONE)
    sign_in_at_demo(tab, demo_site, person())
    card = tab.page.locator("main").bounding_box()
    assert card["x"] >= EDGE and card["x"] + card["width"] <= PHONE["width"] - EDGE, card
    scroll_width = tab.page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], f"the page scrolls sideways: {scroll_width} px wide"
    tab.page.locator(ALLOW).scroll_into_view_if_needed()
    allow = tab.page.locator(ALLOW).bounding_box()
    assert allow["x"] >= EDGE and allow["x"] + allow["width"] <= PHONE["width"] - EDGE, allow


def test_consent_page_in_french(tab, demo_site, person):
    redirect_uri = f"{demo_site.url}{RESULT_PATH}"
    tab.goto(authorization_url(demo_site, "demo-client", redirect_uri, ui_locales="fr"))
    assert tab.path == LOGIN_PATH, tab.page.url
    log_in(tab, person())
    assert tab.path == CONSENT_PATH, tab.page.url
    expect(tab.page.locator("html")).to_have_attribute("lang", "fr")
    expect(tab.page.locator(ALLOW)).to_have_text("Autoriser")
    expect(tab.page.locator(DENY)).to_have_text("Refuser")
