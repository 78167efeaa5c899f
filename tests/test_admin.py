"""The admin: client secrets shown once, URI validation, revocation of the session tree, key rotation."""

import base64
import hashlib
import json
import re
import secrets
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptojwt.jwk.ec import new_ec_key
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.test import Client as Browser
from django.utils.html import escape

from oidc_provider.crypto import token_digest
from oidc_provider.models import (
    BackchannelLogoutFailure,
    Client,
    Consent,
    InitialAccessToken,
    IssuedToken,
    SessionNode,
    SigningKey,
)
from tests.flows import stored_tokens

pytestmark = pytest.mark.django_db

REDIRECT_URI = "https://rp.example/cb"
CHANGELIST = "/admin/oidc_provider/client/"


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def make_rp(client_id="rp1", secret="s3cret"):
    call_command(
        "createclient",
        "--client-id",
        client_id,
        "--client-secret",
        secret,
        "--redirect-uri",
        REDIRECT_URI,
        "--scope",
        "openid profile email",
        stdout=open("/dev/null", "w"),
    )
    return Client.objects.get(client_id=client_id)


def get_code(browser, client_id="rp1"):
    """Walk /authorize and the consent page as ``browser`` (logged in); return (code, verifier)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    response = browser.get(
        "/oidc/authorize",
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email",
            "state": "st",
            "nonce": "n",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert response.status_code == 302, response.content
    if urlsplit(response["Location"]).path == "/oidc/consent":
        key = parse_qs(urlsplit(response["Location"]).query)["k"][0]
        response = browser.post("/oidc/consent", {"k": key, "decision": "allow"})
    assert response.status_code == 302 and response["Location"].startswith(REDIRECT_URI), response
    return parse_qs(urlsplit(response["Location"]).query)["code"][0], verifier


def redeem(browser, code, verifier, client_id="rp1", secret="s3cret"):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    return browser.post("/oidc/token", data, HTTP_AUTHORIZATION=basic(client_id, secret))


def get_tokens(user, client_id="rp1", secret="s3cret"):
    """The whole code flow for ``user``: the token response as a dict."""
    browser = Browser()
    browser.force_login(user)
    code, verifier = get_code(browser, client_id)
    response = redeem(browser, code, verifier, client_id, secret)
    assert response.status_code == 200, response.content
    return response.json()


def userinfo(access_token):
    return Browser().get("/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def message_texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


SECRET_ON_PAGE = re.compile(r'<code id="client-secret">([^<]+)</code>')


def shown_secret(response):
    """The secret from the page that shows it, once, and keeps it out of caches and messages."""
    page = response.content.decode()
    found = SECRET_ON_PAGE.findall(page)
    assert len(found) == 1 and page.count(found[0]) == 1, page
    assert "no-store" in response["Cache-Control"]
    assert not any(found[0] in text for text in message_texts(response))
    return found[0]


def shows_no_secret(response):
    return not SECRET_ON_PAGE.search(response.content.decode())


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.org", "pw")


@pytest.fixture
def tokens(user):
    make_rp()
    return get_tokens(user)


def client_form(**overrides):
    data = {
        "client_id": "web",
        "client_name": "Web app",
        "is_active": "on",
        "redirect_uris": "https://web.example/cb\r\nhttps://web.example/cb2",
        "post_logout_redirect_uris": "",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "scope": ["openid", "profile"],
        "token_endpoint_auth_method": "client_secret_basic",
        "subject_type": "public",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# pages render


@pytest.mark.parametrize(
    "model", ["client", "sessionnode", "consent", "signingkey", "initialaccesstoken", "backchannellogoutfailure"]
)
def test_changelist_and_change_pages_render(admin_client, tokens, model):
    InitialAccessToken.mint("partner")
    BackchannelLogoutFailure.objects.create(client_id="rp1", uri="https://rp.example/bc", attempts=3, error="HTTP 503")
    objects = {
        "client": Client,
        "sessionnode": SessionNode,
        "consent": Consent,
        "signingkey": SigningKey,
        "initialaccesstoken": InitialAccessToken,
        "backchannellogoutfailure": BackchannelLogoutFailure,
    }[model].objects
    assert objects.exists()
    assert admin_client.get(f"/admin/oidc_provider/{model}/").status_code == 200
    assert admin_client.get(f"/admin/oidc_provider/{model}/?q=rp1").status_code == 200
    for obj in objects.all():
        assert admin_client.get(f"/admin/oidc_provider/{model}/{obj.pk}/change/").status_code == 200


def test_add_page_renders_with_defaults(admin_client):
    response = admin_client.get(f"{CHANGELIST}add/")
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form["grant_types"].value() == ["authorization_code"]
    assert "client_secret_hash" not in form.fields


def test_read_only_models_cannot_be_added_or_edited(admin_client, tokens):
    for model in ("sessionnode", "consent", "signingkey"):
        assert admin_client.get(f"/admin/oidc_provider/{model}/add/").status_code == 403
    node = SessionNode.objects.filter(kind=SessionNode.GRANT).first()
    before = node.data
    admin_client.post(f"/admin/oidc_provider/sessionnode/{node.pk}/change/", {"revoked": "on"})
    node.refresh_from_db()
    assert not node.revoked and node.data == before


# client secrets


def test_created_client_gets_a_secret_shown_once(admin_client, user):
    response = admin_client.post(f"{CHANGELIST}add/", client_form(), follow=True)
    assert response.status_code == 200
    secret = shown_secret(response)
    assert secret in response.content.decode()
    assert "will not be shown again" in response.content.decode()

    client = Client.objects.get(client_id="web")
    assert client.redirect_uris == ["https://web.example/cb", "https://web.example/cb2"]
    assert client.client_secret_hash and secret not in client.client_secret_hash
    assert client.check_secret(secret)

    # reloads never show it again, nor the hash
    for url in (CHANGELIST, f"{CHANGELIST}{client.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert secret not in page
        assert client.client_secret_hash not in page

    # and it works at the token endpoint
    browser = Browser()
    browser.force_login(user)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    response = browser.get(
        "/oidc/authorize",
        {
            "response_type": "code",
            "client_id": "web",
            "redirect_uri": "https://web.example/cb",
            "scope": "openid",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    key = parse_qs(urlsplit(response["Location"]).query)["k"][0]
    response = browser.post("/oidc/consent", {"k": key, "decision": "allow"})
    code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
    response = browser.post(
        "/oidc/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://web.example/cb",
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=basic("web", secret),
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("storage", ["cookie.CookieStorage", "session.SessionStorage", "fallback.FallbackStorage"])
@pytest.mark.parametrize("how", ["add", "change to confidential", "new secret button"])
def test_a_new_client_secret_never_travels_in_the_messages_cookie_or_the_session(
    admin_client, settings, monkeypatch, storage, how
):
    """Django's messages are kept in a signed but readable cookie, or in the session row: a secret put in one
    can be read back from the browser or from a copy of the database. It is shown on the response page only."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.contrib.sessions.models import Session

    settings.MESSAGE_STORAGE = f"django.contrib.messages.storage.{storage}"
    secret = "generated-" + secrets.token_urlsafe(16)
    monkeypatch.setattr("oidc_provider.admin.generate_client_secret", lambda: secret)
    if how == "add":
        response = admin_client.post(f"{CHANGELIST}add/", client_form())
    elif how == "change to confidential":
        call_command(
            "createclient",
            "--client-id",
            "web",
            "--public",
            "--redirect-uri",
            REDIRECT_URI,
            stdout=open("/dev/null", "w"),
        )
        response = admin_client.post(f"{CHANGELIST}{Client.objects.get().pk}/change/", client_form(client_id=None))
    else:
        response = admin_client.post(new_secret_url(make_rp("web")))

    cookie = response.cookies.get(CookieStorage.cookie_name)
    in_cookie = CookieStorage(response.wsgi_request)._decode(cookie.value) if cookie else None
    assert secret not in str(in_cookie) and not any(secret in c.OutputString() for c in response.cookies.values())
    assert not any(secret in str(session.get_decoded()) for session in Session.objects.all())
    assert not any(secret in entry.change_message for entry in LogEntry.objects.all())
    assert Client.objects.get(client_id="web").check_secret(secret)
    assert shown_secret(response) == secret
    assert secret not in admin_client.get(CHANGELIST).content.decode()


