"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592)."""

import json
import time

import pytest

from oidc_provider.crypto import check_client_secret
from oidc_provider.models import Client, InitialAccessToken
from oidc_provider.storage.clients import hash_registration_access_token
from tests import flows

METADATA = {
    "redirect_uris": ["https://rp.example/cb"],
    "post_logout_redirect_uris": ["https://rp.example/bye", "https://rp.example/bye2"],
    "client_name": "Registered RP",
    "scope": "openid email",
    "token_endpoint_auth_method": "client_secret_post",
    "backchannel_logout_uri": "https://rp.example/backchannel",
    "backchannel_logout_session_required": True,
    "frontchannel_logout_uri": "https://rp.example/frontchannel",
    "frontchannel_logout_session_required": True,
    "contacts": ["ops@rp.example"],
    "logo_uri": "https://rp.example/logo.png",
    "software_id": "rp-suite",
}


def register(http, metadata=None, raw=None, **headers):
    body = raw if raw is not None else json.dumps(METADATA if metadata is None else metadata)
    return http.post("/oidc/register", body, content_type="application/json", **headers)


def assert_no_store(response):
    assert response["Cache-Control"] == "no-store" and response["Content-Type"].startswith("application/json")


@pytest.fixture
def policy(settings):
    def set_policy(value, **extra):
        settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_POLICY": value, **extra}

    return set_policy


# registration


def test_registering_a_jwks_uri_makes_no_request(db, http, settings):
    """Defect 66: idpyoidc fetched a registering client's jwks_uri at once, inside the registration's
    transaction, following redirects (here to an internal port), with no size cap or address check.
    Registration stores the jwks_uri; keys are fetched when the client authenticates."""
    from tests.jwks_server import JWKSServer

    settings.DEBUG = True  # an http jwks_uri on loopback
    internal, jwks_uri = JWKSServer(), JWKSServer()
    jwks_uri.status, jwks_uri.location = 302, internal.url
    try:
        response = register(
            http, {**METADATA, "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": jwks_uri.url}
        )
        assert response.status_code == 201, response.content
        assert jwks_uri.fetches == 0 and internal.fetches == 0
        assert Client.objects.get(client_id=response.json()["client_id"]).jwks_uri == jwks_uri.url
    finally:
        internal.close()
        jwks_uri.close()


def test_registration_stores_the_client_as_a_row(db, http):
    response = register(http)
    assert response.status_code == 201
    assert_no_store(response)
    body = response.json()
    client = Client.objects.get(client_id=body["client_id"])
    assert client.registered_via == "registration" and client.is_active
    assert client.redirect_uris == ["https://rp.example/cb"]
    assert client.post_logout_redirect_uris == ["https://rp.example/bye", "https://rp.example/bye2"]  # defect 26
    assert client.scope == "openid email"  # defect 35
    assert client.token_endpoint_auth_method == "client_secret_post"
    assert (
        client.backchannel_logout_uri == "https://rp.example/backchannel" and client.backchannel_logout_session_required
    )
    assert (
        client.frontchannel_logout_uri == "https://rp.example/frontchannel"
        and client.frontchannel_logout_session_required
    )
    assert client.client_name == "Registered RP"
    assert client.metadata == {
        "contacts": ["ops@rp.example"],
        "logo_uri": "https://rp.example/logo.png",
        "software_id": "rp-suite",
        "application_type": "web",
    }
    # secrets are kept only as keyed hashes
    assert check_client_secret(body["client_secret"], client.client_secret_hash)
    assert client.registration_access_token_hash == hash_registration_access_token(body["registration_access_token"])
    assert body["client_secret"] not in json.dumps(list(Client.objects.values()), default=str)
    assert body["registration_access_token"] not in json.dumps(list(Client.objects.values()), default=str)


