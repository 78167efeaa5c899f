"""The consent page: who asks (name, logo, policy, terms, whether anyone vetted it), where the answer
goes, each scope in plain words, the claims the ``claims`` parameter asks for, the signed-in account,
switching account, and what a remembered consent covers."""

import json
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model

from oidc_provider.models import Client, Consent, OPSession
from tests import flows

HOSTILE_NAME = '<b onmouseover="x()">Your Bank (official)</b>'


class Page(HTMLParser):
    """The elements of a page, each with its attributes and its text (a tag is a space, as a line
    break or a cell's edge is when read)."""

    VOID = {"img", "br", "input", "meta", "link"}

    def __init__(self, response):
        super().__init__()
        self.elements, self.open = [], []
        self.html = response.content.decode()
        self.feed(self.html)

    def handle_starttag(self, tag, attrs):
        self.handle_data(" ")
        element = {"tag": tag, "attrs": dict(attrs), "text": "", "parent": self.open[-1] if self.open else None}
        self.elements.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_endtag(self, tag):
        self.handle_data(" ")
        while self.open and self.open.pop()["tag"] != tag:
            pass

    def handle_data(self, data):
        for element in self.open:
            element["text"] += data

    def find(self, tag=None, **attrs) -> list:
        return [
            e
            for e in self.elements
            if tag in (None, e["tag"]) and all(e["attrs"].get(k) == v for k, v in attrs.items())
        ]

    def one(self, tag=None, **attrs) -> dict:
        [element] = self.find(tag, **attrs)
        return element

    def text(self, tag=None, **attrs) -> str:
        return " ".join(self.one(tag, **attrs)["text"].split())

    def has(self, **attrs) -> bool:
        return bool(self.find(**attrs))

    def items(self, **attrs) -> list[str]:
        """The texts of the list items of the list with ``attrs``."""
        parent = self.one(**attrs)
        return [" ".join(e["text"].split()) for e in self.elements if e["tag"] == "li" and e["parent"] is parent]

    def scopes(self) -> list[str]:
        return [e["attrs"]["data-scope"] for e in self.elements if "data-scope" in e["attrs"]]


def consent_page(browser, **overrides):
    """The consent page of an authorization request of rp1 with ``overrides``; its ``key`` set on it."""
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, **overrides))
    assert response.status_code == 302 and response["Location"].startswith("/oidc/consent?k="), response
    page = browser.get(response["Location"])
    assert page.status_code == 200
    page.key = flows.query(response)["k"]
    return page


def client_update(**fields):
    Client.objects.filter(client_id="rp1").update(**fields)


def test_the_page_says_who_asks_where_it_goes_and_who_is_signed_in(rp, browser):
    client_update(client_name="Example App")
    response = consent_page(browser)
    page = Page(response)
    assert page.text(id="client-name") == "Example App"
    assert page.text(id="destination") == "rp.example"
    assert page.text(id="account") == "alice"
    link = page.one(id="switch-account")
    assert link["tag"] == "a" and link["attrs"]["href"] == f"/oidc/consent/switch-account?k={response.key}"
    assert page.text(id="switch-account") == "Not you? Switch account"
    assert page.text("button", name="decision", value="allow") == "Allow"
    assert page.text("button", name="decision", value="deny") == "Deny"
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"  # an https logo may load
    assert response["Referrer-Policy"] == "same-origin"  # the key in its URL stays here


def test_the_client_id_names_a_client_without_a_name(rp, browser):
    assert Page(consent_page(browser)).text(id="client-name") == "rp1"


def test_each_scope_in_plain_words_with_what_it_releases(offline_rp, browser):
    client_update(client_name="Example App")
    page = Page(consent_page(browser, scope=flows.OFFLINE_SCOPE))
    assert page.scopes() == ["openid", "profile", "email", "offline_access"]
    openid = "Confirm who you are Shares: an identifier for your account"
    assert page.text(**{"data-scope": "openid"}) == openid
    assert page.text(**{"data-scope": "profile"}) == (
        "Your profile Shares: full name, given name, family name, middle name, nickname, profile page, picture, "
        "website, gender, date of birth, time zone, language and region, when your profile was last updated, username"
    )
    assert page.text(**{"data-scope": "email"}) == (
        "Your email address Shares: email address, whether your email address is verified"
    )
    assert page.text(**{"data-scope": "offline_access"}) == "Stay signed in to Example App when you are away"
    assert " :" not in page.text(id="scopes") and "_" not in page.text(id="scopes")