def test_public_client_gets_no_secret_and_requires_pkce(admin_client):
    response = admin_client.post(f"{CHANGELIST}add/", client_form(token_endpoint_auth_method="none"), follow=True)
    assert response.status_code == 200
    assert shows_no_secret(response)
    client = Client.objects.get(client_id="web")
    assert client.client_secret_hash == "" and client.require_pkce


def new_secret_url(client):
    return f"{CHANGELIST}{client.pk}/new-secret/"


def test_new_secret_button_replaces_the_secret(admin_client, user):
    client = make_rp()
    page = admin_client.get(f"{CHANGELIST}{client.pk}/change/").content.decode()
    assert f'<form method="post" action="{new_secret_url(client)}">' in page
    assert '<button type="submit" id="new-secret"' in page and ">New secret</button>" in page
    old_hash = client.client_secret_hash
    response = admin_client.post(new_secret_url(client))
    assert response.status_code == 200
    secret = shown_secret(response)
    assert message_texts(response) == []
    client.refresh_from_db()
    assert client.client_secret_hash != old_hash and client.check_secret(secret)
    assert secret not in admin_client.get(f"{CHANGELIST}{client.pk}/change/").content.decode()
    assert LogEntry.objects.get().get_change_message() == "Changed client secret."

    browser = Browser()
    browser.force_login(user)
    code, verifier = get_code(browser)
    assert redeem(browser, code, verifier, secret="s3cret").status_code == 401
    assert redeem(browser, code, verifier, secret=secret).status_code == 200


def test_new_secret_button_is_a_post_with_a_csrf_token(admin_user):
    client = make_rp()
    browser = Browser(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    assert browser.get(new_secret_url(client)).status_code == 405
    assert browser.post(new_secret_url(client)).status_code == 403  # no CSRF token
    page = browser.get(f"{CHANGELIST}{client.pk}/change/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    client.refresh_from_db()
    assert client.check_secret("s3cret")
    response = browser.post(new_secret_url(client), {"csrfmiddlewaretoken": token})
    client.refresh_from_db()
    assert client.check_secret(shown_secret(response))


def test_new_secret_button_needs_the_change_permission(client, django_user_model):
    from django.contrib.auth.models import Permission

    rp = make_rp()
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.post(new_secret_url(rp)).status_code == 403
    assert client.get(f"{CHANGELIST}{rp.pk}/change/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_client"))
    page = client.get(f"{CHANGELIST}{rp.pk}/change/").content.decode()
    assert 'id="new-secret"' not in page and new_secret_url(rp) not in page
    assert client.post(new_secret_url(rp)).status_code == 403
    rp.refresh_from_db()
    assert rp.check_secret("s3cret")
    staff.user_permissions.add(Permission.objects.get(codename="change_client"))
    secret = shown_secret(client.post(new_secret_url(rp)))
    rp.refresh_from_db()
    assert rp.check_secret(secret)


def test_a_client_without_a_secret_has_no_new_secret_button(admin_client):
    call_command(
        "createclient", "--client-id", "spa", "--public", "--redirect-uri", REDIRECT_URI, stdout=open("/dev/null", "w")
    )
    spa = Client.objects.get(client_id="spa")
    page = admin_client.get(f"{CHANGELIST}{spa.pk}/change/").content.decode()
    assert 'id="new-secret"' not in page and "None: a public client has no secret." in page
    response = admin_client.post(new_secret_url(spa), follow=True)
    assert message_texts(response) == ["spa has no secret."] and shows_no_secret(response)
    spa.refresh_from_db()
    assert spa.client_secret_hash == ""
    assert admin_client.post(f"{CHANGELIST}999/new-secret/").status_code == 404


def test_the_client_list_has_no_new_secret_action(admin_client):
    make_rp()
    assert 'value="new_secret"' not in admin_client.get(CHANGELIST).content.decode()


def test_switching_between_public_and_confidential(admin_client):
    client = make_rp()
    url = f"{CHANGELIST}{client.pk}/change/"
    response = admin_client.post(url, client_form(client_id=None, token_endpoint_auth_method="none"), follow=True)
    assert shows_no_secret(response)
    client.refresh_from_db()
    assert client.client_secret_hash == "" and client.require_pkce

    response = admin_client.post(url, client_form(client_id=None), follow=True)
    secret = shown_secret(response)
    client.refresh_from_db()
    assert client.check_secret(secret)


def test_switching_to_and_from_client_secret_jwt(admin_client):
    """The hash of a client_secret_basic secret cannot key an HMAC: switched to client_secret_jwt, the
    client gets a new secret, shown once and kept encrypted too; switched back, the copy is erased."""
    client = make_rp()
    url = f"{CHANGELIST}{client.pk}/change/"
    response = admin_client.post(url, client_form(client_id=None, token_endpoint_auth_method="client_secret_jwt"))
    secret = shown_secret(response)
    client.refresh_from_db()
    assert client.check_secret(secret) and client.recover_secret() == secret
    assert secret not in client.client_secret_encrypted
    page = admin_client.get(url).content.decode()
    assert secret not in page and client.client_secret_encrypted not in page

    response = admin_client.post(new_secret_url(client))
    renewed = shown_secret(response)
    client.refresh_from_db()
    assert renewed != secret and client.recover_secret() == renewed

    admin_client.post(url, client_form(client_id=None))
    client.refresh_from_db()
    assert client.token_endpoint_auth_method == "client_secret_basic" and client.check_secret(renewed)
    assert list(Client.objects.values_list("client_secret_encrypted", flat=True)) == [""]


# form validation


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("redirect_uris", "/cb", "is not an absolute http(s) URI"),
        ("redirect_uris", "https://web.example/cb#frag", "must not contain a fragment"),
        ("redirect_uris", "ftp://web.example/cb", "is not an absolute http(s) URI"),
        ("post_logout_redirect_uris", "https://web.example/bye#x", "must not contain a fragment"),
        ("scope", ["profile"], "Tick openid: every other scope needs it."),
        ("scope", ["openid", "bogus"], "Select a valid choice. bogus is not one of the available choices."),
        ("grant_types", ["refresh_token"], "refresh_token needs authorization_code or token exchange"),
        ("grant_types", [], "This field is required"),
        ("grant_types", ["password"], "Select a valid choice"),
        ("access_token_format", "xml", "Select a valid choice"),
        ("token_exchange", "[1]", "must be a JSON object"),
        ("token_exchange", '{"audiences": []}', "subject_token_types must be a non-empty list"),
        (
            "token_exchange",
            '{"subject_token_types": ["id_token"], "requested_token_types": ["access_token"]}',
            "subject_token_types must be a non-empty list of access_token and/or refresh_token",
        ),
        (
            "token_exchange",
            '{"subject_token_types": ["access_token"], "requested_token_types": ["access_token"], "colour": 1}',
            "Unknown key(s): colour",
        ),
        (
            "token_exchange",
            '{"subject_token_types": ["access_token"], "requested_token_types": ["access_token"], "scopes": ["x"]}',
            "Unknown scope(s) in scopes: x",
        ),
        (
            "token_exchange",
            '{"subject_token_types": ["access_token"], "requested_token_types": ["access_token"], "audiences": [""]}',
            "audiences must be a list of non-empty strings",
        ),
        (
            "token_exchange",
            "{not json",
            "Not valid JSON (line 1, column 2): check the quotes, commas and brackets.",
        ),
        ("jwks", '{"keys": [}', "Not valid JSON (line 1, column 11): check the quotes, commas and brackets."),
        ("jwks", '{"keys": []}', 'Not a JWK Set: expected {"keys": [...]} with at least one key.'),
        ("redirect_uris", "https://web.example/cb\nnot a uri", "not a uri is not an absolute http(s) URI."),
        ("client_id", "has space", "A client ID cannot contain whitespace."),
        ("backchannel_logout_uri", "https://web.example/bc#x", "must not contain a fragment"),
        (
            "frontchannel_logout_uri",
            "https://other.example/fc",
            "must have the scheme, host and port of a redirect URI",
        ),
        ("request_uris", "http://web.example/r.jwt", "http://web.example/r.jwt must be https"),
        (
            "request_object_signing_alg",
            "HS256",
            "HS256 is keyed with the client secret: only a client_secret_jwt client keeps one it can use.",
        ),
    ],
)
def test_invalid_client_form_is_rerendered_with_the_error(admin_client, field, value, error):
    response = admin_client.post(f"{CHANGELIST}add/", client_form(**{field: value}))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and any(error in e for e in errors[field]), errors
    assert escape(error) in response.content.decode()
    assert not Client.objects.filter(client_id__in=["web", "has space"]).exists()


