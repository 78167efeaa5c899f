"""docs/tutorial-mozilla-django-oidc.md, run: the page's ``createclient`` command registers its site
at the live OP, and its blocks make tests/mozilla_rp, a second live Django site (gunicorn on
``localhost``, its own SQLite file) that signs people in with mozilla-django-oidc. A ``requests``
session plays the browser across both."""

import base64
import hashlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode, urlsplit

import gunicorn
import pytest
import requests

from tests.e2e.browser import CONSENT_PATH, authorize, hidden_fields, lands_on_login, new_session
from tests.e2e.live import ROOT, _tool, free_port
from tests.e2e.test_docs import createclient_commands
from tests.mozilla_rp.tutorial import blocks, page

pytestmark = pytest.mark.live

CLIENT_ID = "my-django-site"  # the page's
PASSWORD = "tutorial-pass-123"
# OP users of this module, one per test: each meets the consent page of the page's client afresh
OP_USERS = {
    "bob": "bob@example.org",
    "carol": "carol@example.org",
    "dave": "",
    "erin": "erin@example.org",
    "frank": "frank@example.org",
}
# the site's own accounts before anyone signs in through the OP
SITE_ACCOUNTS = [("alice", "Alice@example.org"), ("carol-1", "carol@example.org"), ("carol-2", "carol@example.org")]
SIGNED_OUT = "/oidc/authenticate/?next=/account/"  # where the site sends a visitor of /account/