def test_a_hostile_client_name_is_text_everywhere(offline_rp, browser):
    client_update(client_name=HOSTILE_NAME)
    response = consent_page(browser, scope=flows.OFFLINE_SCOPE)
    page = Page(response)
    assert page.text(id="client-name") == HOSTILE_NAME
    assert page.text(**{"data-scope": "offline_access"}) == f"Stay signed in to {HOSTILE_NAME} when you are away"
    assert "<b " not in page.html and page.html.count("&lt;b onmouseover=&quot;x()&quot;&gt;") == 3  # title, h1, li


def test_scopes_the_client_may_not_be_granted_are_not_shown(rp, browser):
    page = Page(consent_page(browser, scope="openid email phone offline_access"))
    assert page.scopes() == ["openid", "email"]


def test_scope_descriptions_are_a_setting_added_to_the_defaults(db, browser, settings):
    settings.OIDC_PROVIDER = {
        **settings.OIDC_PROVIDER,
        "SCOPES_TO_CLAIMS": {"openid": ["sub"], "email": ["email"], "payments": ["iban"], "orders": []},
        "SCOPE_DESCRIPTIONS": {"payments": "Pay for %(client)s in your name"},
    }
    flows.make_client("rp1", "s3cret", "--scope", "openid email payments orders")
    page = Page(consent_page(browser, scope="openid email payments orders"))
    assert page.text(**{"data-scope": "email"}) == "Your email address Shares: email address"
    assert page.text(**{"data-scope": "payments"}) == "Pay for rp1 in your name Shares: iban"
    assert page.text(**{"data-scope": "orders"}) == "orders"  # no description: its name


def test_claims_requested_by_the_claims_parameter_are_listed(rp, browser):
    claims = {
        "userinfo": {"given_name": None, "zoneinfo": {"essential": True}, "<i>x</i>": None, "": None},
        "id_token": {"given_name": None, "acr": {"values": ["urn:x"]}, "amr": None},
    }
    page = Page(consent_page(browser, claims=json.dumps(claims)))
    assert page.items(id="requested-claims") == ["given name", "time zone", "<i>x</i>", "how you signed in"]
    assert "&lt;i&gt;x&lt;/i&gt;" in page.html and "<i>" not in page.html


def test_without_a_claims_parameter_no_claims_are_listed(rp, browser):
    assert not Page(consent_page(browser, claims="{}")).has(id="requested-claims")


@pytest.mark.parametrize(
    "claims",
    [
        "junk",
        "[1]",
        '"userinfo"',
        '{"userinfo": ["email"]}',
        '{"userinfo": "email"}',
        '{"userinfo": {"email": null}, "id_token": null}',
    ],
)
def test_a_claims_parameter_that_is_not_a_claims_request_is_invalid_request(rp, browser, claims):
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, claims=claims))
    assert response["Location"].startswith(flows.REDIRECT_URI)
    params = flows.query(response)
    assert params["error"] == "invalid_request" and params["state"] == "st-1"


@pytest.mark.parametrize(
    "claims",
    [
        {"userinfo": {"email": 5}},
        {"userinfo": {"email": "essential"}},
        {"id_token": {"email": [None]}},
        {"id_token": {"email": {"values": 3}}},
        {"userinfo": {"email": {"values": "alice@example.com"}}},
    ],
)
def test_a_claims_parameter_with_junk_claim_requests_is_invalid_request(rp, browser, claims):
    """Defect 104: such a request was accepted, and its token and userinfo requests answered 500."""
    Client.objects.filter(client_id="rp1").update(skip_consent=True)
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, claims=json.dumps(claims)))
    params = flows.query(response)
    assert params == {
        "error": "invalid_request",
        "error_description": "A claim in the claims parameter's "
        + next(iter(claims))
        + " member is not null or a claim request object",
        "state": "st-1",
        "iss": "http://testserver/oidc",
    }


def test_well_formed_claim_requests_reach_the_tokens(rp, browser, http):
    claims = {"userinfo": {"email": {"essential": True}}, "id_token": {"given_name": {"values": ["Alice", "Bob"]}}}
    tokens = flows.get_tokens(browser, http, scope="openid", claims=json.dumps(claims))
    assert flows.jwt_claims(tokens["id_token"])["given_name"] == "Alice"
    assert flows.userinfo(http, tokens["access_token"]).json()["email"] == "alice@example.com"


HTTPS = {
    "logo_uri": "https://rp.example/logo.png",
    "policy_uri": "https://rp.example/privacy",
    "tos_uri": "https://rp.example/terms",
}


