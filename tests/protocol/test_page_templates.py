"""A site swaps the look of every OP page by overriding one template, ``oidc_provider/base.html``
(docs/templates.md): the consent, error, logout, form_post and continue pages all extend it. The
pages under a strict Content-Security-Policy keep working with an overridden ``page.css``: the
policy's hash is the hash of the stylesheet the page holds."""

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client as HttpClient

from tests import flows
from tests.page_parts import page_parts

BRANDED = Path(__file__).resolve().parent.parent / "templates" / "branded"
PAGE_TEXT = {  # a phrase of each page's own content
    "error": "The sign-in request names the parameter “scope” more than once.",
    "form_post": "Returning to the application",
    "continue": "Continue to app.example",
    "consent": "Allow",
    "logout_confirm": "Sign out?",
    "signed_out": "You are signed out",
    "stayed": "You are still signed in",
}
STRICT = {"form_post", "continue"}  # sent with the Content-Security-Policy of views.pages.locked_down


def site_name(request):
    """A site's own context processor, the setting-free way to name the site in the default ``brand``."""
    return {"site_name": "Example <Bank>"}


def templates(dirs=(), processors=()):
    [engine] = django_settings.TEMPLATES
    options = {**engine["OPTIONS"], "context_processors": [*engine["OPTIONS"]["context_processors"], *processors]}
    return [{**engine, "DIRS": [*dirs, *engine["DIRS"]], "OPTIONS": options}]


def pages(browser):
    """Each OP page, as a browser gets it."""
    _, challenge = flows.pkce_pair()
    anonymous = HttpClient()
    found = {"error": anonymous.get("/oidc/authorize?scope=a&scope=b")}
    found["form_post"] = anonymous.get(
        "/oidc/authorize", flows.auth_params(challenge, prompt="none", response_mode="form_post")
    )
    body = {"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "none"}
    registered = anonymous.post("/oidc/register", json.dumps(body), content_type="application/json").json()
    found["continue"] = anonymous.get(
        "/oidc/authorize",
        flows.auth_params(
            challenge, client_id=registered["client_id"], redirect_uri="https://app.example/cb", prompt="none"
        ),
    )
    to_consent = browser.get("/oidc/authorize", flows.auth_params(challenge))
    found["consent"] = browser.get(to_consent["Location"])
    found["logout_confirm"] = browser.get("/oidc/end_session")
    pending = re.search(r'name="pending" value="([^"]+)"', found["logout_confirm"].content.decode())[1]
    found["stayed"] = browser.post("/oidc/end_session/confirm", {"pending": pending, "decision": "stay"})
    found["signed_out"] = anonymous.get("/oidc/end_session")
    return found


@pytest.fixture
def open_registration(settings, rp):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_POLICY": "open"}


def styles(response):
    return re.findall(r"<style>(.*?)</style>", response.content.decode(), re.S)


def style_hash(css):
    return f"'sha256-{base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()}'"


def test_every_page_extends_the_sites_base(open_registration, browser, settings):
    settings.TEMPLATES = templates(dirs=[str(BRANDED)])
    branded_css = (BRANDED / "oidc_provider" / "page.css").read_text()
    found = pages(browser)
    assert set(found) == set(PAGE_TEXT)
    for name, response in found.items():
        assert response.status_code == (400 if name == "error" else 200), name
        page = response.content.decode()
        parts = page_parts(response)
        assert parts.by_id["site-header"].text == "Example Bank", name
        assert PAGE_TEXT[name] in parts.by_id["site-main"].text, name
        assert styles(response) == [branded_css], name
        assert ('<link rel="stylesheet"' in page) is (name not in STRICT), name  # the site's base asked
        if name in STRICT:
            policy = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
            assert policy["style-src"] == style_hash(branded_css), name


def test_the_default_brand_shows_the_sites_name_from_the_context(open_registration, browser, settings):
    settings.TEMPLATES = templates(processors=["tests.protocol.test_page_templates.site_name"])
    for name, response in pages(browser).items():
        assert '<header class="brand">Example &lt;Bank&gt;</header>' in response.content.decode(), name


def test_without_a_site_name_the_default_brand_shows_nothing(open_registration, browser):
    for name, response in pages(browser).items():
        page = response.content.decode()
        assert "<header" not in page and "<main>" in page, name
        assert PAGE_TEXT[name] in page_parts(response).text, name


TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "oidc_provider" / "templates" / "oidc_provider"
TRANSLATED = re.compile(
    r"{%\s*blocktranslate\b.*?%}.*?{%\s*endblocktranslate\s*%}|{%\s*translate\s.*?%}|_\(\".*?\"\)", re.S
)


def untranslated(source: str) -> list[str]:
    """The words a person would read in ``source`` that no translation tag holds."""
    text = TRANSLATED.sub("", source)
    text = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", "", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.S)
    attributes = re.findall(r"\b(?:title|alt|aria-label|placeholder)=\"([^\"]*)\"", text)
    text = re.sub(r"<[^>]*>", " ", text)
    return [s for s in [*attributes, *text.split()] if re.search(r"[A-Za-z]", s)]


@pytest.mark.parametrize(
    "name", ["base.html", "error.html", "continue.html", "form_post.html", "logout_confirm.html", "signed_out.html"]
)
def test_every_string_of_the_pages_is_translatable(name):
    assert untranslated((TEMPLATES_DIR / name).read_text()) == []


def test_an_untranslated_string_is_found():
    source = (
        '{% load i18n %}<p title="Hint">{% translate "Fine" %} Not fine {{ x }}</p>'
        "{% blocktranslate %}ok{% endblocktranslate %}"
    )
    assert untranslated(source) == ["Hint", "Not", "fine"]
