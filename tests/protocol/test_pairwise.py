"""Pairwise subject identifiers (OpenID Connect Core 1.0 §8.1, Registration 1.0 §5; docs/pairwise.md)."""

import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient

from oidc_provider.conf import oidc_settings
from oidc_provider.models import Client, OPSession
from tests import flows
from tests.protocol.test_token_exchange import make_rp2, set_policy

PAIRWISE = ("--subject-type", "pairwise")


def subs(browser, http, client_id, secret):
    """The sub of one code flow as the ID token, userinfo and introspection give it."""
    tokens = flows.get_tokens(browser, http, client_id=client_id, secret=secret)
    id_token, _ = flows.verified_claims(http, tokens["id_token"])
    info = flows.userinfo(http, tokens["access_token"]).json()
    introspected = flows.introspect(http, tokens["access_token"], client_id, secret).json()
    return {id_token["sub"], info["sub"], introspected["sub"]}


def expected_pairwise_sub(sector, user_id):
    """What docs/pairwise.md says a pairwise sub is, computed here without the OP's code."""
    key = HKDF(SHA256(), 32, salt=b"django-idpyoidc-op", info=b"sub:pairwise").derive(oidc_settings.SECRET.encode())
    sector_bytes, user_bytes = sector.encode(), str(user_id).encode()
    message = len(sector_bytes).to_bytes(4, "big") + sector_bytes + len(user_bytes).to_bytes(4, "big") + user_bytes
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def test_pairwise_and_public_clients_see_different_stable_subs(db, browser, http, user):
    flows.make_client("pub", "s1")
    flows.make_client("pw", "s2", *PAIRWISE)
    [public] = subs(browser, http, "pub", "s1")
    [pairwise] = subs(browser, http, "pw", "s2")
    assert public != pairwise
    assert pairwise == expected_pairwise_sub("rp.example", user.pk)
    # stable: another flow, and a rebuilt server (another worker), give the same subs
    from oidc_provider.server import reset_server

    reset_server()
    assert subs(browser, http, "pw", "s2") == {pairwise}
    assert subs(browser, http, "pub", "s1") == {public}


def test_clients_of_one_sector_share_a_sub_and_other_sectors_do_not(db, browser, http, user):
    flows.make_client("pw1", "s1", *PAIRWISE)
    flows.make_client("pw2", "s2", *PAIRWISE)
    flows.make_client("pw3", "s3", *PAIRWISE)
    Client.objects.filter(client_id="pw3").update(redirect_uris=["https://other.example/cb"])
    assert subs(browser, http, "pw1", "s1") == subs(browser, http, "pw2", "s2")
    Client.objects.filter(client_id="pw2").update(sector_identifier_uri="https://sector.example/uris.json")
    [other] = subs(browser, http, "pw2", "s2")
    assert other == expected_pairwise_sub("sector.example", user.pk)
    assert other not in subs(browser, http, "pw1", "s1")
    bob = get_user_model().objects.create_user("bob", "bob@example.com", "pw")
    bob_browser = HttpClient()
    bob_browser.force_login(bob)
    assert subs(bob_browser, http, "pw1", "s1") == {expected_pairwise_sub("rp.example", bob.pk)}


def test_a_token_exchanged_for_a_pairwise_client_carries_that_clients_sub(tokens, http, user):
    """Defect 131: stock copied the subject token's sub (rp1's public one) into the new client's grant."""
    make_rp2(*PAIRWISE)
    set_policy(audiences=["rp2"])
    for_rp2 = flows.exchange(http, tokens["access_token"], audience="rp2").json()["access_token"]
    body = flows.exchange(http, for_rp2, "rp2", "other").json()
    info = flows.introspect(http, body["access_token"], "rp2", "other").json()
    assert info["active"] and info["client_id"] == "rp2"
    assert info["sub"] == expected_pairwise_sub("rp.example", user.pk)
    assert info["sub"] != flows.jwt_claims(tokens["id_token"])["sub"]
    assert flows.userinfo(http, body["access_token"]).json()["sub"] == info["sub"]