def test_logo_policy_and_terms_from_https_uris(rp, browser):
    client_update(metadata=HTTPS)
    page = Page(consent_page(browser))
    logo = page.one(id="client-logo")
    assert logo["tag"] == "img" and logo["attrs"]["src"] == HTTPS["logo_uri"]
    assert logo["attrs"]["referrerpolicy"] == "no-referrer"
    for element_id, name in (("client-policy", "policy_uri"), ("client-tos", "tos_uri")):
        link = page.one(id=element_id)
        assert link["tag"] == "a" and link["attrs"]["href"] == HTTPS[name]
        assert link["attrs"]["rel"] == "noopener noreferrer"
    assert page.text(id="client-policy") == "Its privacy policy"
    assert page.text(id="client-tos") == "Its terms of service"


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "http://rp.example/logo.png",
        "data:image/png;base64,AAAA",
        "//rp.example/logo.png",
        "/logo.png",
        " https://rp.example/logo.png",
        "https://user@rp.example/logo.png",
        "https://evil.example\\rp.example/logo.png",
        "https://аpple.com/logo.png",
        "https:///logo.png",
        '"><script>x()</script>',
        123,
        ["https://rp.example/logo.png"],
        None,
    ],
)
def test_a_logo_policy_or_terms_not_https_is_not_shown(rp, browser, uri):
    client_update(metadata={"logo_uri": uri, "policy_uri": uri, "tos_uri": uri})
    page = Page(consent_page(browser))
    assert not page.find(tag="img")
    assert not page.has(id="client-policy") and not page.has(id="client-tos")
    assert "<script>" not in page.html


@pytest.mark.parametrize(
    "registered_via, vetted, marked",
    [
        ("registration", False, True),
        ("registration", True, False),
        ("admin", False, False),
        ("command", False, False),
    ],
)
def test_a_client_that_registered_itself_is_marked_until_vetted(rp, browser, registered_via, vetted, marked):
    """A trusted (skip_consent) client shows no consent page at all."""
    client_update(registered_via=registered_via, vetted=vetted)
    page = Page(consent_page(browser))
    assert page.has(id="unverified") is marked
    if marked:
        assert page.text(id="unverified") == "⚠ This application registered itself; its name is not verified."


@pytest.mark.parametrize(
    "registered_via, skip_consent, vetted, expected",
    [
        ("registration", False, False, False),
        ("registration", False, True, True),
        ("registration", True, False, True),
        ("admin", False, False, True),
        ("command", False, False, True),
    ],
)
def test_is_vetted(registered_via, skip_consent, vetted, expected):
    client = Client(registered_via=registered_via, skip_consent=skip_consent, vetted=vetted)
    assert client.is_vetted is expected


# Language


@pytest.mark.parametrize(
    "ui_locales, lang",
    [("fr", "fr"), ("tlh fr-CA de", "fr"), ("tlh", "en"), ("", "en"), ("x" * 1000, "en")],
)
def test_ui_locales_chooses_the_page_language(rp, browser, ui_locales, lang):
    assert f'<html lang="{lang}">' in consent_page(browser, ui_locales=ui_locales).content.decode()


def test_ui_locales_holds_for_the_answer_to_the_page(rp, browser):
    """The request's language holds for every page it shows: here the continue page of a denial
    to a client that registered itself."""
    client_update(registered_via="registration")
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, ui_locales="fr"))
    key = flows.query(response)["k"]
    response = browser.post("/oidc/consent", {"k": key, "decision": "deny"})
    assert response.status_code == 200 and '<html lang="fr">' in response.content.decode()


def test_without_ui_locales_the_browser_language_holds(rp, browser):
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43), HTTP_ACCEPT_LANGUAGE="fr")
    page = browser.get(response["Location"], HTTP_ACCEPT_LANGUAGE="fr")
    assert '<html lang="fr">' in page.content.decode()
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, ui_locales="en"), HTTP_ACCEPT_LANGUAGE="fr")
    page = browser.get(response["Location"], HTTP_ACCEPT_LANGUAGE="fr")
    assert '<html lang="en">' in page.content.decode()  # ui_locales comes first
    # a language the site does not offer (LANGUAGES) is skipped: the browser's holds
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, ui_locales="de"), HTTP_ACCEPT_LANGUAGE="fr")
    page = browser.get(response["Location"], HTTP_ACCEPT_LANGUAGE="fr")
    assert '<html lang="fr">' in page.content.decode()


# Remembered consent and the claims parameter


