"""The attacks of issue 15 ("Trust boundary"), replayed over real HTTP against ``gunicorn -w 2`` on the
session's database (SQLite, or PostgreSQL with DATABASE_URL): each one fails, with its exact error.

The OP here has no host on its outbound allow-list (OUTBOUND_ALLOWED_HOSTS = []), and DEBUG on, so a
client may register http URLs on loopback listeners of this process: what is refused is refused for
the address. Finding 6 runs against a second OP with DEBUG off (OIDC_TEST_DEBUG=0), as production does.

Three findings are replayed over HTTP in modules of their own:
- 3, lockout of a real client by failures naming it: test_rate_limits.py (Redis, two workers);
- 10, a relying party rotating the key behind its jwks_uri: test_client_key_rotation.py;
- 11, a burst of refreshes with one refresh token: test_token_concurrency.py (``-w 4``).
"""

import json
import re
import sqlite3
import time
import uuid
from contextlib import closing
from http.cookies import SimpleCookie
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
from cryptojwt.jwk.ec import new_ec_key
from cryptojwt.jws.jws import JWS
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.backends.db import SessionStore

from oidc_provider.crypto import token_digest
from tests.e2e.browser import CONSENT_PATH, LOGIN_PATH, hidden_fields, lands_on_login, new_session, redirect_params
from tests.e2e.conftest import REDIRECT_URI
from tests.e2e.rp import authorization_response, code_flow, oauth_session
from tests.flows import pkce_pair
from tests.hostile.test_browser_pages import SUBMIT_SCRIPT, XSS, Page, sha256_source, unsigned_request_object
from tests.jwks_server import JWKSServer

pytestmark = pytest.mark.live

EVIL = "https://evil.example/landing"
BYE = "https://rp.example/bye"
OFFLINE_SCOPE = "openid profile email offline_access"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
AT_TYPE = "urn:ietf:params:oauth:token-type:access_token"
RT_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # any valid S256 challenge: these requests end before a code
REFUSED = {"error": "invalid_client", "error_description": "Client authentication failed"}
NOT_PUBLIC = "127.0.0.1, which is not a public address"
HTTPS_OR_LOOPBACK = "must be https (http only on a loopback host: 127.0.0.1, [::1] or localhost, RFC 8252 §7.3)."


# --- the servers, their clients and their database -------------------------------------------------


def started(server):
    server.discovery = new_session().get(f"{server.issuer}/.well-known/openid-configuration").json()
    return server


@pytest.fixture(scope="module")
def op(op_server, start_server):
    """``gunicorn -w 2`` on the session's database (migrated, with its user, by ``op_server``); no host
    on its outbound allow-list."""
    return started(start_server(workers=2, env={"OIDC_TEST_SETTINGS": json.dumps({"OUTBOUND_ALLOWED_HOSTS": []})}))


@pytest.fixture(scope="module")
def production(op_server, start_server):
    """``gunicorn -w 2`` with DEBUG off."""
    return started(start_server(workers=2, env={"OIDC_TEST_DEBUG": "0"}))


@pytest.fixture(scope="module")
def clients(op):
    """Clients an administrator made with ``createclient`` (vetted, then), and an administrator, in one
    ``django-admin shell`` run: ``vetted``; ``trusted`` (no consent page); ``offline`` (refresh, exchange,
    client credentials); ``doomed`` (deleted by its test)."""
    grants = [
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--grant-type",
        EXCHANGE,
        "--grant-type",
        "client_credentials",
    ]
    specs = {
        "vetted": ("openid profile email", ["--post-logout-redirect-uri", BYE]),
        "trusted": ("openid profile email", ["--skip-consent", "--post-logout-redirect-uri", BYE]),
        "offline": (OFFLINE_SCOPE, grants),
        "doomed": ("openid profile email", []),
    }
    made, calls = {}, []
    for name, (scope, extra) in specs.items():
        made[name] = client = SimpleNamespace(
            client_id=f"attack-{name}-{uuid.uuid4().hex[:8]}",
            client_secret=uuid.uuid4().hex,
            redirect_uri=REDIRECT_URI,
            scope=scope,
            auth_method="client_secret_basic",
        )
        calls.append(
            [
                "createclient",
                "--client-id",
                client.client_id,
                "--client-secret",
                client.client_secret,
                "--redirect-uri",
                REDIRECT_URI,
                "--scope",
                scope,
                *extra,
            ]
        )
    admin = SimpleNamespace(username=f"admin-{uuid.uuid4().hex[:8]}", password=uuid.uuid4().hex)
    op.manage(
        "shell",
        "-c",
        "".join(
            [
                "from django.contrib.auth import get_user_model\nfrom django.core.management import call_command\n",
                *(f"call_command(*{args!r})\n" for args in calls),
                f"get_user_model().objects.create_superuser({admin.username!r}, '', {admin.password!r})\n",
            ]
        ),
    )
    return SimpleNamespace(**made, admin=admin)