def test_a_sector_identifier_uri_in_the_authorization_request_changes_nothing(db, browser, http, user):
    """Defect 130: stock took the sector from the authorization request's sector_identifier_uri."""
    flows.make_client("pw", "s2", *PAIRWISE)
    tokens = flows.get_tokens(
        browser, http, client_id="pw", secret="s2", sector_identifier_uri="https://victim.example/s.json"
    )
    assert flows.jwt_claims(tokens["id_token"])["sub"] == expected_pairwise_sub("rp.example", user.pk)


def test_a_jwt_access_token_carries_the_pairwise_sub(db, browser, http, user):
    flows.make_client("pw", "s2", *PAIRWISE, "--access-token-format", "jwt")
    tokens = flows.get_tokens(browser, http, client_id="pw", secret="s2")
    assert flows.jwt_claims(tokens["access_token"])["sub"] == expected_pairwise_sub("rp.example", user.pk)


@pytest.fixture
def end_session(django_capture_on_commit_callbacks):
    def call(browser, **params):
        with django_capture_on_commit_callbacks(execute=True):
            return browser.get("/oidc/end_session", params)

    return call


def test_an_id_token_hint_with_a_pairwise_sub_logs_out_its_user(db, browser, http, user, end_session, deliveries):
    flows.make_client("pw", "s2", *PAIRWISE)
    Client.objects.filter(client_id="pw").update(
        post_logout_redirect_uris=["https://rp.example/bye"], backchannel_logout_uri="https://rp.example/bc"
    )
    bob = get_user_model().objects.create_user("bob", "bob@example.com", "pw")
    bob_browser = HttpClient()
    bob_browser.force_login(bob)
    bob_tokens = flows.get_tokens(bob_browser, http, client_id="pw", secret="s2")
    tokens = flows.get_tokens(browser, http, client_id="pw", secret="s2")
    sub = flows.jwt_claims(tokens["id_token"])["sub"]
    assert sub == expected_pairwise_sub("rp.example", user.pk)
    response = end_session(browser, id_token_hint=tokens["id_token"], post_logout_redirect_uri="https://rp.example/bye")
    assert response.status_code == 302 and response["Location"] == "https://rp.example/bye"
    assert "_auth_user_id" not in browser.session
    assert flows.userinfo(http, tokens["access_token"]).status_code == 401
    assert flows.userinfo(http, bob_tokens["access_token"]).json()["sub"] == expected_pairwise_sub("rp.example", bob.pk)
    assert OPSession.objects.filter(ended_at=None).count() == 1  # bob's
    [delivery] = deliveries
    claims, _ = flows.verified_claims(http, delivery["logout_token"])
    assert claims["sub"] == sub


def test_an_id_token_hint_of_another_user_does_not_log_this_one_out(db, browser, http, user, end_session):
    """A pairwise hint names its user through its sid: bob's hint in alice's browser ends nothing."""
    flows.make_client("pw", "s2", *PAIRWISE)
    bob = get_user_model().objects.create_user("bob", "bob@example.com", "pw")
    bob_browser = HttpClient()
    bob_browser.force_login(bob)
    bob_tokens = flows.get_tokens(bob_browser, http, client_id="pw", secret="s2")
    flows.get_tokens(browser, http, client_id="pw", secret="s2")
    response = end_session(browser, id_token_hint=bob_tokens["id_token"])
    assert response.status_code == 200  # the confirmation page: the hint is not of this session
    assert "_auth_user_id" in browser.session
    assert flows.userinfo(http, bob_tokens["access_token"]).status_code == 200


# registration with a sector identifier document (served on loopback http: DEBUG, OUTBOUND_ALLOWED_HOSTS)

URIS = ["https://a.rp.example/cb", "https://b.rp.example/cb"]


def register(http, **metadata):
    body = {"redirect_uris": URIS, "subject_type": "pairwise", **metadata}
    return http.post("/oidc/register", json.dumps(body), content_type="application/json")