def test_logout_uris_are_edited_in_the_admin(admin_client):
    data = client_form(
        backchannel_logout_uri="https://web.example/bc",
        backchannel_logout_session_required="on",
        frontchannel_logout_uri="https://web.example/fc",
    )
    assert shown_secret(admin_client.post(f"{CHANGELIST}add/", data))
    client = Client.objects.get(client_id="web")
    assert client.backchannel_logout_uri == "https://web.example/bc" and client.backchannel_logout_session_required
    assert client.frontchannel_logout_uri == "https://web.example/fc" and client.registered_via == "admin"


def test_registered_clients_show_where_they_came_from(admin_client, client):
    import json as jsonlib

    body = client.post(
        "/oidc/register",
        jsonlib.dumps({"redirect_uris": ["https://rp.example/cb"], "contacts": ["ops@rp.example"]}),
        content_type="application/json",
    ).json()
    listing = admin_client.get(f"{CHANGELIST}?registered_via__exact=registration")
    assert listing.context["cl"].result_count == 1 and "dynamic registration" in listing.content.decode()
    page = admin_client.get(
        f"{CHANGELIST}{Client.objects.get(client_id=body['client_id']).pk}/change/"
    ).content.decode()
    assert "dynamic registration" in page and "ops@rp.example" in page


def test_initial_access_token_page_never_shows_the_hash(admin_client):
    row, token = InitialAccessToken.mint("partner")
    page = admin_client.get(f"/admin/oidc_provider/initialaccesstoken/{row.pk}/change/").content.decode()
    assert "partner" in page and row.token_hash not in page and token not in page


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"redirect_uris": ""}, "authorization_code needs at least one redirect URI"),
        (
            {"grant_types": ["authorization_code", "client_credentials"], "token_endpoint_auth_method": "none"},
            "A public client cannot use client_credentials",
        ),
        (
            {
                "grant_types": ["authorization_code", "urn:ietf:params:oauth:grant-type:token-exchange"],
                "token_endpoint_auth_method": "none",
            },
            "A public client cannot use urn:ietf:params:oauth:grant-type:token-exchange",
        ),
    ],
)
def test_grant_types_that_cannot_work_are_refused(admin_client, overrides, error):
    response = admin_client.post(f"{CHANGELIST}add/", client_form(**overrides))
    assert response.status_code == 200
    assert any(error in e for e in response.context["adminform"].form.errors["grant_types"])
    assert not Client.objects.filter(client_id="web").exists()


def test_machine_client_needs_no_redirect_uri_and_takes_a_policy_and_format(admin_client):
    policy = (
        '{"subject_token_types": ["access_token"], "requested_token_types": ["access_token"], "audiences": ["api"]}'
    )
    data = client_form(
        redirect_uris="",
        grant_types=["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"],
        access_token_format="jwt",
        token_exchange=policy,
    )
    response = admin_client.post(f"{CHANGELIST}add/", data, follow=True)
    assert response.status_code == 200 and shown_secret(response)
    client = Client.objects.get(client_id="web")
    assert client.redirect_uris == [] and client.access_token_format == "jwt"
    assert client.grant_types == ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]
    assert client.token_exchange == {
        "subject_token_types": ["access_token"],
        "requested_token_types": ["access_token"],
        "audiences": ["api"],
    }


def test_empty_exchange_policy_is_stored_as_empty(admin_client):
    response = admin_client.post(f"{CHANGELIST}add/", client_form(token_exchange=""), follow=True)
    assert response.status_code == 200
    assert Client.objects.get(client_id="web").token_exchange == {}