def test_a_registered_secret_is_as_long_as_an_hs512_key(db, http, settings):
    """Defect 122: RFC 7518 §3.2 wants an HMAC key at least as long as the hash, 64 bytes for HS512,
    which a client_secret_jwt client may sign with; stock gave a 56-character digest of 16 random
    bytes. Two registrations, two unrelated secrets; an expiring secret still says when."""
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_SECRET_LIFETIME": 3600}
    first = register(http, {**METADATA, "token_endpoint_auth_method": "client_secret_jwt"}).json()
    second = register(http).json()
    assert len(first["client_secret"]) == len(second["client_secret"]) == 86  # 64 bytes, base64url
    assert first["client_secret"] != second["client_secret"]
    assert 3590 < first["client_secret_expires_at"] - time.time() <= 3600


def test_registration_response_is_rfc7591(db, http):
    body = register(http).json()
    assert body["client_secret_expires_at"] == 0  # defect 89: the secret does not expire; 36: REQUIRED with a secret
    assert abs(body["client_id_issued_at"] - time.time()) < 10
    assert body["registration_client_uri"] == f"http://testserver/oidc/register/client?client_id={body['client_id']}"
    for name in (
        "redirect_uris",
        "post_logout_redirect_uris",
        "scope",
        "client_name",
        "token_endpoint_auth_method",
        "backchannel_logout_uri",
        "frontchannel_logout_uri",
        "contacts",
        "logo_uri",
        "software_id",
    ):
        assert body[name] == METADATA[name], name


def test_registration_without_keys_succeeds(db, http):
    """Defect 19: without jwks or jwks_uri, the stock endpoint failed with invalid_configuration_request."""
    response = register(http, {"redirect_uris": ["https://rp.example/cb"]})
    assert response.status_code == 201, response.content
    client = Client.objects.get(client_id=response.json()["client_id"])
    assert client.token_endpoint_auth_method == "client_secret_basic"  # RFC 7591 §2 default