def test_a_sector_document_listing_every_redirect_uri_is_accepted(db, http, jwks_server):
    jwks_server.document = [*URIS, "https://c.rp.example/cb"]
    response = register(http, sector_identifier_uri=jwks_server.url)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["subject_type"] == "pairwise" and body["sector_identifier_uri"] == jwks_server.url
    client = Client.objects.get(client_id=body["client_id"])
    assert client.subject_type == "pairwise" and client.sector_identifier_uri == jwks_server.url
    assert jwks_server.fetches == 1


def test_a_sector_document_missing_a_redirect_uri_is_refused(db, http, jwks_server):
    jwks_server.document = URIS[:1]
    response = register(http, sector_identifier_uri=jwks_server.url)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": "sector_identifier_uri does not list the redirect URI https://b.rp.example/cb "
        "(OpenID Connect Registration 1.0 §5).",
    }
    assert not Client.objects.exists()


@pytest.mark.parametrize(
    "document, status, description",
    [
        ({"redirect_uris": URIS}, 200, "sector_identifier_uri must return a JSON array of redirect URIs."),
        ([URIS[0], 7], 200, "sector_identifier_uri must return a JSON array of redirect URIs."),
        (URIS, 404, "sector_identifier_uri could not be fetched: HTTP 404"),
    ],
)
def test_an_unusable_sector_document_is_refused(db, http, jwks_server, document, status, description):
    jwks_server.document, jwks_server.status = document, status
    response = register(http, sector_identifier_uri=jwks_server.url)
    assert response.json() == {"error": "invalid_client_metadata", "error_description": description}
    assert not Client.objects.exists()


def test_a_sector_document_on_a_private_address_is_never_fetched(db, http, settings, jwks_server):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "OUTBOUND_ALLOWED_HOSTS": []}
    jwks_server.document = URIS
    response = register(http, sector_identifier_uri=jwks_server.url)
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"
    assert response.json()["error_description"].startswith("sector_identifier_uri could not be fetched: ")
    assert jwks_server.fetches == 0 and not Client.objects.exists()


def test_createclient_checks_the_sector_document(db, jwks_server):
    from django.core.management import CommandError, call_command

    jwks_server.document = URIS[:1]
    args = ["--client-id", "c", "--redirect-uri", URIS[0], "--redirect-uri", URIS[1], *PAIRWISE]
    with pytest.raises(CommandError, match="needs a sector_identifier_uri"):
        call_command("createclient", *args)
    with pytest.raises(CommandError, match="does not list the redirect URI https://b.rp.example/cb"):
        call_command("createclient", *args, "--sector-identifier-uri", jwks_server.url)
    jwks_server.document = URIS
    call_command("createclient", *args, "--sector-identifier-uri", jwks_server.url, stdout=open("/dev/null", "w"))
    client = Client.objects.get(client_id="c")
    assert client.subject_type == "pairwise" and client.sector_identifier_uri == jwks_server.url


def test_an_id_token_hint_with_a_pairwise_sub_names_its_user_at_authorization(db, browser, http, user):
    flows.make_client("pw", "s2", *PAIRWISE)
    id_token = flows.get_tokens(browser, http, client_id="pw", secret="s2")["id_token"]
    assert flows.jwt_claims(id_token)["sub"] == expected_pairwise_sub("rp.example", user.pk)
    code, verifier = flows.get_code(browser, client_id="pw", prompt="none", id_token_hint=id_token)
    assert flows.redeem(http, code, verifier, client_id="pw", secret="s2").status_code == 200
    bob = get_user_model().objects.create_user("bob", "bob@example.com", "pw")
    bob_browser = HttpClient()
    bob_browser.force_login(bob)
    _, challenge = flows.pkce_pair()
    silent = bob_browser.get(
        "/oidc/authorize", flows.auth_params(challenge, client_id="pw", prompt="none", id_token_hint=id_token)
    )
    assert flows.query(silent)["error"] == "login_required"
