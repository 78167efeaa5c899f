"""What the browser is shown on the way back to a client: nothing a client or a browser sends runs as
script on the OP's origin, request objects are refused, a client that registered itself cannot
use the OP as an open redirector (RFC 9700 §4.11.2), and an error page's log line cannot be forged."""

import base64
import hashlib
import json
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client as HttpClient

from oidc_provider.models import Client
from oidc_provider.server import get_server
from oidc_provider.views.pages import LOGGED_LENGTH
from tests import flows
from tests.page_parts import Element, error_page_log, page_parts

ISSUER = "http://testserver/oidc"
XSS = '"/><script>alert(document.domain)</script>'
EVIL = "https://evil.example/landing"
SUBMIT_SCRIPT = "document.forms[0].submit();\n"


class Page(HTMLParser):
    """The parts of an OP page these tests look at: forms, their inputs, links, scripts, styles."""

    def __init__(self, html):
        super().__init__()
        self.forms, self.links, self.scripts, self.styles, self.buttons, self._text = [], [], [], [], [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs["action"], "method": attrs["method"], "inputs": {}})
        elif tag == "input":
            self.forms[-1]["inputs"][attrs["name"]] = attrs["value"]
        elif tag == "a":
            self.links.append(attrs["href"])
        elif tag == "button":
            self.buttons.append(attrs)
        elif tag in ("script", "style"):
            self._text = (self.scripts if tag == "script" else self.styles, [])

    def handle_data(self, data):
        if self._text:
            self._text[1].append(data)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._text:
            self._text[0].append("".join(self._text[1]))
            self._text = None


def sha256_source(text):
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def csp(response):
    return dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))


def assert_locked_down(response, page, *, script, form_action="'none'"):
    """CSP: nothing but the page's own style and (auto-submit) script, a form post to the client only."""
    expected = {
        "default-src": "'none'",
        "style-src": sha256_source(page.styles[0]),
        "form-action": form_action,
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
    }
    if script:
        assert page.scripts == [SUBMIT_SCRIPT]
        expected["script-src"] = sha256_source(SUBMIT_SCRIPT)
    else:
        assert page.scripts == []
    assert csp(response) == expected
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    assert response["X-Frame-Options"] == "DENY" and "Location" not in response


def form_post_page(response, *, script=True):
    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    page = Page(response.content.decode())
    assert b"<script>alert" not in response.content
    [form] = page.forms
    assert form["action"] == flows.REDIRECT_URI and form["method"] == "post"
    assert page.buttons == [{"class": "primary", "type": "submit"}]  # without JavaScript: one click
    assert_locked_down(response, page, script=script, form_action="https://rp.example")
    return form["inputs"]


@pytest.fixture
def browser(op):
    browser = HttpClient()
    browser.login(username="alice", password="pw")
    return browser


def auth_params(**overrides):
    return flows.auth_params(flows.pkce_pair()[1], **overrides)


# Finding 1: reflected XSS through response_mode=form_post


def test_form_post_state_cannot_inject_script_on_the_error_path(op):
    response = HttpClient().get("/oidc/authorize", auth_params(response_mode="form_post", prompt="none", state=XSS))
    assert form_post_page(response) == {
        "error": "login_required",
        "error_description": "The user is not logged in",
        "state": XSS,
        "iss": ISSUER,
    }
    assert b'value="&quot;/&gt;&lt;script&gt;alert(document.domain)&lt;/script&gt;"' in response.content


def test_form_post_state_cannot_inject_script_on_the_success_path(browser):
    Client.objects.filter(client_id="rp1").update(skip_consent=True)  # no consent page: the code at once
    response = browser.get("/oidc/authorize", auth_params(response_mode="form_post", state=XSS))
    inputs = form_post_page(response)
    assert set(inputs) == {"code", "state", "scope", "iss", "client_id"}
    assert inputs["state"] == XSS and inputs["iss"] == ISSUER  # RFC 9207: iss in every response mode
    assert set(inputs["scope"].split()) == {"openid", "profile", "email"} and inputs["client_id"] == "rp1"