def test_remembered_consent_skips_the_page(rp, browser):
    flows.get_code(browser)
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43))
    assert "code" in flows.query(response)


@pytest.mark.parametrize(
    "claims, asked",
    [
        ({"userinfo": {"email": None}}, False),  # the consented email scope releases it
        ({"id_token": {"acr": {"essential": True}, "auth_time": None}}, False),  # about the sign-in
        ({"userinfo": {"phone_number": None}}, True),  # no consented scope releases it
        ({"id_token": {"x-custom": None}}, True),
    ],
)
def test_remembered_consent_covers_claims_its_scopes_release(rp, browser, claims, asked):
    """A consent remembers scopes: a claim none of them releases, asked for by the claims parameter
    (released whatever the scopes), is asked for each time."""
    flows.get_code(browser)
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, claims=json.dumps(claims)))
    assert response["Location"].startswith("/oidc/consent") is asked
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, claims=json.dumps(claims), prompt="none"))
    assert (flows.query(response).get("error") == "consent_required") is asked


# Switch account


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob", "bob@example.com", "pw")


def switch_link(browser, **overrides):
    return Page(consent_page(browser, **overrides)).one(id="switch-account")["attrs"]["href"]


def test_switch_account_signs_out_and_resumes_the_same_request_as_another_user(
    offline_rp, browser, http, bob, deliveries, django_capture_on_commit_callbacks
):
    client_update(backchannel_logout_uri="https://rp.example/backchannel")
    alices = flows.get_tokens(browser, http, scope="openid")  # a grant in alice's OP session
    verifier, challenge = flows.pkce_pair()
    params = flows.auth_params(challenge, state="st-switch", login_hint="alice", ui_locales="fr")
    response = browser.get("/oidc/authorize", params)
    link = Page(browser.get(response["Location"])).one(id="switch-account")["attrs"]["href"]
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.get(link)
    # alice is signed out: her Django session, her OP session, its grants and tokens
    assert "_auth_user_id" not in browser.session
    assert OPSession.objects.get().ended_at is not None
    assert flows.userinfo(http, alices["access_token"]).status_code == 401
    assert [d["client_id"] for d in deliveries] == ["rp1"]
    # the login page, then the same request: no login_hint naming alice any more
    assert response.status_code == 302
    assert response["Location"].startswith("http://testserver/accounts/login/?next=")
    assert "login_hint" not in response["Location"]
    resume = flows.query(response)["next"]
    browser.post("/accounts/login/", {"username": "bob", "password": "pw", "next": resume})
    response = browser.get(resume)
    assert response["Location"].startswith("/oidc/consent")  # bob has not consented
    page = browser.get(response["Location"])
    assert Page(page).text(id="account") == "bob" and '<html lang="fr">' in page.content.decode()
    response = browser.post("/oidc/consent", {"k": flows.query(response)["k"], "decision": "allow"})
    answer = flows.query(response)
    assert answer["state"] == "st-switch"
    tokens = flows.redeem(http, answer["code"], verifier).json()
    assert flows.userinfo(http, tokens["access_token"]).json()["email"] == "bob@example.com"
    assert Consent.objects.get(user=bob).scopes == ["email", "openid", "profile"]


def test_switch_account_loads_the_front_channel_logout_pages_on_the_way(rp, browser, http):
    client_update(frontchannel_logout_uri="https://rp.example/frontchannel")
    flows.get_tokens(browser, http, scope="openid")
    response = browser.get(switch_link(browser))
    page = Page(response)
    assert response.status_code == 200 and "_auth_user_id" not in browser.session
    [frame] = page.find(tag="iframe")
    assert frame["attrs"]["src"].startswith("https://rp.example/frontchannel")
    assert page.one(id="continue")["attrs"]["href"].startswith("http://testserver/accounts/login/?next=")
    assert page.text(id="continue") == "Continue to testserver"


@pytest.mark.parametrize("key", [None, "", "made-up"])
def test_switch_account_without_the_pending_key_signs_nobody_out(rp, browser, key):
    """The key is the link's CSRF token: another site cannot know it, so cannot sign anyone out."""
    switch_link(browser)  # a pending request exists
    response = browser.get("/oidc/consent/switch-account", {} if key is None else {"k": key})
    assert response.status_code == 400 and b"This sign-in request has expired" in response.content
    assert "_auth_user_id" in browser.session


def test_switch_account_takes_get_only(rp, browser):
    link = switch_link(browser)
    assert browser.post(link).status_code == 405 and "_auth_user_id" in browser.session
