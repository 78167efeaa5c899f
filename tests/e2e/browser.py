"""The user's part of the code flow, played with ``requests``: login page, consent page, redirect.

Every response that goes through a session from ``new_session`` is checked by ``assert_not_5xx``.
"""

from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

LOGIN_PATH = "/accounts/login/"
CONSENT_PATH = "/oidc/consent"
TIMEOUT = 30  # seconds, for every request of the suite


def assert_not_5xx(response, *args, **kwargs):
    """Fails on any server error; usable directly and as a ``requests`` response hook."""
    assert response.status_code < 500, (
        f"{response.request.method} {response.url} -> {response.status_code}\n{response.text[:2000]}"
    )
    return response


class _Session(requests.Session):
    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(method, url, **kwargs)


def new_session(session=None) -> requests.Session:
    """A ``requests.Session`` with a default timeout (or the given one, e.g. authlib's) that rejects 5xx."""
    session = session if session is not None else _Session()
    session.hooks["response"].append(assert_not_5xx)
    return session


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""


def hidden_fields(html: str) -> dict:
    """The hidden inputs of a page (csrfmiddlewaretoken, next, k)."""
    parser = _FormParser()
    parser.feed(html)
    return parser.fields


def redirect_params(location: str) -> dict:
    """The query (or, for response_mode=fragment, the fragment) parameters of a redirect."""
    parts = urlsplit(location)
    return dict(parse_qsl(parts.fragment or parts.query))


def authorize(session, url, redirect_uri, username=None, password=None, consent="allow", max_steps=10) -> dict:
    """Follow an authorization request like a browser until the OP redirects to ``redirect_uri``.

    Logs in on the login page (when asked), answers the consent page with ``consent`` ("allow" or
    "deny") and returns the redirect's parameters, without requesting the (fake) RP URI.
    """
    response = session.get(url, allow_redirects=False)
    for _ in range(max_steps):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(redirect_uri):
                return redirect_params(location)
            response = session.get(location, allow_redirects=False)
            continue
        assert response.status_code == 200, f"{response.url} -> {response.status_code}: {response.text[:1000]}"
        assert response.request.method == "GET", f"form rejected at {response.url}: {response.text[:1000]}"
        path = urlsplit(response.url).path
        form = hidden_fields(response.text)
        if path == LOGIN_PATH:
            assert username, f"the OP asks for a login: {response.url}"
            form.update(username=username, password=password)
        elif path == CONSENT_PATH:
            form["decision"] = consent
        else:
            raise AssertionError(f"unexpected page {response.url}: {response.text[:1000]}")
        response = session.post(response.url, data=form, allow_redirects=False)
    raise AssertionError(f"no redirect to {redirect_uri} after {max_steps} steps")


def lands_on_login(session, url, max_steps=10) -> bool:
    """Whether following ``url`` like a browser ends on the OP's login page (a new login is asked)."""
    response = session.get(url, allow_redirects=False)
    for _ in range(max_steps):
        if not response.is_redirect:
            return response.status_code == 200 and urlsplit(response.url).path == LOGIN_PATH
        response = session.get(urljoin(response.url, response.headers["Location"]), allow_redirects=False)
    return False


def csrf_header(session) -> dict:
    """The header Django's CSRF check accepts for a POST from ``session`` (which has seen a form)."""
    return {"X-CSRFToken": session.cookies["csrftoken"]}
