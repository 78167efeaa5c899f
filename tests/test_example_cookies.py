"""The example project's cookies (issue 18, part 8): HttpOnly and SameSite=Lax always; outside DEBUG also
Secure and, for the session and CSRF cookies, the "__Host-" prefix. Checked on the Set-Cookie headers
of a real sign-in, with the settings loaded from the environment as manage.py does (DEBUG off through
its variables, as in tests/test_example_project.py)."""

import json

import pytest

from tests.test_example_project import PRODUCTION, manage

SIGN_IN = """
import json
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
get_user_model().objects.create_user("carol", password="a long enough password")
browser = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0])
assert browser.get("/accounts/login/", secure=True).status_code == 200  # sets the CSRF cookie
response = browser.post("/accounts/login/", {"username": "carol", "password": "a long enough password"}, secure=True)
assert response.status_code == 302, response.status_code  # signed in: sets the session cookie
print(json.dumps({
    name: {flag: morsel[flag] for flag in ("secure", "httponly", "samesite", "path", "domain")}
    for name, morsel in browser.cookies.items()
}))
"""


def cookies(tmp_path, env):
    assert manage(tmp_path, env, "migrate", "--no-input")[0] == 0
    code, output = manage(tmp_path, env, "shell", "-c", SIGN_IN)
    assert code == 0, output
    return json.loads(output.strip().splitlines()[-1])


def test_production_cookies_are_secure_host_only_httponly_and_lax(tmp_path):
    flags = {"secure": True, "httponly": True, "samesite": "Lax", "path": "/", "domain": ""}
    assert cookies(tmp_path, PRODUCTION) == {"__Host-csrftoken": flags, "__Host-sessionid": flags}


def test_the_demo_on_http_keeps_plain_names_without_secure(tmp_path):
    flags = {"secure": "", "httponly": True, "samesite": "Lax", "path": "/", "domain": ""}
    assert cookies(tmp_path, {}) == {"csrftoken": flags, "sessionid": flags}


@pytest.mark.parametrize("env, secure", [(PRODUCTION, True), ({}, False)], ids=["production", "DEBUG"])
def test_the_language_cookie_has_the_same_flags(tmp_path, env, secure):
    names = ["LANGUAGE_COOKIE_SECURE", "LANGUAGE_COOKIE_HTTPONLY", "LANGUAGE_COOKIE_SAMESITE"]
    script = "import json; from django.conf import settings as s; "
    script += f"print(json.dumps({{n: getattr(s, n) for n in {names}}}))"
    code, output = manage(tmp_path, env, "shell", "-c", script)
    assert code == 0, output
    assert json.loads(output.strip().splitlines()[-1]) == {
        "LANGUAGE_COOKIE_SECURE": secure,
        "LANGUAGE_COOKIE_HTTPONLY": True,
        "LANGUAGE_COOKIE_SAMESITE": "Lax",
    }