def test_public_client_gets_no_secret_and_needs_pkce(db, http):
    body = register(http, {"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "none"}).json()
    assert "client_secret" not in body and "client_secret_expires_at" not in body  # defect 36
    client = Client.objects.get(client_id=body["client_id"])
    assert client.is_public and client.require_pkce and client.client_secret_hash == ""


def test_a_private_key_jwt_client_is_registered_without_a_secret(db, http):
    """Defect 71: the code before this fix issued one, which then worked at introspection and revocation."""
    from cryptojwt.jwk.ec import new_ec_key

    public = new_ec_key("P-256", kid="k1").serialize()
    body = register(
        http,
        {
            "redirect_uris": ["https://rp.example/cb"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [public]},
        },
    ).json()
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    assert Client.objects.get(client_id=body["client_id"]).client_secret_hash == ""


def test_keys_and_informational_metadata_are_kept(db, http):
    jwks = {
        "keys": [
            {
                "kty": "EC",
                "crv": "P-256",
                "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                "use": "sig",
                "kid": "k1",
            }
        ]
    }
    body = register(
        http,
        {
            "redirect_uris": ["https://rp.example/cb"],
            "jwks": jwks,
            "id_token_signed_response_alg": "RS256",
            "client_uri": "https://rp.example/",
            "policy_uri": "https://rp.example/policy",
        },
    ).json()
    client = Client.objects.get(client_id=body["client_id"])
    assert client.jwks == jwks and client.id_token_signed_response_alg == "RS256"
    assert (
        client.metadata["client_uri"] == "https://rp.example/"
        and client.metadata["policy_uri"] == "https://rp.example/policy"
    )
    other = register(
        http, {"redirect_uris": ["https://rp.example/cb"], "jwks_uri": "https://rp.example/jwks.json"}
    ).json()
    assert Client.objects.get(client_id=other["client_id"]).jwks_uri == "https://rp.example/jwks.json"


def test_no_client_keys_stay_in_the_process(db, http):
    """Defect 27: idpyoidc kept every registered client's secret and keys in the registering
    process's key jar (unseen by other processes, and growing with every registration)."""
    from oidc_provider.server import get_server

    jwks = {
        "keys": [
            {
                "kty": "EC",
                "crv": "P-256",
                "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                "kid": "k1",
            }
        ]
    }
    owners = set(get_server().keyjar.owners())
    register(http)
    register(http, {"redirect_uris": ["https://rp.example/cb"], "jwks": jwks, "token_endpoint_auth_method": "none"})
    register(http, {"redirect_uris": ["https://rp.example/cb"], "jwks_uri": "https://rp.example/jwks"})
    register(http, {"redirect_uris": ["https://rp.example/cb"], "logo_uri": "https://cdn.example/logo.png"})  # refused
    assert set(get_server().keyjar.owners()) == owners


def test_unknown_and_unoffered_metadata_is_left_out(db, http):
    """RFC 7591 §2: metadata the server does not understand is ignored; §3.2.1: values it does not
    offer may be replaced, and the response says what was registered (idpyoidc's RP asks for all of these)."""
    asked = {
        "x_custom": "y",
        "default_max_age": 60,
        "userinfo_signed_response_alg": "HS256",
        "token_endpoint_auth_signing_alg": "RS256",
        "response_modes": ["query"],
        "require_auth_time": True,
    }
    body = register(http, {"redirect_uris": ["https://rp.example/cb"], **asked}).json()
    assert not set(asked) & set(body)
    assert not set(asked) & set(Client.objects.get(client_id=body["client_id"]).metadata)


def test_offered_signing_algorithms_are_honoured(db, http):
    asked = {"id_token_signed_response_alg": "ES256", "userinfo_signed_response_alg": "RS256"}
    body = register(http, {"redirect_uris": ["https://rp.example/cb"], **asked}).json()
    client = Client.objects.get(client_id=body["client_id"])
    assert (client.id_token_signed_response_alg, client.userinfo_signed_response_alg) == ("ES256", "RS256")
    assert body["id_token_signed_response_alg"] == "ES256"


def test_pre_final_singular_post_logout_redirect_uri_is_accepted(db, http):
    body = register(
        http, {"redirect_uris": ["https://rp.example/cb"], "post_logout_redirect_uri": "https://rp.example/bye"}
    ).json()
    assert Client.objects.get(client_id=body["client_id"]).post_logout_redirect_uris == ["https://rp.example/bye"]


def test_registered_auth_method_is_enforced_at_the_token_endpoint(db, http, browser):
    body = register(http).json()
    client_id, secret = body["client_id"], body["client_secret"]
    codes = []
    for _ in range(2):
        code, verifier = flows.get_code(browser, client_id=client_id, scope="openid email")
        codes.append((code, verifier))
    code, verifier = codes[0]
    basic = flows.redeem(http, code, verifier, client_id=client_id, secret=secret)
    assert basic.status_code == 401 and basic.json()["error"] == "invalid_client"
    code, verifier = codes[1]
    post = http.post(
        "/oidc/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flows.REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": client_id,
            "client_secret": secret,
        },
    )
    assert post.status_code == 200, post.content


def test_secret_lifetime_is_configurable_and_enforced(db, http, browser, policy):
    policy("open", REGISTRATION_SECRET_LIFETIME=3600)
    body = register(http, {"redirect_uris": ["https://rp.example/cb"]}).json()
    assert abs(body["client_secret_expires_at"] - (time.time() + 3600)) < 10
    client = Client.objects.get(client_id=body["client_id"])
    assert client.client_secret_expires_at == body["client_secret_expires_at"]
    code, verifier = flows.get_code(browser, client_id=body["client_id"])
    Client.objects.filter(pk=client.pk).update(client_secret_expires_at=int(time.time()) - 1)
    response = flows.redeem(http, code, verifier, client_id=body["client_id"], secret=body["client_secret"])
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


URI = "https://rp.example/cb"


@pytest.mark.parametrize(
    "metadata, error, mentions",
    [
        ({}, "invalid_redirect_uri", "redirect_uris is required"),
        ({"redirect_uris": URI}, "invalid_redirect_uri", "redirect_uris must be an array"),
        ({"redirect_uris": []}, "invalid_redirect_uri", "redirect_uris must not be empty"),
        ({"redirect_uris": ["https://rp.example/cb#x"]}, "invalid_redirect_uri", "fragment"),
        ({"redirect_uris": ["/cb"]}, "invalid_redirect_uri", "not an absolute"),
        ({"redirect_uris": ["com.rp.app:/cb"]}, "invalid_redirect_uri", "not an absolute"),
        ({"redirect_uris": [URI], "application_type": "native"}, "invalid_redirect_uri", "localhost"),
        (
            {"post_logout_redirect_uris": ["https://rp.example/bye#x"]},
            "invalid_client_metadata",
            "post_logout_redirect_uris",
        ),
        (
            {"post_logout_redirect_uris": "https://rp.example/bye"},
            "invalid_client_metadata",
            "post_logout_redirect_uris",
        ),
        ({"post_logout_redirect_uri": "bye"}, "invalid_client_metadata", "post_logout_redirect_uri"),
        ({"response_types": ["token"]}, "invalid_client_metadata", "response_types"),
        ({"grant_types": ["password"]}, "invalid_client_metadata", "grant_types"),
        ({"grant_types": ["refresh_token"]}, "invalid_client_metadata", "grant_types must include authorization_code"),
        ({"token_endpoint_auth_method": "tls_client_auth"}, "invalid_client_metadata", "token_endpoint_auth_method"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata", "jwks"),
        ({"scope": "openid telepathy"}, "invalid_client_metadata", "scope"),
        ({"scope": "email"}, "invalid_client_metadata", "scope"),
        ({"scope": ["openid"]}, "invalid_client_metadata", "scope must be a string"),
        ({"jwks": {"keys": []}, "jwks_uri": "https://rp.example/jwks"}, "invalid_client_metadata", "jwks and jwks_uri"),
        ({"jwks": {"kty": "RSA"}}, "invalid_client_metadata", "jwks: Not a JWK Set"),
        ({"jwks_uri": "jwks.json"}, "invalid_client_metadata", "jwks_uri"),
        ({"jwks_uri": "https://rp.example/" + "k" * 2000}, "invalid_client_metadata", "jwks_uri must be at most 2000"),
        (
            {"backchannel_logout_uri": "https://rp.example/" + "b" * 2000},
            "invalid_client_metadata",
            "backchannel_logout_uri must be at most",
        ),
        ({"id_token_signed_response_alg": "HS256"}, "invalid_client_metadata", "id_token_signed_response_alg"),
        ({"id_token_encrypted_response_alg": "RSA-OAEP"}, "invalid_client_metadata", "id_token_encrypted_response_alg"),
        ({"sector_identifier_uri": "sector.json"}, "invalid_client_metadata", "sector_identifier_uri"),
        ({"subject_type": "ephemeral"}, "invalid_client_metadata", "subject_type must be public or pairwise."),
        (
            {"subject_type": "pairwise", "redirect_uris": ["https://a.example/cb", "https://b.example/cb"]},
            "invalid_client_metadata",
            "A pairwise client with redirect URIs on more than one host needs a sector_identifier_uri "
            "(OpenID Connect Core 1.0 §8.1).",
        ),
        ({"application_type": "desktop"}, "invalid_client_metadata", "application_type"),
        ({"backchannel_logout_uri": "backchannel"}, "invalid_client_metadata", "backchannel_logout_uri"),
        (
            {"backchannel_logout_session_required": "yes"},
            "invalid_client_metadata",
            "backchannel_logout_session_required",
        ),
        ({"frontchannel_logout_uri": "https://other.example/fc"}, "invalid_client_metadata", "frontchannel_logout_uri"),
        (
            {"frontchannel_logout_session_required": 1},
            "invalid_client_metadata",
            "frontchannel_logout_session_required",
        ),
        ({"client_name": 7}, "invalid_client_metadata", "client_name"),
        ({"client_name": "a\x00b"}, "invalid_client_metadata", "NUL"),
        ({"contacts": ["ops@rp.example\x00"]}, "invalid_client_metadata", "NUL"),
        # half a surrogate pair (a JSON "\ud800" escape): a 500 when written (PostgreSQL's jsonb too)
        ({"client_name": "\ud800"}, "invalid_client_metadata", "Client metadata must be valid Unicode text."),
        ({"request_uris": [URI + "\udfff"]}, "invalid_client_metadata", "Client metadata must be valid Unicode text."),
        ({"client_name": "x" * 256}, "invalid_client_metadata", "client_name"),
        ({"contacts": "ops@rp.example"}, "invalid_client_metadata", "contacts"),
        ({"logo_uri": "logo.png"}, "invalid_client_metadata", "logo_uri"),
        # idpyoidc's own check (same host as a redirect URI), with its error code mapped (defect 36)
        ({"logo_uri": "https://cdn.example/logo.png"}, "invalid_client_metadata", "logo_uri"),
    ],
)
def test_invalid_metadata_is_refused_and_no_client_is_made(db, http, metadata, error, mentions):
    if metadata and "redirect_uris" not in metadata:
        metadata = {"redirect_uris": [URI], **metadata}
    response = register(http, metadata)
    assert response.status_code == 400, response.content
    assert_no_store(response)
    assert response.json()["error"] == error
    assert mentions in response.json()["error_description"]
    assert not Client.objects.exists()


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"a string"', ""])
def test_a_body_that_is_not_a_json_object_is_refused(db, http, raw):
    response = register(http, raw=raw)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": "The request body must be a JSON object.",
    }
    assert not Client.objects.exists()


def test_registration_endpoint_takes_post_only(db, http):
    assert http.get("/oidc/register").status_code == 405


# client configuration (RFC 7592)


def read(http, client_id, token=None, method="get"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return getattr(http, method)(f"/oidc/register/client?client_id={client_id}", **headers)


def test_read_with_the_registration_access_token(db, http):
    body = register(http).json()
    response = read(http, body["client_id"], body["registration_access_token"])
    assert response.status_code == 200
    assert_no_store(response)
    config = response.json()
    assert "client_secret" not in config  # kept only as a hash
    # RFC 7592 §3: both REQUIRED; the stock endpoint left them out
    assert config["registration_access_token"] == body["registration_access_token"]
    assert config["registration_client_uri"] == body["registration_client_uri"]
    for name in (
        "client_id",
        "redirect_uris",
        "post_logout_redirect_uris",
        "scope",
        "client_name",
        "grant_types",
        "response_types",
        "token_endpoint_auth_method",
        "backchannel_logout_uri",
        "frontchannel_logout_uri",
        "backchannel_logout_session_required",
        "contacts",
        "logo_uri",
        "software_id",
        "client_id_issued_at",
        "client_secret_expires_at",
    ):
        assert config[name] == body[name], name


def test_read_works_in_another_process(db, http):
    """The registration access token is a row, not an entry in the registering process's memory."""
    from oidc_provider.server import reset_server

    body = register(http).json()
    reset_server()  # a new idpyoidc Server: what another worker has
    assert read(http, body["client_id"], body["registration_access_token"]).status_code == 200


def test_read_without_a_token_is_a_bare_bearer_challenge(db, http):
    body = register(http).json()
    response = read(http, body["client_id"])
    assert response.status_code == 401 and response.content == b""
    assert response["WWW-Authenticate"] == 'Bearer realm="http://testserver/oidc"'


@pytest.mark.parametrize("case", ["wrong token", "other client's token", "no client_id", "unknown client_id"])
def test_read_with_a_bad_token_is_invalid_token(db, http, case):
    mine, other = register(http).json(), register(http).json()
    client_id, token = {
        "wrong token": (mine["client_id"], "nope"),
        "other client's token": (mine["client_id"], other["registration_access_token"]),
        "no client_id": ("", mine["registration_access_token"]),
        "unknown client_id": ("nobody", mine["registration_access_token"]),
    }[case]
    response = read(http, client_id, token)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_update_and_delete_are_refused_clearly(db, http):
    body = register(http).json()
    update = read(http, body["client_id"], body["registration_access_token"], method="put")
    assert update.status_code == 400 and update.json()["error"] == "invalid_request"
    assert "not supported" in update.json()["error_description"]
    delete = read(http, body["client_id"], body["registration_access_token"], method="delete")
    assert delete.status_code == 405 and delete["Allow"] == "GET" and delete.json()["error"] == "invalid_request"
    assert Client.objects.filter(client_id=body["client_id"], is_active=True).exists()


def test_deactivated_client_cannot_read(db, http):
    body = register(http).json()
    Client.objects.filter(client_id=body["client_id"]).update(is_active=False)
    assert read(http, body["client_id"], body["registration_access_token"]).status_code == 401


# the registration policy


def test_policy_none_refuses_and_does_not_advertise(db, http, policy):
    policy("none")
    response = register(http)
    assert response.status_code == 403
    assert_no_store(response)
    assert response.json()["error"] == "access_denied"
    assert "registration_endpoint" not in http.get("/oidc/.well-known/openid-configuration").json()
    assert not Client.objects.exists()


def test_open_policy_is_advertised(db, http):
    discovery = http.get("/oidc/.well-known/openid-configuration").json()
    assert discovery["registration_endpoint"] == "http://testserver/oidc/register"


@pytest.fixture
def initial_token(db, policy):
    policy("initial_access_token")
    row, token = InitialAccessToken.mint(description="partner", uses=2)
    return token


def test_initial_access_token_allows_registration_and_is_spent(http, initial_token):
    """RFC 7591 §3. Defect 34: the stock endpoint read the token as client credentials (401 invalid_client)."""
    first = register(http, HTTP_AUTHORIZATION=f"Bearer {initial_token}")
    assert first.status_code == 201, first.content
    assert InitialAccessToken.objects.get().uses_left == 1
    assert register(http, HTTP_AUTHORIZATION=f"Bearer {initial_token}").status_code == 201
    used_up = register(http, HTTP_AUTHORIZATION=f"Bearer {initial_token}")
    assert used_up.status_code == 401 and used_up.json()["error"] == "invalid_token"
    assert Client.objects.count() == 2


def test_initial_access_token_is_required(http, initial_token):
    response = register(http)
    assert response.status_code == 401 and response.content == b""
    assert response["WWW-Authenticate"] == 'Bearer realm="http://testserver/oidc"'
    wrong = register(http, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert wrong.status_code == 401
    assert_no_store(wrong)
    assert wrong.json()["error"] == "invalid_token" and 'error="invalid_token"' in wrong["WWW-Authenticate"]
    assert not Client.objects.exists()


def test_expired_initial_access_token_is_refused(http, initial_token):
    InitialAccessToken.objects.update(expires_at="2000-01-01T00:00:00Z")
    assert register(http, HTTP_AUTHORIZATION=f"Bearer {initial_token}").status_code == 401


def test_refused_metadata_does_not_spend_the_initial_access_token(http, initial_token):
    response = register(http, {"redirect_uris": ["nope"]}, HTTP_AUTHORIZATION=f"Bearer {initial_token}")
    assert response.status_code == 400 and response.json()["error"] == "invalid_redirect_uri"
    assert InitialAccessToken.objects.get().uses_left == 2


def test_initial_access_token_is_stored_hashed(initial_token):
    row = InitialAccessToken.objects.get()
    assert initial_token not in row.token_hash and row.token_hash == InitialAccessToken.hash(initial_token)
