"""A read-only copy of the database signs nobody in: django_session holds a keyed hash of each
browser's session key (``oidc_provider.session_store``), and a hash sent as the session cookie is
hashed again and matches no row. With Django's ``db`` engine the row's key is the cookie's value, and
``prompt=none`` hands whoever read it a code."""

from django.conf import settings
from django.db import connection
from django.test import Client as HttpClient

from tests import flows


def session_keys_in_the_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_key FROM django_session")
        return [key for (key,) in cursor.fetchall()]


def silent_authorization(browser):
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1], prompt="none"))
    assert response.status_code == 302 and response["Location"].startswith(flows.REDIRECT_URI), response
    return flows.query(response)


def test_a_session_key_from_a_database_dump_signs_nobody_in(op):
    victim = HttpClient()
    assert victim.post("/accounts/login/", {"username": "alice", "password": "pw"}).status_code == 302
    flows.get_code(victim, prompt="consent")
    assert "code" in silent_authorization(victim)  # the victim's own cookie signs her in silently

    (dumped,) = session_keys_in_the_database()
    attacker = HttpClient()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = dumped
    params = silent_authorization(attacker)
    assert params.get("error") == "login_required" and "code" not in params, params
    assert dumped != victim.cookies[settings.SESSION_COOKIE_NAME].value
    assert session_keys_in_the_database() == [dumped]  # the victim's session is untouched
    assert "code" in silent_authorization(victim)