def register(server, **metadata):
    """A client registered through ``server``'s registration endpoint (RFC 7591): the response."""
    body = {"redirect_uris": [REDIRECT_URI], "scope": "openid profile email", **metadata}
    return new_session().post(server.discovery["registration_endpoint"], json=body)


def registered(server, **metadata):
    response = register(server, **metadata)
    assert response.status_code == 201, response.text
    info = response.json()
    return SimpleNamespace(
        client_id=info["client_id"],
        client_secret=info.get("client_secret"),
        scope=info["scope"],
        redirect_uri=info["redirect_uris"][0],
        auth_method=info["token_endpoint_auth_method"],
        registration=info,
    )


def rows(db, table=None, columns="*"):
    """Every row of every table of the servers' database (or ``columns`` of ``table``), read as a dump would be."""
    if db.is_postgres:
        import psycopg

        connection = psycopg.connect(db.env()["DATABASE_URL"])
        tables_query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    else:
        connection = closing(sqlite3.connect(f"file:{db.path}?mode=ro", uri=True))
        tables_query = "SELECT name FROM sqlite_master WHERE type = 'table'"
    with connection as conn:
        tables = [table] if table else [name for (name,) in conn.execute(tables_query)]
        return [row for name in tables for row in conn.execute(f'SELECT {columns} FROM "{name}"').fetchall()]


def database_dump(db) -> str:
    """All the rows as text; Django's sessions (signed, compressed) decoded as well."""
    text = [
        " ".join(bytes(v).decode("latin-1") if isinstance(v, (bytes, memoryview)) else str(v) for v in row)
        for row in rows(db)
    ]
    text += [str(SessionStore().decode(data)) for (data,) in rows(db, "django_session", "session_data")]
    return "\n".join(text)