def test_form_post_error_after_consent_cannot_inject_script(browser):
    response = flows.authorize(browser, flows.pkce_pair()[1], consent="deny", response_mode="form_post", state=XSS)
    assert form_post_page(response) == {
        "error": "access_denied",
        "error_description": "The user denied the request",
        "state": XSS,
        "iss": ISSUER,
    }


@pytest.mark.parametrize("call", ["setup_auth", "exception"])
def test_idpyoidc_form_post_errors_are_not_html(op, call):
    """Defect 63: both ways idpyoidc builds a form_post error page itself give the error instead."""
    endpoint = get_server().get_endpoint("authorization")
    request = {
        "response_mode": "form_post",
        "redirect_uri": flows.REDIRECT_URI,
        "state": XSS,
        "response_type": ["code"],
    }
    if call == "setup_auth":
        result = endpoint.response_mode(request, endpoint._login_required_error(flows.REDIRECT_URI, request))
        assert result == {"error": "login_required", "state": XSS}
    else:
        result = endpoint.error_by_response_mode({}, request, "server_error", "boom")
        assert result == {"error": "server_error", "error_description": "boom", "state": XSS}


# Finding 5: request objects: an unsigned one, or one from a URI the client did not register


def unsigned_request_object(**claims):
    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'none'})}.{part(claims)}."


def test_unsigned_request_object_cannot_change_scope_or_state(browser):
    Client.objects.filter(client_id="rp1").update(skip_consent=True)
    forged = unsigned_request_object(
        client_id="rp1",
        scope="openid",
        state="forged",
        redirect_uri=flows.REDIRECT_URI,
        response_type="code",
        nonce="n-1",
    )
    response = browser.get("/oidc/authorize", auth_params(request=forged))
    assert response.status_code == 302
    assert flows.query(response) == {
        "error": "invalid_request_object",
        "state": "st-1",
        "iss": ISSUER,
        "error_description": "Unsigned request objects are not accepted",
    }


def test_request_uri_is_refused_before_anything_fetches_it(browser):
    response = browser.get("/oidc/authorize", auth_params(request_uri="https://127.0.0.1:1/request.jwt"))
    assert response.status_code == 302
    assert flows.query(response) == {
        "error": "invalid_request_uri",
        "state": "st-1",
        "iss": ISSUER,
        "error_description": "request_uri is not registered for this client",
    }


def test_request_object_with_an_unregistered_redirect_uri_gets_the_error_page(browser, caplog):
    response = browser.get("/oidc/authorize", auth_params(request=unsigned_request_object(), redirect_uri=EVIL))
    assert response.status_code == 400 and "Location" not in response
    assert b"<p>The application that sent you here asked to return to an address it has not registered.</p>" in (
        response.content
    )


# Finding 7: open redirector through open registration