def test_change_form_edits_redirect_uris_one_per_line(admin_client):
    client = make_rp()
    page = admin_client.get(f"{CHANGELIST}{client.pk}/change/")
    assert page.context["adminform"].form["redirect_uris"].value() == REDIRECT_URI
    data = client_form(
        client_id=None, redirect_uris=f"{REDIRECT_URI}\nhttps://rp.example/other\n\n", scope=["openid", "email"]
    )
    response = admin_client.post(f"{CHANGELIST}{client.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    client.refresh_from_db()
    assert client.redirect_uris == [REDIRECT_URI, "https://rp.example/other"]
    assert client.scope == "openid email" and client.client_id == "rp1" and client.check_secret("s3cret")


# session tree


def revoke(admin_client, nodes):
    return admin_client.post(
        "/admin/oidc_provider/sessionnode/",
        {"action": "revoke", "_selected_action": [n.pk for n in nodes]},
        follow=True,
    )


def test_revoking_a_user_session_revokes_its_grants_and_tokens(admin_client, user, tokens):
    assert userinfo(tokens["access_token"]).status_code == 200
    root = SessionNode.objects.get(kind=SessionNode.USER, user_id=str(user.pk))
    response = revoke(admin_client, [root])
    assert response.status_code == 200 and any("Revoked 3" in text for text in message_texts(response))

    nodes = SessionNode.objects.filter(user_id=str(user.pk))
    assert nodes.count() == 3 and all(n.revoked and n.data["revoked"] for n in nodes)
    grant = nodes.get(kind=SessionNode.GRANT)
    issued = stored_tokens(grant.key)
    assert {t["token_class"] for t in issued} >= {"authorization_code", "access_token"}
    assert all(t["revoked"] for t in issued)
    assert userinfo(tokens["access_token"]).status_code == 401  # (the next write prunes the revoked tokens)

    # the user is not locked out: a new login gives a new, working grant
    fresh = get_tokens(user)
    assert userinfo(fresh["access_token"]).status_code == 200
    assert userinfo(tokens["access_token"]).status_code == 401


def test_revoking_one_grant_leaves_the_others(admin_client, user, tokens):
    second = get_tokens(user)
    grants = SessionNode.objects.filter(kind=SessionNode.GRANT).order_by("created_at", "pk")
    assert grants.count() == 2
    first = grants.get(key=IssuedToken.objects.get(digest=token_digest(tokens["access_token"])).grant_key)
    revoke(admin_client, [first])
    assert userinfo(tokens["access_token"]).status_code == 401
    assert userinfo(second["access_token"]).status_code == 200
    assert not SessionNode.objects.get(kind=SessionNode.USER).revoked


def test_grant_page_summarises_tokens_without_values(admin_client, tokens):
    grant = SessionNode.objects.get(kind=SessionNode.GRANT)
    page = admin_client.get(f"/admin/oidc_provider/sessionnode/{grant.pk}/change/").content.decode()
    assert "access_token" in page and "openid profile email" in page
    assert tokens["access_token"] not in page
    values = [t["value"] for item in grant.data["issued_token"] for t in item.values() if t.get("value")]
    assert values and not any(v in page for v in values)
    assert 'name="action"' not in page  # no revoke or delete button outside the changelist


def test_consent_can_be_withdrawn(admin_client, tokens):
    consent = Consent.objects.get()
    assert admin_client.get("/admin/oidc_provider/consent/?q=alice").context["cl"].result_count == 1
    response = admin_client.post(f"/admin/oidc_provider/consent/{consent.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Consent.objects.exists()


# signing keys


def test_signing_key_page_shows_no_private_material(admin_client):
    key = SigningKey.objects.filter(alg="RS256").first()
    page = admin_client.get(f"/admin/oidc_provider/signingkey/{key.pk}/change/").content.decode()
    assert key.kid in page and "&quot;n&quot;" in page
    assert '"d"' not in page and "&quot;d&quot;" not in page
    assert key.private_jwk_encrypted not in page
    assert admin_client.post(f"/admin/oidc_provider/signingkey/{key.pk}/delete/", {"post": "yes"}).status_code == 403


def test_a_request_that_loaded_the_grant_before_the_revoke_cannot_undo_it(tokens):
    from oidc_provider.server import get_server
    from oidc_provider.storage.revocation import revoke_nodes
    from oidc_provider.storage.unit_of_work import unit_of_work

    key = SessionNode.objects.get(kind=SessionNode.GRANT).key
    with unit_of_work():
        grant = get_server().context.session_manager.db[key]  # a concurrent, unlocked request (e.g. userinfo)
        revoke_nodes(SessionNode.objects.filter(key=key))  # the admin commits meanwhile
        grant.issued_token[0].used += 1  # the request changes the grant, so flush writes it
    assert SessionNode.objects.get(key=key).revoked
    assert userinfo(tokens["access_token"]).status_code == 401


def test_rotate_action_rotates_the_selected_algorithms(admin_client):
    old = SigningKey.objects.get(alg="ES256", state="current")
    upcoming = SigningKey.objects.get(alg="ES256", state="next")
    response = admin_client.post(
        "/admin/oidc_provider/signingkey/", {"action": "rotate", "_selected_action": [old.pk]}, follow=True
    )
    assert any("promote" in text for text in message_texts(response))
    old.refresh_from_db()
    assert old.state == "retired" and old.remove_after
    assert SigningKey.objects.get(alg="ES256", state="current").kid == upcoming.kid
    assert SigningKey.objects.filter(state="retired").count() == 1  # other algorithms untouched
    page = admin_client.get("/admin/oidc_provider/signingkey/").content.decode()
    assert "private_jwk_encrypted" not in page and old.private_jwk_encrypted not in page
    assert old.kid in page and upcoming.kid in page  # the keys are listed by their public kid


def test_rotate_action_needs_the_change_permission(client, django_user_model):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_signingkey"))
    client.force_login(staff)
    key = SigningKey.objects.get(alg="RS256", state="current")
    page = client.get("/admin/oidc_provider/signingkey/").content.decode()
    assert 'value="rotate"' not in page
    client.post("/admin/oidc_provider/signingkey/", {"action": "rotate", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.state == "current"


def test_private_key_jwt_client_in_the_admin(admin_client):
    from cryptojwt.jwk.ec import new_ec_key

    private = new_ec_key("P-256", kid="k1").serialize(private=True)
    public = {k: v for k, v in private.items() if k != "d"}
    form = client_form(token_endpoint_auth_method="private_key_jwt", id_token_signed_response_alg="ES256")
    response = admin_client.post(f"{CHANGELIST}add/", {**form, "jwks": json.dumps({"keys": [private]})})
    assert "private material" in response.content.decode() and not Client.objects.exists()
    response = admin_client.post(f"{CHANGELIST}add/", {**form, "jwks": ""})
    assert "jwks or jwks_uri" in response.content.decode()
    response = admin_client.post(
        f"{CHANGELIST}add/", {**form, "jwks": json.dumps({"keys": [public]}), "jwks_uri": "https://web.example/jwks"}
    )
    assert "not both" in response.content.decode()
    response = admin_client.post(
        f"{CHANGELIST}add/", {**form, "id_token_signed_response_alg": "none", "jwks": json.dumps({"keys": [public]})}
    )
    assert "not offered" in response.content.decode()
    response = admin_client.post(f"{CHANGELIST}add/", {**form, "jwks": json.dumps({"keys": [public]})}, follow=True)
    assert shows_no_secret(response)
    client = Client.objects.get(client_id="web")
    assert client.jwks == {"keys": [public]} and client.client_secret_hash == ""
    assert client.id_token_signed_response_alg == "ES256"


# the client form: sections, labels, choices


def fieldset_headings(response):
    """The fieldset headings of a change form: (name, collapsed) in order."""
    page = response.content.decode()
    found = re.findall(r'(<details><summary>\s*)?<h2 id="fieldset-[^"]+" class="fieldset-heading">([^<]+)</h2>', page)
    return [(name, bool(collapsed)) for collapsed, name in found]


def test_the_advanced_sections_are_collapsed(admin_client):
    client = make_rp()
    assert fieldset_headings(admin_client.get(f"{CHANGELIST}add/")) == [
        ("Grants and tokens", True),
        ("Sign-out", True),
        ("Subject identifiers", True),
        ("Request objects", True),
        ("Keys and signing algorithms", True),
        ("Encrypted responses", True),
    ]
    assert fieldset_headings(admin_client.get(f"{CHANGELIST}{client.pk}/change/")) == [
        ("Connect the application", False),
        ("Grants and tokens", True),
        ("Sign-out", True),
        ("Subject identifiers", True),
        ("Request objects", True),
        ("Keys and signing algorithms", True),
        ("Encrypted responses", True),
        ("Origin", True),
    ]
    # a section with an error is open
    response = admin_client.post(f"{CHANGELIST}add/", client_form(jwks="{"))
    assert fieldset_headings(response) == [
        ("Grants and tokens", True),
        ("Sign-out", True),
        ("Subject identifiers", True),
        ("Request objects", True),
        ("Keys and signing algorithms", False),
        ("Encrypted responses", True),
    ]


def test_the_client_form_names_each_field_and_its_specification(admin_client):
    form = admin_client.get(f"{CHANGELIST}add/").context["adminform"].form
    assert {name: str(field.label) for name, field in form.fields.items()} == {
        "client_id": "Client ID",
        "client_name": "Name",
        "is_active": "Active",
        "redirect_uris": "Redirect URIs",
        "post_logout_redirect_uris": "Post-logout redirect URIs",
        "grant_types": "Grant types",
        "response_types": "Response types",
        "scope": "Allowed scopes",
        "access_token_format": "Access token format",
        "token_exchange": "Token exchange policy",
        "token_endpoint_auth_method": "Client authentication",
        "require_pkce": "Require PKCE",
        "require_pushed_authorization_requests": "Require pushed authorization requests",
        "skip_consent": "Trusted: skip consent",
        "vetted": "Vetted",
        "jwks_uri": "Keys URL",
        "jwks": "Public keys",
        "id_token_signed_response_alg": "ID token signing algorithm",
        "userinfo_signed_response_alg": "UserInfo signing algorithm",
        "id_token_encrypted_response_alg": "ID token encryption algorithm",
        "id_token_encrypted_response_enc": "ID token content encryption",
        "userinfo_encrypted_response_alg": "UserInfo encryption algorithm",
        "userinfo_encrypted_response_enc": "UserInfo content encryption",
        "backchannel_logout_uri": "Back-channel logout URL",
        "backchannel_logout_session_required": "Back-channel logout needs the session ID",
        "frontchannel_logout_uri": "Front-channel logout URL",
        "frontchannel_logout_session_required": "Front-channel logout needs the session ID",
        "subject_type": "Subject type",
        "sector_identifier_uri": "Sector identifier URL",
        "dpop_bound_access_tokens": "Require DPoP",
        "request_uris": "Request URIs",
        "request_object_signing_alg": "Request object signing algorithm",
    }
    assert form.fields["jwks_uri"].help_text == (
        "jwks_uri (RFC 7591 §2): where the client publishes its public keys, for private_key_jwt; https. "
        "Give this or the public keys, not both."
    )
    assert form.fields["frontchannel_logout_uri"].help_text == (
        "frontchannel_logout_uri (OpenID Connect Front-Channel Logout 1.0 §2): loaded in a hidden frame when the "
        "user signs out; the scheme, host and port of a redirect URI."
    )
    # every field says which metadata it is, or what it does
    assert all(field.help_text for field in form.fields.values())


def test_the_add_form_proposes_a_random_client_id_that_is_fixed_once_saved(admin_client):
    response = admin_client.get(f"{CHANGELIST}add/")
    proposed = response.context["adminform"].form["client_id"].value()
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", proposed)
    assert f'name="client_id" value="{proposed}"' in response.content.decode()
    assert admin_client.get(f"{CHANGELIST}add/").context["adminform"].form["client_id"].value() != proposed
    assert shown_secret(admin_client.post(f"{CHANGELIST}add/", client_form(client_id="chosen-by-hand")))
    client = Client.objects.get()
    assert client.client_id == "chosen-by-hand"
    page = admin_client.get(f"{CHANGELIST}{client.pk}/change/").content.decode()
    assert 'name="client_id"' not in page and '<div class="readonly">chosen-by-hand</div>' in page
    admin_client.post(f"{CHANGELIST}{client.pk}/change/", client_form(client_id="renamed"))
    assert Client.objects.get().client_id == "chosen-by-hand"


def test_grant_and_response_types_are_checkboxes_with_readable_names(admin_client):
    response = admin_client.get(f"{CHANGELIST}add/")
    fields = response.context["adminform"].form.fields
    assert [(value, str(label)) for value, label in fields["grant_types"].choices] == [
        ("authorization_code", "Authorization code: users sign in (authorization_code)"),
        ("refresh_token", "Refresh token: the client stays signed in (refresh_token)"),
        ("client_credentials", "Client credentials: the client acts for itself (client_credentials)"),
        ("urn:ietf:params:oauth:grant-type:token-exchange", "Token exchange (RFC 8693)"),
    ]
    assert [(value, str(label)) for value, label in fields["response_types"].choices] == [
        ("code", "Authorization code (code)")
    ]
    assert re.search(
        r'<div id="id_grant_types" class="radiolist">.*<input type="checkbox" name="grant_types" '
        r'value="urn:ietf:params:oauth:grant-type:token-exchange" class="radiolist" id="id_grant_types_3">\s*'
        r"Token exchange \(RFC 8693\)</label>",
        response.content.decode(),
        re.S,
    )


def scope_choices_of(response):
    return [(value, str(label)) for value, label in response.context["adminform"].form.fields["scope"].choices]


def test_scopes_are_ticked_from_the_configured_ones(admin_client, settings):
    response = admin_client.get(f"{CHANGELIST}add/")
    assert [value for value, _ in scope_choices_of(response)] == [
        "openid",
        "profile",
        "email",
        "address",
        "phone",
        "offline_access",
    ]
    assert ("email", "email: email, email_verified") in scope_choices_of(response)
    assert ("offline_access", "offline_access") in scope_choices_of(response)
    assert (
        '<input type="checkbox" name="scope" value="email" class="radiolist" id="id_scope_2">'
        in response.content.decode()
    )

    shown_secret(admin_client.post(f"{CHANGELIST}add/", client_form(scope=["openid", "email", "offline_access"])))
    assert Client.objects.get().scope == "openid email offline_access"
    shown_secret(admin_client.post(f"{CHANGELIST}add/", client_form(client_id="all", scope=[])))
    assert Client.objects.get(client_id="all").scope == ""  # every configured scope

    settings.OIDC_PROVIDER = {
        **settings.OIDC_PROVIDER,
        "SCOPES_TO_CLAIMS": {"openid": ["sub"], "payments": ["iban"]},
    }
    assert scope_choices_of(admin_client.get(f"{CHANGELIST}add/")) == [
        ("openid", "openid: sub"),
        ("payments", "payments: iban"),
    ]


def test_a_stored_scope_that_is_no_longer_configured_is_kept_and_shown(admin_client):
    client = make_rp()
    Client.objects.filter(pk=client.pk).update(scope="openid legacy email")
    url = f"{CHANGELIST}{client.pk}/change/"
    response = admin_client.get(url)
    assert response.context["adminform"].form["scope"].value() == ["openid", "legacy", "email"]
    assert scope_choices_of(response)[-1] == ("legacy", "legacy (not configured; kept as stored)")
    assert (
        '<input type="checkbox" name="scope" value="legacy" class="radiolist" id="id_scope_6" checked>'
        in response.content.decode()
    )

    assert admin_client.post(url, client_form(client_id=None, scope=["openid", "email", "legacy"])).status_code == 302
    assert Client.objects.get().scope == "openid email legacy"

    response = admin_client.post(url, client_form(client_id=None, scope=["openid", "other"]))
    assert response.context["adminform"].form.errors["scope"] == [
        "Select a valid choice. other is not one of the available choices."
    ]
    response = admin_client.post(url, client_form(client_id=None, scope=["legacy"]))
    assert response.context["adminform"].form.errors["scope"] == ["Tick openid: every other scope needs it."]
    assert Client.objects.get().scope == "openid email legacy"

    assert admin_client.post(url, client_form(client_id=None, scope=["openid"])).status_code == 302
    assert Client.objects.get().scope == "openid"  # unticked: gone, and no longer offered
    assert ("legacy", "legacy (not configured; kept as stored)") not in scope_choices_of(admin_client.get(url))


def test_json_fields_are_empty_when_nothing_is_set_and_indented_otherwise(admin_client):
    client = make_rp()
    page = admin_client.get(f"{CHANGELIST}{client.pk}/change/").content.decode()
    assert 'id="id_jwks">\n</textarea>' in page and 'id="id_token_exchange">\n</textarea>' in page
    Client.objects.filter(pk=client.pk).update(token_exchange={"audiences": ["api"]})
    form = admin_client.get(f"{CHANGELIST}{client.pk}/change/").context["adminform"].form
    assert form["token_exchange"].value() == '{\n  "audiences": [\n    "api"\n  ]\n}'


def test_a_bad_json_value_is_shown_back_as_typed(admin_client):
    response = admin_client.post(f"{CHANGELIST}add/", client_form(jwks='{"keys": [}'))
    assert response.context["adminform"].form["jwks"].value() == '{"keys": [}'


# connecting the application


def rp_configuration(page):
    return json.loads(unescape(re.search(r'<pre id="rp-configuration">(.*?)</pre>', page, re.S)[1]))


def test_the_client_page_shows_the_discovery_url_and_a_configuration_without_the_secret(admin_client):
    secret = shown_secret(admin_client.post(f"{CHANGELIST}add/", client_form()))
    client = Client.objects.get()
    page = admin_client.get(f"{CHANGELIST}{client.pk}/change/").content.decode()
    discovery = "http://testserver/oidc/.well-known/openid-configuration"
    assert f'<a id="discovery-url" href="{discovery}">{discovery}</a>' in page
    assert rp_configuration(page) == {
        "issuer": "http://testserver/oidc",
        "discovery_url": discovery,
        "client_id": "web",
        "redirect_uris": ["https://web.example/cb", "https://web.example/cb2"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "openid profile",
        "id_token_signed_response_alg": "RS256",
    }
    assert "<p>The client secret is not here: it was shown once, when it was made.</p>" in page
    assert secret not in page and client.client_secret_hash not in page


def test_a_public_clients_configuration_has_the_scopes_algorithm_and_pkce_the_op_applies(admin_client):
    form = client_form(
        token_endpoint_auth_method="none",
        scope=[],
        grant_types=["authorization_code", "refresh_token"],
        id_token_signed_response_alg="ES256",
    )
    response = admin_client.post(f"{CHANGELIST}add/", form)
    assert response.status_code == 302 and shows_no_secret(response)
    page = admin_client.get(f"{CHANGELIST}{Client.objects.get().pk}/change/").content.decode()
    assert rp_configuration(page) == {
        "issuer": "http://testserver/oidc",
        "discovery_url": "http://testserver/oidc/.well-known/openid-configuration",
        "client_id": "web",
        "redirect_uris": ["https://web.example/cb", "https://web.example/cb2"],
        "token_endpoint_auth_method": "none",
        "scope": "openid profile email address phone offline_access",  # every scope: none ticked
        "id_token_signed_response_alg": "ES256",
        "code_challenge_method": "S256",
    }
    assert "<p>This client has no secret.</p>" in page


def test_the_configuration_escapes_what_a_client_registered(admin_client):
    hostile = 'https://rp.example/cb?next="></pre><script>alert(1)</script>'
    client = Client.objects.create(client_id="<b>x</b>", redirect_uris=[hostile], registered_via="registration")
    page = admin_client.get(f"{CHANGELIST}{client.pk}/change/").content.decode()
    assert "<script>alert(1)</script>" not in page and "<b>x</b>" not in page
    assert rp_configuration(page)["redirect_uris"] == [hostile]
    assert rp_configuration(page)["client_id"] == "<b>x</b>"


def test_the_client_page_links_to_its_grants_and_consents(admin_client, tokens):
    client = Client.objects.get()
    page = admin_client.get(f"{CHANGELIST}{client.pk}/change/").content.decode()
    assert '<a id="client-sessions" href="/admin/oidc_provider/sessionnode/?client=rp1">1 active grant</a>' in page
    assert (
        f'<a id="client-consents" href="/admin/oidc_provider/consent/?client__id__exact={client.pk}">1 consent</a>'
        in (page)
    )


def test_staff_without_permissions_cannot_reach_the_admin_pages(client, django_user_model, tokens):
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    rp = Client.objects.get()
    for url in (
        CHANGELIST,
        f"{CHANGELIST}add/",
        f"{CHANGELIST}{rp.pk}/change/",
        NODES,
        f"{NODES}{SessionNode.objects.first().pk}/change/",
        TOKENS,
        f"{TOKENS}add/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"{CHANGELIST}add/", client_form()).status_code == 403
    assert client.post(f"{TOKENS}add/", {"description": "x", "uses_left": "1"}).status_code == 403
    nodes = [n.pk for n in SessionNode.objects.all()]
    assert client.post(NODES, {"action": "revoke", "_selected_action": nodes}).status_code == 403
    assert not SessionNode.objects.filter(revoked=True).exists()
    assert not InitialAccessToken.objects.exists() and Client.objects.count() == 1


# sessions and grants, by user and client

NODES = "/admin/oidc_provider/sessionnode/"
ROW = re.compile(
    r'<th class="field-name"><a href="[^"]+">(.*?)</a></th><td class="field-user">(.*?)</td>'
    r'<td class="field-client">(.*?)</td><td class="field-state">(.*?)</td>'
)


def listed(admin_client, query=""):
    return sorted(ROW.findall(admin_client.get(f"{NODES}{query}").content.decode()))


def test_sessions_and_grants_are_named_for_people(admin_client, user, tokens):
    rp = Client.objects.get()
    Client.objects.filter(pk=rp.pk).update(client_name="Demo client")
    alice = f'<a href="/admin/auth/user/{user.pk}/change/">alice</a>'
    demo = f'<a href="/admin/oidc_provider/client/{rp.pk}/change/">Demo client</a>'
    assert listed(admin_client) == [
        ("All sessions of alice", alice, "-", "Active"),
        ("Grant to Demo client: openid profile email", alice, demo, "Active"),
        ("Sessions of alice at Demo client", alice, demo, "Active"),
    ]
    page = admin_client.get(NODES).content.decode()
    assert "<h1>Select session or grant to view</h1>" in page
    assert ";;" not in page.split('id="result_list"')[1]  # no session-tree keys in the list


def test_sessions_are_filtered_by_client_user_and_state(admin_client, user, tokens, django_user_model):
    bob = django_user_model.objects.create_user("bob", password="pw")
    get_tokens(bob)
    make_rp("rp2")
    get_tokens(user, "rp2")
    assert len(listed(admin_client)) == 8
    assert [row[0] for row in listed(admin_client, "?client=rp2")] == [
        "Grant to rp2: openid profile email",
        "Sessions of alice at rp2",
    ]
    assert [row[0] for row in listed(admin_client, f"?user={bob.pk}")] == [
        "All sessions of bob",
        "Grant to rp1: openid profile email",
        "Sessions of bob at rp1",
    ]
    assert len(listed(admin_client, "?q=ali")) == 5
    assert listed(admin_client, "?q=nobody") == []
    filters = admin_client.get(NODES).content.decode()
    assert f'<a href="?user={bob.pk}">bob</a>' in filters and '<a href="?client=rp2">rp2</a>' in filters

    grant = SessionNode.objects.get(kind=SessionNode.GRANT, user_id=str(bob.pk))
    SessionNode.objects.filter(pk=grant.pk).update(expires_at=grant.created_at)
    assert [row[3] for row in listed(admin_client, f"?user={bob.pk}")] == ["Active", "Expired", "Active"]
    assert [row[0] for row in listed(admin_client, "?state=expired")] == ["Grant to rp1: openid profile email"]
    assert len(listed(admin_client, "?state=active")) == 7


def test_revoked_is_a_state(admin_client, user, tokens):
    response = revoke(admin_client, [SessionNode.objects.get(kind=SessionNode.USER)])
    assert message_texts(response) == [
        "Revoked 3 sessions and grants and their tokens. The sign-in sessions they belong to ended: their "
        "clients were told, and the user signs in again."
    ]
    assert [row[3] for row in listed(admin_client)] == ["Revoked", "Revoked", "Revoked"]
    assert len(listed(admin_client, "?state=revoked")) == 3 and listed(admin_client, "?state=active") == []
    assert "icon-yes.svg" not in admin_client.get(NODES).content.decode()


def test_a_deleted_user_and_a_user_model_without_an_admin_are_shown_unlinked(admin_client, user, tokens):
    from django.contrib import admin as django_admin
    from django.contrib.auth.admin import UserAdmin

    django_admin.site.unregister(type(user))
    try:
        assert {row[1] for row in listed(admin_client)} == {"alice"}
    finally:
        django_admin.site.register(type(user), UserAdmin)
    user_id = user.pk
    user.delete()
    assert [row[:2] for row in listed(admin_client)] == [
        (f"All sessions of user {user_id}", f"user {user_id}"),
        ("Grant to rp1: openid profile email", f"user {user_id}"),
        (f"Sessions of user {user_id} at rp1", f"user {user_id}"),
    ]


def test_the_grant_page_names_the_grant_and_its_state(admin_client, user, tokens):
    grant = SessionNode.objects.get(kind=SessionNode.GRANT)
    page = admin_client.get(f"{NODES}{grant.pk}/change/").content.decode()
    assert "&rsaquo; Grant to rp1: openid profile email\n</div>" in page  # the breadcrumb
    assert "<h2>Grant to rp1: openid profile email</h2>" in page
    assert '<div class="readonly">Grant to rp1: openid profile email</div>' in page
    assert f'<div class="readonly"><a href="/admin/auth/user/{user.pk}/change/">alice</a></div>' in page
    assert '<div class="readonly">Active</div>' in page
    assert (
        "<thead><tr><th>token</th><th>issued</th><th>expires</th><th>times used</th><th>state</th></tr></thead>"
    ) in page


def test_viewing_sessions_without_the_change_permission_offers_no_revoke(client, django_user_model, user, tokens):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_sessionnode"))
    client.force_login(staff)
    page = client.get(NODES).content.decode()
    assert "All sessions of alice" in page and 'value="revoke"' not in page
    client.post(NODES, {"action": "revoke", "_selected_action": [n.pk for n in SessionNode.objects.all()]})
    assert not SessionNode.objects.filter(revoked=True).exists()


# initial access tokens

TOKENS = "/admin/oidc_provider/initialaccesstoken/"
TOKEN_ON_PAGE = re.compile(r'<code id="initial-access-token">([^<]+)</code>')


def token_form(**overrides):
    return {"description": "partner", "uses_left": "3", "expires_at_0": "", "expires_at_1": "", **overrides}


def test_an_initial_access_token_is_made_in_the_admin_and_shown_once(admin_client, settings):
    from django.contrib.sessions.models import Session

    response = admin_client.post(f"{TOKENS}add/", token_form())
    page = response.content.decode()
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    [token] = TOKEN_ON_PAGE.findall(page)
    assert page.count(token) == 1 and message_texts(response) == []
    assert "Copy it now: it is stored only as a hash and will not be shown again." in page
    assert (
        '<p id="registration-policy">The registration policy is “open”: registration does not ask for this token.</p>'
    ) in page
    row = InitialAccessToken.objects.get()
    assert row.token_hash == InitialAccessToken.hash(token) and token not in row.token_hash
    assert (row.description, row.uses_left, row.expires_at) == ("partner", 3, None)
    assert not any(token in str(session.get_decoded()) for session in Session.objects.all())
    assert not any(token in entry.change_message + entry.object_repr for entry in LogEntry.objects.all())
    for url in (TOKENS, f"{TOKENS}{row.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert token not in page and row.token_hash not in page and "partner" in page
    assert '<td class="field-state">Usable</td>' in admin_client.get(TOKENS).content.decode()

    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_POLICY": "initial_access_token"}
    response = Browser().post(
        "/oidc/register",
        json.dumps({"redirect_uris": [REDIRECT_URI]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 201
    assert InitialAccessToken.objects.get().uses_left == 2


def test_an_initial_access_token_with_an_expiry(admin_client, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_POLICY": "initial_access_token"}
    response = admin_client.post(f"{TOKENS}add/", token_form(expires_at_0="2999-01-01", expires_at_1="12:00:00"))
    assert TOKEN_ON_PAGE.search(response.content.decode()) and 'id="registration-policy"' not in (
        response.content.decode()
    )
    assert InitialAccessToken.objects.get().expires_at.year == 2999


@pytest.mark.parametrize(
    "overrides, field, error",
    [
        ({"uses_left": "0"}, "uses_left", "A token must allow at least one registration."),
        ({"uses_left": "-1"}, "uses_left", "Ensure this value is greater than or equal to 0."),
        (
            {"expires_at_0": "2000-01-01", "expires_at_1": "00:00:00"},
            "expires_at",
            "Give a time in the future, or leave it empty for a token that never expires.",
        ),
        ({"description": "x" * 256}, "description", "Ensure this value has at most 255 characters (it has 256)."),
    ],
)
def test_a_bad_initial_access_token_is_refused(admin_client, overrides, field, error):
    response = admin_client.post(f"{TOKENS}add/", token_form(**overrides))
    assert response.context["adminform"].form.errors[field] == [error]
    assert not TOKEN_ON_PAGE.search(response.content.decode()) and not InitialAccessToken.objects.exists()


def test_initial_access_token_states(admin_client):
    from django.utils import timezone

    InitialAccessToken.mint("used", uses=1)
    InitialAccessToken.objects.filter(description="used").update(uses_left=0)
    InitialAccessToken.mint("old", expires_in=1)
    InitialAccessToken.objects.filter(description="old").update(expires_at=timezone.now())
    InitialAccessToken.mint("fresh")
    page = admin_client.get(TOKENS).content.decode()
    states = re.findall(
        r'<th class="field-__str__"><a [^>]+>([^<]+)</a></th><td class="field-state">([^<]+)</td>', page
    )
    assert sorted(states) == [("fresh", "Usable"), ("old", "Expired"), ("used", "Used up")]


def test_the_user_filter_is_left_out_when_too_many_users_have_sessions(admin_client, user, tokens, monkeypatch):
    from oidc_provider.admin import UserFilter

    monkeypatch.setattr(UserFilter, "most", 1)
    SessionNode.objects.create(key="999", kind=SessionNode.USER, user_id="999", class_name="x", data={})
    page = admin_client.get(NODES).content.decode()
    assert f'<a href="?user={user.pk}">alice</a>' not in page and "By user" not in page
    page = admin_client.get(f"{NODES}?user={user.pk}").content.decode()
    assert f'<a href="?user={user.pk}">alice</a>' in page and '<a href="?user=999">' not in page
    assert [row[0] for row in listed(admin_client, f"?user={user.pk}")] == [
        "All sessions of alice",
        "Grant to rp1: openid profile email",
        "Sessions of alice at rp1",
    ]


def test_a_pairwise_client_on_two_hosts_needs_a_sector_document_listing_its_redirect_uris(admin_client, settings):
    """The document is fetched before the admin's transaction (``outbound`` sends nothing inside one)."""
    from tests.jwks_server import JWKSServer

    settings.DEBUG = True  # the sector document on http://127.0.0.1
    uris = ["https://a.example/cb", "https://b.example/cb"]
    form = client_form(subject_type="pairwise", redirect_uris="\r\n".join(uris))
    response = admin_client.post(f"{CHANGELIST}add/", form)
    assert response.context["adminform"].form.errors["sector_identifier_uri"] == [
        "A pairwise client with redirect URIs on more than one host needs a sector_identifier_uri "
        "(OpenID Connect Core 1.0 §8.1)."
    ]
    server = JWKSServer()
    try:
        server.document = uris[:1]
        response = admin_client.post(f"{CHANGELIST}add/", {**form, "sector_identifier_uri": server.url})
        assert response.context["adminform"].form.errors["sector_identifier_uri"] == [
            "sector_identifier_uri does not list the redirect URI https://b.example/cb "
            "(OpenID Connect Registration 1.0 §5)."
        ]
        assert server.fetches == 1 and not Client.objects.filter(client_id="web").exists()
        server.document = uris
        response = admin_client.post(f"{CHANGELIST}add/", {**form, "sector_identifier_uri": server.url})
        assert shown_secret(response)  # created
        client = Client.objects.get(client_id="web")
        assert client.subject_type == "pairwise" and client.sector_identifier_uri == server.url
        assert server.fetches == 2  # once, before the transaction
    finally:
        server.close()


# encrypted responses (docs/encryption.md)


def test_the_admin_holds_encryption_to_the_rules_of_registration(admin_client):
    response = admin_client.post(
        f"{CHANGELIST}add/",
        client_form(id_token_encrypted_response_alg="RSA-OAEP", userinfo_encrypted_response_enc="A128GCM"),
    )
    errors = response.context["adminform"].form.errors
    assert errors["id_token_encrypted_response_alg"] == [
        "id_token_encrypted_response_alg needs the client's public keys: jwks or jwks_uri."
    ]
    assert errors["userinfo_encrypted_response_alg"] == [
        "userinfo_encrypted_response_enc needs userinfo_encrypted_response_alg (OpenID Connect Registration 1.0 §2)."
    ]
    jwks = {"keys": [{**new_ec_key("P-256", kid="enc").serialize(private=False), "use": "enc"}]}
    assert shown_secret(
        admin_client.post(
            f"{CHANGELIST}add/", client_form(jwks=json.dumps(jwks), id_token_encrypted_response_alg="ECDH-ES")
        )
    )
    client = Client.objects.get()
    assert (client.id_token_encrypted_response_alg, client.id_token_encrypted_response_enc) == (
        "ECDH-ES",
        "A128CBC-HS256",
    )


def test_request_object_metadata_is_edited_in_the_admin(admin_client):
    """request_uris one per line, a fragment (the content's hash) kept; the alg from the accepted ones."""
    uris = ["https://web.example/r.jwt#h4sh", "https://web.example/other.jwt"]
    response = admin_client.post(
        f"{CHANGELIST}add/", client_form(request_uris="\r\n".join(uris), request_object_signing_alg="PS256")
    )
    assert shown_secret(response)
    client = Client.objects.get(client_id="web")
    assert client.request_uris == uris and client.request_object_signing_alg == "PS256"


def test_the_admin_sets_require_pushed_authorization_requests(admin_client):
    """RFC 9126 §6 client metadata, under Grants and tokens (docs/pushed-authorization-requests.md)."""
    admin_client.post(f"{CHANGELIST}add/", client_form(require_pushed_authorization_requests="on"))
    assert Client.objects.get(client_id="web").require_pushed_authorization_requests
    page = admin_client.get(f"{CHANGELIST}{Client.objects.get(client_id='web').pk}/change/").content.decode()
    assert 'name="require_pushed_authorization_requests"' in page and "checked" in page