def poll(read, timeout=10.0):
    """``read()`` once it returns something true, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := read()):
        assert time.monotonic() < deadline, f"nothing within {timeout}s"
        time.sleep(0.05)
    return value


# --- requests -----------------------------------------------------------------------------------


def authorization(server, client, **params):
    """(endpoint, query) of an authorization request of ``client`` with PKCE."""
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": "openid profile email",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **params,
    }
    return server.discovery["authorization_endpoint"], query


def signed_in(server, user, login_path=LOGIN_PATH):
    """A browser in which ``user`` has signed in at the OP (or at its admin)."""
    browser = new_session()
    page = browser.get(urljoin(server.url, login_path))
    form = {**hidden_fields(page.text), "username": user.username, "password": user.password}
    response = browser.post(page.url, data=form, allow_redirects=False)
    assert response.status_code == 302, response.text
    return browser


def flow(server, client, user, browser=None, **params):
    """The code flow with authlib: (token response, what was sent and received)."""
    endpoints = server.discovery
    return code_flow(
        client, user, endpoints["authorization_endpoint"], endpoints["token_endpoint"], browser=browser, **params
    )


def token_request(server, client, **data):
    return new_session().post(
        server.discovery["token_endpoint"], data=data, auth=(client.client_id, client.client_secret)
    )


def refresh(server, client, refresh_token):
    return token_request(server, client, grant_type="refresh_token", refresh_token=refresh_token)


def introspect(server, client, token):
    response = new_session().post(
        server.discovery["introspection_endpoint"], data={"token": token}, auth=(client.client_id, client.client_secret)
    )
    assert response.status_code == 200, response.text
    return response.json()


def userinfo_status(server, access_token):
    response = new_session().get(
        server.discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}
    )
    return response.status_code


def csp(response):
    return dict(d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))


def public_jwks(key):
    return {"keys": [{k: v for k, v in key.serialize(private=True).items() if k != "d"}]}


def assertion(client_id, key, aud):
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": aud, "exp": now + 60, "iat": now, "jti": uuid.uuid4().hex}
    return JWS(json.dumps(claims), alg="ES256", kid=key.kid).sign_compact([key])


def assertion_request(server, client_id, key, aud=None):
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion(client_id, key, aud or server.issuer),
    }
    return new_session().post(server.discovery["token_endpoint"], data=data)


# --- 1. reflected XSS through response_mode=form_post ----------------------------------------------------


def form_post_inputs(server, response):
    """The auto-submitting page, escaped and locked down: its hidden inputs."""
    assert response.status_code == 200 and "Location" not in response.headers
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"<script>alert" not in response.content
    assert "&quot;/&gt;&lt;script&gt;alert(document.domain)&lt;/script&gt;" in response.text
    page = Page(response.text)
    [form] = page.forms
    assert form["action"] == REDIRECT_URI and form["method"] == "post"
    assert page.buttons == [{"class": "primary", "type": "submit"}]  # without JavaScript: one click
    assert page.scripts == [SUBMIT_SCRIPT]
    assert csp(response) == {
        "default-src": "'none'",
        "script-src": sha256_source(SUBMIT_SCRIPT),
        "style-src": sha256_source(page.styles[0]),
        "form-action": "https://rp.example",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
    }
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    return form["inputs"]


def test_form_post_state_cannot_inject_script_on_the_error_path(op, clients):
    response = new_session().get(
        *authorization(op, clients.vetted, response_mode="form_post", prompt="none", state=XSS), allow_redirects=False
    )
    assert form_post_inputs(op, response) == {
        "error": "login_required",
        "error_description": "The user is not logged in",
        "state": XSS,
        "iss": op.issuer,
    }


def test_form_post_state_cannot_inject_script_on_the_success_path(op, clients, op_user):
    browser = signed_in(op, op_user)
    client = clients.trusted  # no consent page: the code at once
    verifier, challenge = pkce_pair()
    endpoint, query = authorization(op, client, response_mode="form_post", state=XSS, code_challenge=challenge)
    inputs = form_post_inputs(op, browser.get(endpoint, params=query, allow_redirects=False))
    assert set(inputs) == {"code", "state", "scope", "iss", "client_id"}
    assert inputs["state"] == XSS and inputs["iss"] == op.issuer and inputs["client_id"] == client.client_id
    response = token_request(
        op,
        client,
        grant_type="authorization_code",
        code=inputs["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )
    assert response.status_code == 200, response.text  # the page held the real code


# --- 2. one guarded way out to the network ---------------------------------------------------------


def test_registering_a_loopback_jwks_uri_makes_no_request_and_no_token_request_reaches_it(op):
    key = new_ec_key("P-256", kid="rp-key-1", use="sig")
    listener = JWKSServer(public_jwks(key))
    try:
        client = registered(
            op,
            token_endpoint_auth_method="private_key_jwt",
            jwks_uri=listener.url,
            grant_types=["authorization_code", "client_credentials"],
        )
        assert listener.requests == []
        response = assertion_request(op, client.client_id, key)
        assert response.status_code == 401 and response.json() == REFUSED
        assert listener.requests == []
    finally:
        listener.close()


def test_backchannel_logout_to_a_loopback_listener_sends_nothing(op, op_db, op_user, rp_server):
    uri = f"{rp_server.url}/bc/{uuid.uuid4().hex[:10]}"
    client = registered(op, backchannel_logout_uri=uri, backchannel_logout_session_required=True)
    browser = new_session()
    token, _ = flow(op, client, op_user, browser=browser)
    response = browser.get(
        op.discovery["end_session_endpoint"], params={"id_token_hint": token["id_token"]}, allow_redirects=False
    )
    assert response.status_code == 200 and "You are signed out" in response.text
    # the failure is recorded (refused before connecting: one attempt, not retried), and nothing arrived
    columns = "client_id, uri, attempts, error"
    failures = poll(
        lambda: [
            row[1:]
            for row in rows(op_db, "oidc_provider_backchannellogoutfailure", columns)
            if row[0] == client.client_id
        ]
    )
    assert failures == [(uri, 1, NOT_PUBLIC)]
    assert rp_server.to(urlsplit(uri).path) == []


# --- 4. codes and tokens at rest ------------------------------------------------------------------


def test_a_database_dump_yields_no_code_or_token(op, op_db, clients, op_user):
    client = clients.offline
    browser = new_session()
    first, sent = flow(op, client, op_user, browser=browser, prompt="consent")  # offline_access: OIDC Core §11
    refreshed = oauth_session(client).refresh_token(
        op.discovery["token_endpoint"], refresh_token=first["refresh_token"]
    )
    exchange = {"grant_type": EXCHANGE, "subject_token": refreshed["access_token"], "subject_token_type": AT_TYPE}
    exchanged = token_request(op, client, **exchange).json()
    exchanged_rt = token_request(op, client, **exchange, requested_token_type=RT_TYPE).json()
    machine = token_request(op, client, grant_type="client_credentials").json()
    live, live_sent = authorization_response(
        client, None, op.discovery["authorization_endpoint"], browser=browser, scope=OFFLINE_SCOPE
    )
    issued = {
        "code": sent["response"]["code"],
        "live code": live["code"],
        "access token": first["access_token"],
        "refresh token": first["refresh_token"],
        "ID token": first["id_token"],
        "refreshed access token": refreshed["access_token"],
        "refreshed refresh token": refreshed["refresh_token"],
        "refreshed ID token": refreshed["id_token"],
        "exchanged access token": exchanged["access_token"],
        "exchanged refresh token": exchanged_rt["access_token"],
        "client-credentials access token": machine["access_token"],
    }
    dump = database_dump(op_db)
    assert [name for name, value in issued.items() if value in dump] == []
    assert token_digest(refreshed["refresh_token"]) in dump  # the dump is of the OP's database, which finds it so
    # and every value still works
    assert introspect(op, client, machine["access_token"])["active"] is True
    assert introspect(op, client, exchanged["access_token"])["active"] is True
    assert refresh(op, client, refreshed["refresh_token"]).status_code == 200
    response = token_request(
        op,
        client,
        grant_type="authorization_code",
        code=live["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=live_sent["verifier"],
    )
    assert response.status_code == 200, response.text


# --- 5. request objects: unsigned, or from a URI the client did not register ---------------------


def test_unsigned_request_object_cannot_change_scope_or_state(op, clients, op_user):
    assert op.discovery["request_parameter_supported"] is True
    assert "none" not in op.discovery["request_object_signing_alg_values_supported"]
    client = clients.trusted  # would get a code at once
    forged = unsigned_request_object(
        client_id=client.client_id,
        scope="openid",
        state="forged",
        redirect_uri=REDIRECT_URI,
        response_type="code",
        nonce="n-1",
    )
    response = signed_in(op, op_user).get(*authorization(op, client, request=forged), allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"].startswith(REDIRECT_URI + "?")
    assert redirect_params(response.headers["Location"]) == {
        "error": "invalid_request_object",
        "error_description": "Unsigned request objects are not accepted",
        "state": "st-1",
        "iss": op.issuer,
    }


def test_an_unregistered_request_uri_is_refused_and_never_fetched(op, clients, op_user):
    listener = JWKSServer()
    try:
        response = signed_in(op, op_user).get(
            *authorization(op, clients.trusted, request_uri=listener.url), allow_redirects=False
        )
        assert response.status_code == 302 and response.headers["Location"].startswith(REDIRECT_URI + "?")
        assert redirect_params(response.headers["Location"]) == {
            "error": "invalid_request_uri",
            "error_description": "request_uri is not registered for this client",
            "state": "st-1",
            "iss": op.issuer,
        }
        assert listener.requests == []
    finally:
        listener.close()


# --- 6. client metadata that is never accepted (DEBUG off) -------------------------------------------


def refused(server, db, error, description, **metadata):
    before = len(rows(db, "oidc_provider_client"))
    response = register(server, **metadata)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": error, "error_description": description}
    assert response.headers["Cache-Control"] == "no-store"
    assert len(rows(db, "oidc_provider_client")) == before
    return True


def test_registration_refuses_a_plain_http_redirect_uri(production, op_db):
    assert refused(
        production,
        op_db,
        "invalid_redirect_uri",
        f"redirect_uris: http://evil.example/cb {HTTPS_OR_LOOPBACK}",
        redirect_uris=["http://evil.example/cb"],
    )


def test_registration_refuses_userinfo_in_a_redirect_uri(production, op_db):
    uri = "https://user:pass@rp.example/cb"
    assert refused(
        production,
        op_db,
        "invalid_redirect_uri",
        f"redirect_uris: {uri} must not contain a user name or password.",
        redirect_uris=[uri],
    )


def test_a_public_client_cannot_register_client_credentials(production, op_db):
    assert refused(
        production,
        op_db,
        "invalid_client_metadata",
        "grant_types: A public client cannot use client_credentials: it has no credentials.",
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "client_credentials"],
    )


@pytest.fixture(scope="module")
def pk_client(production):
    key = new_ec_key("P-256", kid="rp-key-1", use="sig")
    client = registered(
        production,
        token_endpoint_auth_method="private_key_jwt",
        jwks=public_jwks(key),
        grant_types=["authorization_code", "client_credentials"],
    )
    client.key = key
    return client


def test_a_private_key_jwt_client_is_registered_without_a_secret(pk_client):
    assert pk_client.auth_method == "private_key_jwt"
    assert "client_secret" not in pk_client.registration and "client_secret_expires_at" not in pk_client.registration


def test_an_assertion_also_addressed_to_another_party_is_refused(production, pk_client):
    client_id, key = pk_client.client_id, pk_client.key
    response = assertion_request(production, client_id, key, [production.issuer, "https://evil.example"])
    assert response.status_code == 401 and response.json() == REFUSED
    response = assertion_request(production, client_id, key, [production.issuer])
    assert response.status_code == 200, response.text  # the OP alone, in a one-element array: accepted


# --- 7. open redirector through open registration ----------------------------------------------------


@pytest.fixture(scope="module")
def self_registered(op):
    """A client that registered itself with an attacker's redirect URIs."""
    return registered(op, redirect_uris=[EVIL], post_logout_redirect_uris=[EVIL], token_endpoint_auth_method="none")