@pytest.fixture
def registered(op):
    """A client that registered itself (open registration) with an attacker's redirect URIs."""
    body = {"redirect_uris": [EVIL], "post_logout_redirect_uris": [EVIL], "token_endpoint_auth_method": "none"}
    response = HttpClient().post("/oidc/register", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["client_id"]


def interstitial(response, link="Continue to evil.example"):
    """The page a person must click through: the destination's host shown, no redirect, no script."""
    assert response.status_code == 200 and "Location" not in response
    page = Page(response.content.decode())
    assert b"<strong>evil.example</strong>" in response.content and link.encode() in response.content
    assert (
        "a site this provider has not vetted. Continue only if you expected to go there." in page_parts(response).text
    )
    return page


@pytest.mark.parametrize("mode", ["query", "fragment"])
def test_prompt_none_error_of_a_self_registered_client_is_not_an_open_redirect(registered, mode):
    params = auth_params(client_id=registered, redirect_uri=EVIL, prompt="none", scope="openid", response_mode=mode)
    response = HttpClient().get("/oidc/authorize", params)
    page = interstitial(response)
    assert_locked_down(response, page, script=False)
    [link] = page.links
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == EVIL
    args = {k: v[0] for k, v in parse_qs(parts.query if mode == "query" else parts.fragment).items()}
    assert args == {
        "error": "login_required",
        "error_description": "The user is not logged in",
        "state": "st-1",
        "iss": ISSUER,
    }


@pytest.mark.parametrize(
    ("ui_locales", "said"),
    [
        ("en", "You are not signed in at this site, and the application asked not to show a sign-in page."),
        (
            "fr",
            "Vous n’avez pas de session ouverte sur ce site, et l’application a demandé de ne pas afficher "
            "de page de connexion.",
        ),
    ],
)
def test_the_page_before_an_error_response_says_what_happened_in_the_pages_language(registered, ui_locales, said):
    """The person reads a sentence for the error code in the page's language; the error_description,
    written for the client's code, stays in the response and off the page."""
    params = auth_params(client_id=registered, redirect_uri=EVIL, prompt="none", scope="openid", ui_locales=ui_locales)
    response = HttpClient().get("/oidc/authorize", params)
    text = page_parts(response).text
    assert said in text and "The user is not logged in" not in text


def test_form_post_error_of_a_self_registered_client_is_not_submitted_by_script(registered):
    params = auth_params(
        client_id=registered, redirect_uri=EVIL, prompt="none", scope="openid", response_mode="form_post"
    )
    response = HttpClient().get("/oidc/authorize", params)
    page = interstitial(response)
    assert_locked_down(response, page, script=False, form_action="https://evil.example")
    assert page.forms == [
        {
            "action": EVIL,
            "method": "post",
            "inputs": {
                "error": "login_required",
                "error_description": "The user is not logged in",
                "state": "st-1",
                "iss": ISSUER,
            },
        }
    ]


def test_trusted_self_registered_client_is_redirected_to(registered):
    Client.objects.filter(client_id=registered).update(skip_consent=True)  # an administrator vetted it
    params = auth_params(client_id=registered, redirect_uri=EVIL, prompt="none", scope="openid")
    response = HttpClient().get("/oidc/authorize", params)
    assert response.status_code == 302 and response["Location"].startswith(EVIL + "?error=login_required&")


def test_code_response_to_a_self_registered_client_is_still_a_redirect(registered, browser):
    response = flows.authorize(browser, flows.pkce_pair()[1], client_id=registered, redirect_uri=EVIL, scope="openid")
    assert response.status_code == 302 and response["Location"].startswith(EVIL + "?")
    assert set(flows.query(response)) == {"code", "state", "scope", "iss", "client_id"}


def test_anonymous_end_session_of_a_self_registered_client_is_not_an_open_redirect(registered):
    params = {"client_id": registered, "post_logout_redirect_uri": EVIL, "state": "s-1"}
    page = interstitial(HttpClient().get("/oidc/end_session", params))
    assert page.links == [f"{EVIL}?state=s-1"] and page.scripts == []


def test_staying_signed_in_shows_a_self_registered_clients_uri_and_does_not_go_there(registered, browser):
    """The confirmation's "Stay signed in" offers the way back to the application as a link only,
    and for a client nobody vetted names its host with the warning."""
    params = {"client_id": registered, "post_logout_redirect_uri": EVIL, "state": "s-1"}
    confirm = browser.get("/oidc/end_session", params).content.decode()
    pending = confirm.split('name="pending" value="', 1)[1].split('"', 1)[0]
    response = browser.post("/oidc/end_session/confirm", {"pending": pending, "decision": "stay"})
    page = interstitial(response, link="Back to evil.example")
    assert page.links == [f"{EVIL}?state=s-1"] and page.scripts == [] and b"http-equiv" not in response.content
    parts = page_parts(response)
    assert parts.by_id["outcome"] == Element("h1", {"id": "outcome"}, "You are still signed in")
    assert parts.by_id["continue"].text == "Back to evil.example" and "_auth_user_id" in browser.session


# The error page: a reference shown and logged with the cause, in one line nobody can forge


def test_error_page_logs_its_reference_with_the_cause(op, caplog):
    response = HttpClient().get("/oidc/authorize?client_id=rp1&scope=a&scope=b")
    assert error_page_log(response, caplog) == (
        f"error page {page_parts(response).by_id['reference'].text}: error=invalid_request client_id=rp1 "
        'path=/oidc/authorize description="The sign-in request names the parameter “scope” more than once."'
    )
    assert "The sign-in request names the parameter “scope” more than once." in page_parts(response).text


def test_each_error_gets_its_own_reference(op, caplog):
    references = set()
    for _ in range(3):
        caplog.clear()
        response = HttpClient().get("/oidc/authorize?scope=a&scope=b")
        error_page_log(response, caplog)
        references.add(page_parts(response).by_id["reference"].text)
    assert len(references) == 3


FORGED_LINE = "\r\n2030-01-01 WARNING oidc_provider.pages error page AAAAAAAAAA: all fine"
FORGED_LINE_ESCAPED = r"\r\n2030-01-01 WARNING oidc_provider.pages error page AAAAAAAAAA: all fine"


def test_error_description_with_html_and_crlf_is_escaped_on_the_page_and_in_the_log(op, caplog):
    """A parameter's name is in the description, the client_id is the request's: HTML is escaped on
    the page; CR, LF, the other characters that are not printable (a bidi override) and the backslash
    are escaped in the one log line."""
    name = f"<b>x</b>{FORGED_LINE}\u202e\\"
    response = HttpClient().get("/oidc/authorize", {"client_id": f"rp1{FORGED_LINE}", name: ["1", "2"]})
    assert (
        b"<b>x</b>" not in response.content
        and "<p>The sign-in request names the parameter “&lt;b&gt;x&lt;/b&gt;\r\n".encode() in response.content
    )
    assert error_page_log(response, caplog).endswith(
        f': error=invalid_request client_id="rp1{FORGED_LINE_ESCAPED}" path=/oidc/authorize '
        'description="The sign-in request names the parameter '
        f'“<b>x</b>{FORGED_LINE_ESCAPED}\\u202e\\\\” more than once."'
    )


def test_nul_in_the_client_id_is_escaped_in_the_log(op, caplog):
    response = HttpClient().get("/oidc/end_session", {"client_id": "rp1\x00\x1b[2J"})
    assert error_page_log(response, caplog).endswith(
        r': error=invalid_request client_id=rp1\x00\x1b[2J path=/oidc/end_session description="Malformed request"'
    )


def test_long_values_are_cut_and_tokens_redacted_in_the_log(op, caplog):
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    response = HttpClient().get("/oidc/end_session", {"client_id": "c" * 500, token: ["1", "2"]})
    message = error_page_log(response, caplog)
    assert message.endswith(
        f": error=invalid_request client_id={'c' * LOGGED_LENGTH}… path=/oidc/end_session "
        'description="Repeated parameter: [redacted]"'
    )
    assert token not in message and LOGGED_LENGTH == 200


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("https://\u0430pple.com/cb", "xn--pple-43d.com"),  # a Cyrillic а
        ("https://evil.example\\apple.com/cb", "evil.example"),  # where a browser goes
    ],
)
def test_interstitial_shows_the_host_a_browser_goes_to_not_a_look_alike(op, stored, shown):
    """A row stored before registration refused such hosts: the page names the real host."""
    Client.objects.create(
        client_id="old-rp",
        redirect_uris=[stored],
        grant_types=["authorization_code"],
        response_types=["code"],
        token_endpoint_auth_method="none",
        scope="openid",
        registered_via="registration",
    )
    params = auth_params(
        client_id="old-rp", redirect_uri=stored, prompt="none", scope="openid", response_mode="form_post"
    )
    response = HttpClient().get("/oidc/authorize", params)
    assert response.status_code == 200
    assert (
        f"<strong>{shown}</strong>".encode() in response.content and f"Continue to {shown}".encode() in response.content
    )
    assert "apple.com" not in response.content.decode().replace(stored, "")
    assert csp(response)["form-action"] == f"https://{shown}"
