"""The admin: client secrets shown once, URI validation, revocation of the session tree, key rotation."""

import base64
import hashlib
import json
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
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
        "scope": "openid profile",
        "token_endpoint_auth_method": "client_secret_basic",
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
@pytest.mark.parametrize("how", ["add", "change to confidential", "new secret action"])
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
        response = admin_client.post(CHANGELIST, {"action": "new_secret", "_selected_action": [make_rp("web").pk]})

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


def test_new_secret_action_replaces_the_secret(admin_client, user):
    client = make_rp()
    old_hash = client.client_secret_hash
    response = admin_client.post(CHANGELIST, {"action": "new_secret", "_selected_action": [client.pk]}, follow=True)
    assert response.status_code == 200
    secret = shown_secret(response)
    client.refresh_from_db()
    assert client.client_secret_hash != old_hash and client.check_secret(secret)
    assert secret not in admin_client.get(CHANGELIST).content.decode()

    browser = Browser()
    browser.force_login(user)
    code, verifier = get_code(browser)
    assert redeem(browser, code, verifier, secret="s3cret").status_code == 401
    assert redeem(browser, code, verifier, secret=secret).status_code == 200


def test_new_secret_action_needs_exactly_one_confidential_client(admin_client):
    one, two = make_rp("rp1"), make_rp("rp2")
    hashes = {one.client_secret_hash, two.client_secret_hash}
    response = admin_client.post(
        CHANGELIST, {"action": "new_secret", "_selected_action": [one.pk, two.pk]}, follow=True
    )
    assert any("exactly one" in text for text in message_texts(response))
    assert set(Client.objects.values_list("client_secret_hash", flat=True)) == hashes

    call_command(
        "createclient", "--client-id", "spa", "--public", "--redirect-uri", REDIRECT_URI, stdout=open("/dev/null", "w")
    )
    spa = Client.objects.get(client_id="spa")
    response = admin_client.post(CHANGELIST, {"action": "new_secret", "_selected_action": [spa.pk]}, follow=True)
    assert any("public client" in text for text in message_texts(response))
    spa.refresh_from_db()
    assert spa.client_secret_hash == ""


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


# form validation


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("redirect_uris", "/cb", "is not an absolute http(s) URI"),
        ("redirect_uris", "https://web.example/cb#frag", "must not contain a fragment"),
        ("redirect_uris", "ftp://web.example/cb", "is not an absolute http(s) URI"),
        ("post_logout_redirect_uris", "https://web.example/bye#x", "must not contain a fragment"),
        ("scope", "profile", "must include openid"),
        ("scope", "openid bogus", "Unknown scope(s): bogus"),
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
        ("token_exchange", "{not json", "Enter a valid JSON"),
        ("client_id", "has space", "cannot contain whitespace"),
        ("backchannel_logout_uri", "https://web.example/bc#x", "must not contain a fragment"),
        (
            "frontchannel_logout_uri",
            "https://other.example/fc",
            "must have the scheme, host and port of a redirect URI",
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
        client_id=None, redirect_uris=f"{REDIRECT_URI}\nhttps://rp.example/other\n\n", scope="openid email"
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


@pytest.mark.xfail(
    strict=True,
    reason="the summary (admin.py) reads only the tokens in the grant's row: those minted later have rows of "
    "their own (IssuedToken); it must add storage.token_rows.summaries(obj.key)",
)
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
