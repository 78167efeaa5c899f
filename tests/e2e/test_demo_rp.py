"""The example project's demo relying party (``example_project/demo/rp.py``, idpyoidc's RP) against a
live OP: it names no ``prompt``, so its first sign-in asks for consent (``offline_access`` included)
and its second goes straight through, with a refresh token still issued (docs/demo.md)."""

from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest

from example_project.demo import rp
from tests.e2e.browser import CONSENT_PATH, authorize, new_session, redirect_params

pytestmark = pytest.mark.live


@pytest.fixture
def demo(op_server, settings):
    """The demo client, registered as ``manage.py setup_demo`` does, at the live OP."""
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "ISSUER": op_server.issuer}
    grant_types = ["--grant-type", "authorization_code", "--grant-type", "refresh_token"]
    op_server.manage(
        "createclient",
        *["--client-id", rp.DEMO_CLIENT_ID, "--client-secret", rp.DEMO_CLIENT_SECRET],
        *["--redirect-uri", rp.redirect_uri(), "--scope", rp.DEMO_SCOPE, *grant_types],
    )


def finish(session, params) -> str | None:
    """``rp.finalize`` (code, tokens, ID token, userinfo), then the refresh token the OP issued, if any."""
    saved = session[rp.SESSION_KEY][params["state"]]
    assert "error" not in rp.finalize(session, params)
    client = rp.make_handler().client_setup(rp.issuer())
    client.get_context().cstate.load(saved)
    return client.get_context().cstate.get_claim(params["state"], "refresh_token")


def test_the_second_sign_in_skips_consent_and_keeps_offline_access(demo, op_user):
    session, browser = {}, new_session()
    url = rp.begin(session)
    assert "prompt" not in dict(parse_qsl(urlsplit(url).query))  # idpyoidc's prompt=consent taken out
    params = authorize(browser, url, rp.redirect_uri(), op_user.username, op_user.password, consent="allow")
    assert finish(session, params)

    response = browser.get(rp.begin(session), allow_redirects=False)  # signed in, consent remembered
    assert response.headers["Location"].startswith(rp.redirect_uri())
    assert finish(session, redirect_params(response.headers["Location"]))

    response = browser.get(rp.begin(session, {"prompt": "consent"}), allow_redirects=False)
    assert urlsplit(urljoin(response.url, response.headers["Location"])).path == CONSENT_PATH
