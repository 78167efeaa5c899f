"""The error page of an authorization request that names no known client."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.flows import authorization_url

pytestmark = pytest.mark.live


def test_unknown_client_gets_an_error_page_with_a_reference(tab, demo_site):
    tab.goto(authorization_url(demo_site, "no-such-client", "https://rp.example/cb"))
    page = tab.page
    expect(page.locator("#error-code")).to_have_text("invalid_client")
    reference = page.inner_text("#reference").strip()
    assert re.fullmatch(r"[A-Za-z0-9-]{6,}", reference), reference
    # the operator finds the cause by the reference the person quotes
    logged = [line for line in demo_site.log().splitlines() if reference in line]
    assert len(logged) == 1 and "no-such-client" in logged[0], demo_site.log()
    tab.click("a#home")
    assert tab.page.url == f"{demo_site.url}/"