class Site:
    """gunicorn serving tests.mozilla_rp at ``http://localhost:<port>`` on the SQLite file ``db_path``,
    its client secret ``secret`` given through the environment as the page says."""

    def __init__(self, op_origin, port, db_path, secret):
        self.op_origin = op_origin
        self.port = port
        self.url = f"http://localhost:{port}"
        self.db_path = db_path
        self.secret = secret
        self.log_path = f"{db_path}.log"
        self.process = None

    def env(self) -> dict:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.mozilla_rp.settings",
            "MOZILLA_RP_DB_PATH": self.db_path,
            "MOZILLA_RP_OP_ORIGIN": self.op_origin,
            "MOZILLA_RP_ORIGIN": self.url,
            "OIDC_RP_CLIENT_SECRET": self.secret,
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *args) -> str:
        cmd = [_tool("django-admin"), *args, "--pythonpath", str(ROOT)]
        result = subprocess.run(cmd, cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def start(self, timeout=30):
        cmd = [_tool("gunicorn"), "tests.mozilla_rp.wsgi:application", "--bind", f"127.0.0.1:{self.port}"]
        cmd += ["--workers", "1", "--chdir", str(ROOT), "--timeout", "60"]
        if gunicorn.version_info >= (25, 1):
            cmd.append("--no-control-socket")
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(cmd, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the site exited:\n{self.log()}"
            try:
                if requests.get(f"{self.url}/", timeout=5).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # not listening yet
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the site did not answer within {timeout}s:\n{self.log()}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return Path(self.log_path).read_text() if os.path.exists(self.log_path) else ""


@pytest.fixture(scope="module")
def site_port():
    """The site's port, fixed for the module: the OP knows the site by its registered redirect URI."""
    return free_port()


@pytest.fixture(scope="module")
def tutorial(op_server, site_port):
    """The page's text at the live addresses, and its blocks."""
    text = page(op_server.url, f"http://localhost:{site_port}")
    return SimpleNamespace(text=text, blocks=blocks(text))


@pytest.fixture(scope="module")
def client_secret(op_server, tutorial):
    """The page's createclient command run at the OP (and this module's OP users made); the secret it printed."""
    commands = createclient_commands(tutorial.text)
    assert [c[:3] for c in commands] == [["createclient", "--client-id", CLIENT_ID]], commands
    output = op_server.manage(*commands[0])
    users = "".join(
        f"get_user_model().objects.create_user({name!r}, {email!r}, {PASSWORD!r})\n" for name, email in OP_USERS.items()
    )
    op_server.manage("shell", "-c", f"from django.contrib.auth import get_user_model\n{users}")
    return re.search(r"^client_secret=(\S+)$", output, re.M).group(1)


@pytest.fixture(scope="module")
def site_db(op_server, site_port, tmp_path_factory):
    """The site's database before anyone signs in (migrated, SITE_ACCOUNTS in it), copied for each test."""
    path = str(tmp_path_factory.mktemp("mozilla-rp") / "template.sqlite3")
    site = Site(op_server.url, site_port, path, secret="unused")
    site.manage("migrate", "--noinput", "-v", "0")
    accounts = "".join(f"User.objects.create_user({name!r}, {email!r})\n" for name, email in SITE_ACCOUNTS)
    site.manage("shell", "-c", f"from django.contrib.auth.models import User\n{accounts}")
    return path


@pytest.fixture
def start_site(op_server, site_port, site_db, client_secret, tmp_path):
    """``start_site(secret=<the registered one>)``: the site, live on a fresh copy of ``site_db``; it
    must log no error unless ``errors_expected``."""
    sites = []

    def start(secret=client_secret, errors_expected=False):
        db_path = str(tmp_path / "site.sqlite3")
        shutil.copy(site_db, db_path)
        sites.append((Site(op_server.url, site_port, db_path, secret), errors_expected))
        return sites[-1][0].start()

    yield start
    for site, errors_expected in sites:
        site.stop()
        assert errors_expected or "Traceback" not in site.log(), site.log()


def location(response) -> str:
    assert response.status_code == 302, f"{response.url} -> {response.status_code}: {response.text[:1000]}"
    return response.headers["Location"]


def query(url) -> dict:
    return dict(parse_qsl(urlsplit(url).query))


def sign_in(session, site, username, consent="allow"):
    """From the site's /account/ through the OP's login and consent pages to the site's callback;
    returns the callback's response, not followed."""
    callback = f"{site.url}/oidc/callback/"
    params = authorize(session, f"{site.url}/account/", callback, username, PASSWORD, consent)
    return session.get(f"{callback}?{urlencode(params)}", allow_redirects=False)


def assert_signed_out(session, site):
    assert location(session.get(f"{site.url}/account/", allow_redirects=False)) == SIGNED_OUT


def test_the_settings_name_the_ops_endpoints(tutorial, op_discovery, monkeypatch):
    monkeypatch.setenv("OIDC_RP_CLIENT_SECRET", "a secret")
    settings = {"INSTALLED_APPS": ["django.contrib.auth"]}
    exec(tutorial.blocks["settings"], settings)
    endpoints = {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
        "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
        "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
        "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
        "OIDC_OP_LOGOUT_ENDPOINT": "end_session_endpoint",
    }
    assert {name: settings[name] for name in endpoints} == {name: op_discovery[key] for name, key in endpoints.items()}
    assert settings["OIDC_RP_SIGN_ALGO"] in op_discovery["id_token_signing_alg_values_supported"]
    assert set(tutorial.blocks) == {"settings", "urls", "logout", "views", "template"}


def test_sign_in_and_out_through_the_op(start_site, op_server, op_user, op_discovery):
    site = start_site()
    session = new_session()
    assert location(session.get(f"{site.url}/account/", allow_redirects=False)) == SIGNED_OUT
    request = location(session.get(f"{site.url}{SIGNED_OUT}", allow_redirects=False))
    assert request.startswith(op_discovery["authorization_endpoint"] + "?")
    params = query(request)
    state = params.pop("state")
    assert all(len(value) >= 32 for value in (state, params.pop("nonce"), params.pop("code_challenge")))
    assert params == {
        "response_type": "code",
        "scope": "openid email",
        "client_id": CLIENT_ID,
        "redirect_uri": f"{site.url}/oidc/callback/",
        "code_challenge_method": "S256",
    }
    # the OP's login page, then its consent page naming the site
    consent = authorize(session, request, f"{op_server.url}{CONSENT_PATH}", op_user.username, op_user.password)
    consent_page = session.get(f"{op_server.url}{CONSENT_PATH}?{urlencode(consent)}")
    assert consent_page.status_code == 200 and "My Django site" in consent_page.text
    callback = authorize(session, consent_page.url, f"{site.url}/oidc/callback/", consent="allow")
    assert callback["state"] == state and callback["code"]
    response = session.get(f"{site.url}/oidc/callback/?{urlencode(callback)}", allow_redirects=False)
    assert location(response) == "/account/"
    account = session.get(f"{site.url}/account/")
    # the site's existing account with that email, matched without case
    assert 'Signed in as <strong id="email">Alice@example.org</strong> (account alice).' in account.text

    # sign out: the site's session ends, then the OP's, and the OP sends the browser back
    form = hidden_fields(account.text)
    logout = location(session.post(f"{site.url}/oidc/logout/", data=form, allow_redirects=False))
    assert logout.startswith(op_discovery["end_session_endpoint"] + "?")
    params = query(logout)
    assert params.pop("id_token_hint").count(".") == 2
    assert params == {"client_id": CLIENT_ID, "post_logout_redirect_uri": f"{site.url}/"}
    assert location(session.get(logout, allow_redirects=False)) == f"{site.url}/"
    assert_signed_out(session, site)
    assert lands_on_login(session, f"{site.url}/account/")

    # signing in again asks for the password but not for consent: "deny" would answer a consent page
    again = authorize(
        session, f"{site.url}/account/", f"{site.url}/oidc/callback/", op_user.username, op_user.password, "deny"
    )
    assert set(again) >= {"code", "state"} and "error" not in again, again
    assert location(session.get(f"{site.url}/oidc/callback/?{urlencode(again)}", allow_redirects=False)) == "/account/"


def test_a_user_new_to_the_site_gets_an_account(start_site):
    site = start_site()
    session = new_session()
    assert location(sign_in(session, site, "erin")) == "/account/"
    username = base64.urlsafe_b64encode(hashlib.sha1(b"erin@example.org").digest()).rstrip(b"=").decode()
    expected = f'Signed in as <strong id="email">erin@example.org</strong> (account {username}).'
    assert expected in session.get(f"{site.url}/account/").text


def test_deny_is_the_failure_redirect(start_site):
    site = start_site()
    session = new_session()
    response = sign_in(session, site, "bob", consent="deny")
    assert query(response.url)["error"] == "access_denied"
    assert location(response) == "/"
    assert_signed_out(session, site)


@pytest.mark.parametrize(
    "username, warning",
    [
        ("dave", "failed to get or create user: Claims verification failed"),  # no email at the OP
        ("carol", "failed to get or create user: Multiple users returned"),  # two site accounts share it
    ],
)
def test_no_single_account_is_the_failure_redirect(start_site, username, warning):
    site = start_site()
    session = new_session()
    assert location(sign_in(session, site, username)) == "/"
    assert_signed_out(session, site)
    assert warning in site.log()


def test_a_wrong_secret_fails_at_the_token_endpoint(start_site, op_discovery):
    site = start_site(secret="not-the-secret-the-op-issued", errors_expected=True)
    session = requests.Session()  # not new_session(): the site's 500 is the outcome under test
    response = sign_in(session, site, "frank")
    assert response.status_code == 500 and "<title>Server Error (500)</title>" in response.text
    body = '{"error": "invalid_client", "error_description": "Client authentication failed"}'
    error = f"HTTPError: Get Token Error (url: {op_discovery['token_endpoint']}, status: 401, body: {body})"
    assert "Internal Server Error: /oidc/callback/" in site.log() and error in site.log(), site.log()
    assert_signed_out(session, site)
