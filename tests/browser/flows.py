"""What a person does on the demo site: start a sign-in at the demo relying party, type a password
on the login page, answer the consent page."""

import base64
import hashlib
from urllib.parse import urlencode

LOGIN_PATH = "/accounts/login/"
CONSENT_PATH = "/oidc/consent"
RESULT_PATH = "/rp/callback"  # the demo RP's redirect_uri: its result (or error) page

ALLOW = "button[name=decision][value=allow]"
DENY = "button[name=decision][value=deny]"

VERIFIER = "browser-tests-pkce-verifier-0123456789-abcdefghijklmnop"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def start_at_demo(tab, site):
    """The demo's home page, then its "Sign in with this OP" link: the OP's login page."""
    tab.goto(f"{site.url}/")
    tab.click('a[href="/rp/login"]')
    assert tab.path == LOGIN_PATH, tab.page.url


def log_in(tab, person):
    """Fill in the login form of the page the tab is on and submit it."""
    tab.page.fill("input[name=username]", person.username)
    tab.page.fill("input[name=password]", person.password)
    tab.click("form [type=submit]")


def sign_in_at_demo(tab, site, person):
    """From the demo's home page to the OP's consent page, signed in as ``person``."""
    start_at_demo(tab, site)
    log_in(tab, person)
    assert tab.path == CONSENT_PATH, tab.page.url


def authorization_url(site, client_id, redirect_uri, **params):
    """An authorization request of the code flow, with the PKCE challenge of ``VERIFIER``."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid profile email",
        "state": "browser-state",
        "nonce": "browser-nonce",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **params,
    }
    return f"{site.issuer}/authorize?{urlencode(query)}"
