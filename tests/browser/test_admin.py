"""The admin: an administrator creates a confidential client and sees its secret once."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN
from tests.browser.flows import log_in

pytestmark = pytest.mark.live


def test_new_client_secret_is_shown_once(tab, demo_site):
    tab.goto(f"{demo_site.url}/admin/oidc_provider/client/add/")
    log_in(tab, ADMIN)
    page = tab.page
    assert tab.path == "/admin/oidc_provider/client/add/", page.url
    client_id = page.input_value("#id_client_id")
    if not client_id:  # typed by hand where the form does not generate one
        client_id = "browser-made-client"
        page.fill("#id_client_id", client_id)
    page.fill("#id_client_name", "Browser-made client")
    page.fill("#id_redirect_uris", "https://app.example/callback")
    tab.click("input[name=_save]")

    secret = page.locator("code#client-secret")
    expect(secret).to_be_visible()
    value = secret.inner_text().strip()
    assert len(value) >= 32, value
    expect(page.locator(".messagelist li").filter(has_text=value)).to_have_count(0)

    tab.goto(page.url)  # the same address again: the secret is not there
    assert value not in page.content()
    tab.goto(f"{demo_site.url}/admin/oidc_provider/client/")
    tab.click('a:text-is("Browser-made client")')  # the list links each client by its name
    expect(page.locator("code#client-secret")).to_have_count(0)
    assert value not in page.content()