def interstitial(response):
    """The page a person clicks through, naming the destination's host: no redirect, no script."""
    assert response.status_code == 200 and "Location" not in response.headers
    assert "<strong>evil.example</strong>" in response.text and "Continue to evil.example" in response.text
    page = Page(response.text)
    assert page.scripts == []
    return page


def test_prompt_none_error_of_a_self_registered_client_is_not_an_open_redirect(op, self_registered):
    response = new_session().get(
        *authorization(op, self_registered, prompt="none", scope="openid"), allow_redirects=False
    )
    [link] = interstitial(response).links
    assert "script-src" not in csp(response)
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == EVIL
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "error": "login_required",
        "error_description": "The user is not logged in",
        "state": "st-1",
        "iss": op.issuer,
    }


def test_anonymous_end_session_of_a_self_registered_client_is_not_an_open_redirect(op, self_registered):
    params = {"client_id": self_registered.client_id, "post_logout_redirect_uri": EVIL, "state": "s-1"}
    response = new_session().get(op.discovery["end_session_endpoint"], params=params, allow_redirects=False)
    assert interstitial(response).links == [f"{EVIL}?state=s-1"]


def test_an_administrators_client_is_redirected_to_directly(op, clients):
    response = new_session().get(*authorization(op, clients.vetted, prompt="none"), allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"].startswith(REDIRECT_URI + "?")
    assert redirect_params(response.headers["Location"]) == {
        "error": "login_required",
        "error_description": "The user is not logged in",
        "state": "st-1",
        "iss": op.issuer,
    }
    params = {"client_id": clients.vetted.client_id, "post_logout_redirect_uri": BYE, "state": "s-1"}
    response = new_session().get(op.discovery["end_session_endpoint"], params=params, allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"] == f"{BYE}?state=s-1"


# --- 8. secrets out of URLs -------------------------------------------------------------------------


def test_end_session_takes_a_posted_hint_without_a_csrf_token(op, clients, op_user):
    """RP-Initiated Logout 1.0 §2: the RP's form posts the hint, which stays out of URLs and access logs."""
    client = clients.trusted
    browser = new_session()
    token, _ = flow(op, client, op_user, browser=browser)
    data = {"id_token_hint": token["id_token"], "post_logout_redirect_uri": BYE, "state": "s-2"}
    response = browser.post(op.discovery["end_session_endpoint"], data=data, allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"] == f"{BYE}?state=s-2"
    assert userinfo_status(op, token["access_token"]) == 401
    endpoint, query = authorization(op, client)
    assert lands_on_login(browser, f"{endpoint}?{urlencode(query)}")
    poll(lambda: any(line.startswith("POST /oidc/end_session ") for _, line, _ in op.access_log()))  # logged by now
    assert [line for _, line, _ in op.access_log() if token["id_token"] in line] == []


def test_a_new_client_secret_travels_in_no_cookie_and_is_stored_nowhere(op, op_db, clients):
    """The admin shows a generated secret on the response page only: Django's messages cookie is
    signed but readable, and the session row is in the database."""
    browser = signed_in(op, clients.admin, "/admin/login/")
    page = browser.get(urljoin(op.url, "/admin/oidc_provider/client/add/"))
    client_id = f"attack-admin-{uuid.uuid4().hex[:8]}"
    form = {
        "client_id": client_id,
        "client_name": "Web app",
        "is_active": "on",
        "redirect_uris": REDIRECT_URI,
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "scope": "openid",
        "token_endpoint_auth_method": "client_secret_basic",
    }
    response = browser.post(page.url, data={**hidden_fields(page.text), **form}, allow_redirects=False)
    assert response.status_code == 200, response.text
    [secret] = re.findall(r'<code id="client-secret">([^<]+)</code>', response.text)
    assert "no-store" in response.headers["Cache-Control"]
    assert not any(secret in c.value for c in browser.cookies)
    messages = SimpleCookie(f"messages={browser.cookies.get('messages', '')}")["messages"].value
    assert secret not in str(CookieStorage(None)._decode(messages) if messages else "")
    assert secret not in browser.get(urljoin(op.url, "/admin/oidc_provider/client/")).text
    assert secret not in database_dump(op_db)
    # the secret shown is the client's
    owner = SimpleNamespace(client_id=client_id, client_secret=secret)
    assert introspect(op, owner, "not-a-token") == {"active": False}


# --- 9. smaller items --------------------------------------------------------------------------------


def test_revoking_another_clients_token_answers_200_and_changes_nothing(op, clients, op_user):
    owner, other = clients.trusted, clients.vetted
    token, _ = flow(op, owner, op_user)

    def revoke(value):
        return new_session().post(
            op.discovery["revocation_endpoint"], data={"token": value}, auth=(other.client_id, other.client_secret)
        )

    response = revoke(token["access_token"])
    assert response.status_code == 200 and response.text == revoke("nonsense").text  # RFC 7009 §2.2: no oracle
    assert introspect(op, owner, token["access_token"])["active"] is True
    assert userinfo_status(op, token["access_token"]) == 200


def test_a_refresh_token_exchanged_for_a_refresh_token_no_longer_refreshes(op, clients, op_user):
    client = clients.offline
    token, _ = flow(op, client, op_user, prompt="consent")
    response = token_request(
        op,
        client,
        grant_type=EXCHANGE,
        subject_token=token["refresh_token"],
        subject_token_type=RT_TYPE,
        requested_token_type=RT_TYPE,
    )
    assert response.status_code == 200 and response.json()["issued_token_type"] == RT_TYPE, response.text
    old = refresh(op, client, token["refresh_token"])
    assert old.status_code == 400
    assert old.json() == {"error": "invalid_grant", "error_description": "Refresh token already used"}
    assert refresh(op, client, response.json()["access_token"]).status_code == 200  # one rotation chain, going on


def test_consent_after_the_client_was_deleted_gets_the_error_page(op, clients, op_user):
    client = clients.doomed
    browser = signed_in(op, op_user)
    response = browser.get(*authorization(op, client), allow_redirects=False)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == CONSENT_PATH
    page = browser.get(urljoin(op.url, response.headers["Location"]))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    op.manage(
        "shell",
        "-c",
        f"from oidc_provider.models import Client\nClient.objects.filter(client_id={client.client_id!r}).delete()",
    )
    response = browser.post(page.url, data={**hidden_fields(page.text), "decision": "allow"}, allow_redirects=False)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "<p>The application is no longer registered here.</p>" in response.text
