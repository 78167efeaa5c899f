"""Run by tests/test_custom_user.py under tests.settings_custom_user (not collected on its own)."""

from django.contrib.auth import get_user_model
from django.test import Client as HttpClient

from tests import flows


def test_code_flow_with_a_uuid_email_user(db):
    user = get_user_model().objects.create_user("member@example.com", "pw")
    flows.make_client()
    browser = HttpClient()
    browser.login(email="member@example.com", password="pw")
    code, verifier = flows.get_code(browser, login_hint="member@example.com")
    http = HttpClient()
    tokens = flows.redeem(http, code, verifier).json()
    info = http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + tokens["access_token"]).json()
    assert info["preferred_username"] == "member@example.com" and info["email"] == "member@example.com"
    assert info["sub"] == flows.jwt_claims(tokens["id_token"])["sub"] != str(user.pk)
    assert "name" not in info and "given_name" not in info


def test_tokens_without_a_user_and_usernames_with_a_uuid_key(db, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "INTROSPECTION_USERNAME": True}
    get_user_model().objects.create_user("member@example.com", "pw")
    flows.make_client("rp1", "s3cret", "--grant-type", "authorization_code", "--grant-type", "client_credentials")
    browser = HttpClient()
    browser.login(email="member@example.com", password="pw")
    http = HttpClient()
    tokens = flows.redeem(http, *flows.get_code(browser)).json()
    assert flows.introspect(http, tokens["access_token"]).json()["username"] == "member@example.com"
    machine = flows.token_request(http, {"grant_type": "client_credentials"}).json()["access_token"]
    info = flows.introspect(http, machine).json()
    assert info["active"] and info["sub"] == "rp1" and "username" not in info
    assert flows.userinfo(http, machine).status_code == 403


def test_the_admin_names_sessions_by_the_users_username_field(db):
    from django.contrib import admin

    from oidc_provider.admin import attach_people
    from oidc_provider.models import SessionNode

    get_user_model().objects.create_user("member@example.com", "pw")
    flows.make_client()
    browser = HttpClient()
    browser.login(email="member@example.com", password="pw")
    flows.get_code(browser)
    nodes = list(SessionNode.objects.all())
    attach_people(nodes)  # the UUID keys, written as text in the session tree, find their users
    model_admin = admin.site._registry[SessionNode]
    assert sorted(model_admin.name(node) for node in nodes) == [
        "All sessions of member@example.com",
        "Grant to rp1: openid profile email",
        "Sessions of member@example.com at rp1",
    ]
    assert {model_admin.user(node) for node in nodes} == {"member@example.com"}  # no admin for Member: no link
