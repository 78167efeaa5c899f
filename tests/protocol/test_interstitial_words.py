"""The page a person clicks through on the way back to a client nobody vetted (``continue.html``,
``form_post.html``) says why, in words marked for translation: not the ``error_description`` written
for the client (English, in the third person: "The user denied the request"), which stays in the
response itself. Every translated string is wrapped in « » here, so an unmarked one shows bare."""

import html
import json
import re

import pytest
from django.test import Client as HttpClient
from django.utils import translation

from tests import flows

EVIL = "https://evil.example/landing"


@pytest.fixture
def marked(monkeypatch):
    translation.gettext("")  # Django's translation functions, looked up once, are then attributes
    for name, wrap in {
        "gettext": lambda f: lambda m: f"«{f(m)}»",
        "pgettext": lambda f: lambda c, m: f"«{f(c, m)}»",
        "ngettext": lambda f: lambda s, p, n: f"«{f(s, p, n)}»",
    }.items():
        monkeypatch.setattr(translation._trans, name, wrap(getattr(translation._trans, name)))


@pytest.fixture
def registered(rp):
    body = {"redirect_uris": [EVIL], "token_endpoint_auth_method": "none", "client_name": "Self-made"}
    response = HttpClient().post("/oidc/register", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["client_id"]


def description(response) -> str:
    """The paragraph under the page's heading: why the request ends here."""
    assert response.status_code == 200 and "Location" not in response
    match = re.search(r"</h1>\s*<p>(.*?)</p>", response.content.decode(), re.S)
    assert match, response.content.decode()
    return html.unescape(match.group(1))


@pytest.mark.parametrize("mode", ["query", "form_post"])
def test_a_denial_is_explained_in_translatable_words(registered, browser, marked, mode):
    params = flows.auth_params(
        flows.pkce_pair()[1], client_id=registered, redirect_uri=EVIL, scope="openid", response_mode=mode
    )
    response = browser.get("/oidc/authorize", params)
    key = flows.query(response)["k"]
    response = browser.post("/oidc/consent", {"k": key, "decision": "deny"})
    text = description(response)
    assert text.startswith("«") and text.endswith("»"), text


@pytest.mark.parametrize("mode", ["query", "form_post"])
def test_prompt_none_without_a_session_is_explained_in_translatable_words(registered, marked, mode):
    params = flows.auth_params(
        flows.pkce_pair()[1], client_id=registered, redirect_uri=EVIL, scope="openid", prompt="none", response_mode=mode
    )
    text = description(HttpClient().get("/oidc/authorize", params))
    assert text.startswith("«") and text.endswith("»"), text
