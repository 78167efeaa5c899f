"""Hybrid and implicit response types (OIDC Core §3.2, §3.3; OAuth 2.0 Multiple Response Type Encoding
Practices; docs/hybrid-and-implicit.md), in process. The end-to-end suite checks the same with authlib."""

import base64
import hashlib
import json
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from oidc_provider.checks import check_deploy_protocol, check_response_types
from oidc_provider.forms import ClientForm
from oidc_provider.idpy.front_channel import DPOP_BOUND, NONCE_REQUIRED, OPENID_REQUIRED, QUERY_WITH_TOKENS
from oidc_provider.models import Client, SessionNode
from oidc_provider.protocol import ALL_RESPONSE_TYPES
from oidc_provider.response_types import canonical, default_response_mode, response_types_problem
from tests import flows
from tests.e2e.browser import hidden_fields

ALL = list(ALL_RESPONSE_TYPES)
FRONT = [rt for rt in ALL if rt != "code"]
ISSUER = "http://testserver/oidc"
# what each response type returns from the authorization endpoint (OIDC Core §3.2.2.5, §3.3.2.5)
RETURNS = {
    "code id_token": {"code", "id_token"},
    "code token": {"code", "access_token", "token_type", "expires_in"},
    "code id_token token": {"code", "id_token", "access_token", "token_type", "expires_in"},
    "id_token": {"id_token"},
    "id_token token": {"id_token", "access_token", "token_type", "expires_in"},
}
PROFILE = {"name", "given_name", "family_name", "preferred_username", "email", "email_verified"}


@pytest.fixture
def enable(settings):
    def set_types(types=ALL):
        settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "RESPONSE_TYPES": list(types)}

    set_types()
    return set_types


def hybrid_client(client_id="hy", *types, extra=()):
    args = [a for rt in (types or ALL) for a in ("--response-type", rt)]
    flows.make_client(client_id, "s3cret", *args, *extra)
    return client_id


def fragment(response) -> dict:
    assert response.status_code == 302, response.content
    parts = urlsplit(response["Location"])
    assert parts.query == "" and parts.fragment, response["Location"]
    return dict(parse_qsl(parts.fragment))


def authorize(browser, response_type, client_id="hy", **overrides):
    verifier, challenge = flows.pkce_pair()
    response = flows.authorize(browser, challenge, client_id=client_id, response_type=response_type, **overrides)
    return response, verifier


def half_hash(value: str, hash_name: str) -> str:
    """OIDC Core §3.3.2.11: base64url of the left half of the hash of the ASCII value (computed here
    independently of the OP's id_token.half_hash)."""
    digest = hashlib.new(hash_name, value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


# --- the responses ------------------------------------------------------------------------------------


@pytest.mark.parametrize("response_type", FRONT)
def test_each_type_returns_its_tokens_in_the_fragment(enable, browser, http, response_type):
    hybrid_client()
    response, verifier = authorize(browser, response_type)
    params = fragment(response)
    assert RETURNS[response_type] <= set(params)
    assert set(params) - RETURNS[response_type] <= {"state", "iss", "scope", "client_id"}
    assert params["state"] == "st-1" and params["iss"] == ISSUER
    assert "refresh_token" not in params
    if "access_token" in params:
        assert params["token_type"] == "Bearer" and 3500 < int(params["expires_in"]) <= 3600
        assert flows.userinfo(http, params["access_token"]).json()["email"] == "alice@example.com"
    if "id_token" in params:
        claims, header = flows.verified_claims(http, params["id_token"])
        assert header["alg"] == "RS256" and claims["aud"] == ["hy"] and claims["iss"] == ISSUER
        assert claims["nonce"] == "n-1"
        assert claims.get("c_hash") == (half_hash(params["code"], "sha256") if "code" in params else None)
        assert claims.get("at_hash") == (
            half_hash(params["access_token"], "sha256") if "access_token" in params else None
        )
        # OIDC Core §5.4: the scopes' claims go in the ID token only when no access token is issued
        assert PROFILE <= set(claims) if response_type == "id_token" else not PROFILE & set(claims)
        if "code" in params:  # §3.3.3.6: the token endpoint's ID token has the same iss, sub and nonce
            tokens = flows.redeem(http, params["code"], verifier, client_id="hy").json()
            later, _ = flows.verified_claims(http, tokens["id_token"])
            assert (later["iss"], later["sub"], later["nonce"]) == (claims["iss"], claims["sub"], "n-1")
            assert "c_hash" not in later and later["at_hash"] == half_hash(tokens["access_token"], "sha256")


@pytest.mark.parametrize(("alg", "hash_name"), [("ES256", "sha256"), ("PS256", "sha256"), ("EdDSA", "sha512")])
def test_the_hashes_follow_the_clients_signing_alg(enable, browser, http, settings, alg, hash_name):
    hybrid_client(extra=("--id-token-signed-response-alg", alg))
    params = fragment(authorize(browser, "code id_token token")[0])
    claims, header = flows.verified_claims(http, params["id_token"])
    assert header["alg"] == alg
    assert claims["c_hash"] == half_hash(params["code"], hash_name)
    assert claims["at_hash"] == half_hash(params["access_token"], hash_name)


def test_a_pairwise_client_gets_its_pairwise_sub_in_the_front_channel(enable, browser, http, user):
    from tests.protocol.test_pairwise import expected_pairwise_sub

    hybrid_client(extra=("--subject-type", "pairwise"))
    params = fragment(authorize(browser, "id_token token")[0])
    sub = flows.verified_claims(http, params["id_token"])[0]["sub"]
    assert sub == expected_pairwise_sub("rp.example", user.pk)
    assert flows.userinfo(http, params["access_token"]).json()["sub"] == sub


@pytest.mark.parametrize("response_type", ["code id_token token", "id_token token"])
def test_form_post_carries_every_value(enable, browser, response_type):
    hybrid_client()
    response, _ = authorize(browser, response_type, response_mode="form_post")
    assert response.status_code == 200
    page = response.content.decode()
    fields = hidden_fields(page)
    assert RETURNS[response_type] | {"state", "iss"} <= set(fields)
    assert fields["iss"] == ISSUER and fields["state"] == "st-1"
    assert '<form method="post" action="https://rp.example/cb">' in page
    csp = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
    assert csp["form-action"] == "https://rp.example" and csp["default-src"] == "'none'"
    assert csp["script-src"].startswith("'sha256-") and response["Cache-Control"] == "no-store"


def test_code_may_ask_for_the_fragment(db, rp, browser):
    """Defect 164: stock refused response_mode=fragment for code ("wrong response_mode"), after minting it."""
    response = flows.authorize(browser, flows.pkce_pair()[1], response_mode="fragment")
    params = fragment(response)
    assert params["code"] and params["iss"] == ISSUER


def test_the_front_channel_access_token_dies_with_the_op_session(
    enable, browser, http, django_capture_on_commit_callbacks
):
    hybrid_client()
    params = fragment(authorize(browser, "id_token token")[0])
    assert flows.userinfo(http, params["access_token"]).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.get("/oidc/end_session", {"id_token_hint": params["id_token"]})
    assert response.status_code in (200, 302) and "_auth_user_id" not in browser.session
    assert flows.userinfo(http, params["access_token"]).status_code == 401


@pytest.mark.parametrize("response_type", ["code token", "code id_token token"])
def test_a_replayed_code_revokes_the_access_token_returned_beside_it(enable, browser, http, response_type):
    """Defect 201 (RFC 6749 §4.1.2, RFC 9700 §4.5): the replay of a code revokes the tokens it was
    exchanged for and the front-channel access token that came in the same fragment as the code."""
    hybrid_client()
    response, verifier = authorize(browser, response_type)
    params = fragment(response)
    assert flows.userinfo(http, params["access_token"]).status_code == 200
    tokens = flows.redeem(http, params["code"], verifier, client_id="hy")
    assert tokens.status_code == 200, tokens.content
    replay = flows.redeem(http, params["code"], verifier, client_id="hy")
    assert replay.status_code == 400
    assert replay.json() == {"error": "invalid_grant", "error_description": "Code inactive"}
    for access_token in (tokens.json()["access_token"], params["access_token"]):
        assert flows.userinfo(http, access_token).status_code == 401
        assert flows.introspect(http, access_token, "hy", "s3cret").json() == {"active": False}
    again = flows.redeem(http, params["code"], verifier, client_id="hy")  # the code stays used, not unknown
    assert again.json() == {"error": "invalid_grant", "error_description": "Code inactive"}


def test_an_unused_code_presented_late_revokes_nothing(enable, browser, http):
    """An expired code is refused as inactive, but it was never used: the tokens beside it stay."""
    hybrid_client()
    response, verifier = authorize(browser, "code token")
    params = fragment(response)
    flows.change_tokens(lambda t: t.update(expires_at=1) if t["token_class"] == "authorization_code" else None)
    late = flows.redeem(http, params["code"], verifier, client_id="hy")
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    assert flows.userinfo(http, params["access_token"]).status_code == 200


def test_an_audience_parameter_does_not_reach_the_tokens(enable, browser, http):
    """Defect 165: stock put an ``audience`` request parameter into the front-channel ID token's aud."""
    hybrid_client()
    flows.make_client("victim", "other")
    params = fragment(authorize(browser, "id_token token", audience="victim")[0])
    assert flows.verified_claims(http, params["id_token"])[0]["aud"] == ["hy"]
    introspected = flows.introspect(http, params["access_token"], "hy", "s3cret").json()
    assert introspected["active"] and "victim" not in json.dumps(introspected.get("aud", []))


def test_the_token_endpoint_serves_no_implicit_grant(enable, http):
    hybrid_client()
    response = http.post("/oidc/token", {"grant_type": "implicit"}, HTTP_AUTHORIZATION=flows.basic("hy", "s3cret"))
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "unsupported_grant_type"  # the implicit grant is the front channel's


# --- refusals ------------------------------------------------------------------------------------------


def error_in_fragment(response, error, description):
    params = fragment(response)
    assert (params["error"], params["error_description"], params["state"], params["iss"]) == (
        error,
        description,
        "st-1",
        ISSUER,
    )
    assert not {"code", "id_token", "access_token"} & set(params)


@pytest.mark.parametrize("response_type", FRONT)
def test_a_type_the_op_does_not_enable_is_unsupported(db, browser, response_type):
    """Off by default: even a client whose row names the type (an older setting) is refused."""
    hybrid_client("hy", "code")
    Client.objects.filter(client_id="hy").update(response_types=ALL)
    response, _ = authorize(browser, response_type)
    error_in_fragment(response, "unsupported_response_type", "response_type is not supported")


@pytest.mark.parametrize("response_type", FRONT)
def test_a_type_the_client_did_not_register_is_unauthorized(enable, browser, response_type):
    """Defect 160: stock answered invalid_request ("Trying to use unregistered response_type")."""
    hybrid_client("hy", *[rt for rt in ALL if rt != response_type])
    response, _ = authorize(browser, response_type)
    error_in_fragment(response, "unauthorized_client", "The client is not registered for this response_type")


def test_a_code_only_client_is_refused_every_other_type(enable, rp, browser):
    for response_type in FRONT:
        response, _ = authorize(browser, response_type, client_id="rp1")
        error_in_fragment(response, "unauthorized_client", "The client is not registered for this response_type")


def test_the_types_value_order_does_not_matter(enable, browser):
    hybrid_client()
    assert "id_token" in fragment(authorize(browser, "token id_token code")[0])
    response, _ = authorize(browser, "code code")  # no type: its error goes in the query
    assert flows.query(response)["error"] == "unsupported_response_type"


@pytest.mark.parametrize("response_type", FRONT)
def test_query_is_refused_for_tokens(enable, browser, response_type):
    """Defect 161 (OAuth 2.0 Multiple Response Type Encoding Practices §5)."""
    hybrid_client()
    response, _ = authorize(browser, response_type, response_mode="query")
    assert response.status_code == 302
    params = dict(parse_qsl(urlsplit(response["Location"]).query))
    assert (params["error"], params["error_description"]) == ("invalid_request", QUERY_WITH_TOKENS)
    assert not {"code", "id_token", "access_token"} & set(params)


def test_an_unknown_response_mode_is_refused_before_anything_is_minted(enable, browser):
    hybrid_client()
    response, _ = authorize(browser, "id_token", response_mode="web_message")
    error_in_fragment(response, "invalid_request", "Unknown response_mode")


@pytest.mark.parametrize("response_type", FRONT)
def test_a_nonce_is_required(enable, browser, response_type):
    """Defect 162: stock asked for no nonce with ``code token``."""
    hybrid_client()
    response, _ = authorize(browser, response_type, nonce=None)
    error_in_fragment(response, "invalid_request", NONCE_REQUIRED)


@pytest.mark.parametrize("response_type", FRONT)
def test_a_plain_oauth_request_gets_no_front_channel_tokens(enable, browser, response_type):
    hybrid_client()
    response, _ = authorize(browser, response_type, scope="profile email")
    error_in_fragment(response, "invalid_request", OPENID_REQUIRED)


def test_a_type_removed_while_the_user_consents_is_not_issued(enable, browser, http):
    """Defect 163: the request waiting on the consent page is checked again when it is answered."""
    hybrid_client()
    verifier, challenge = flows.pkce_pair()
    response = browser.get(
        "/oidc/authorize", flows.auth_params(challenge, client_id="hy", response_type="id_token token")
    )
    assert response["Location"].startswith("/oidc/consent")
    Client.objects.filter(client_id="hy").update(response_types=["code"])
    response = browser.post("/oidc/consent", {"k": flows.query(response)["k"], "decision": "allow"})
    error_in_fragment(response, "unauthorized_client", "The client is not registered for this response_type")


# --- configuration, metadata, discovery ----------------------------------------------------------------


def test_discovery_lists_exactly_the_enabled_types(db, http, enable):
    enable(["code"])
    info = http.get("/oidc/.well-known/openid-configuration").json()
    assert info["response_types_supported"] == ["code"]
    assert "implicit" not in info["grant_types_supported"]
    enable(["id_token", "code", "token code"])
    info = http.get("/oidc/.well-known/openid-configuration").json()
    assert info["response_types_supported"] == ["code", "code token", "id_token"]
    assert "implicit" in info["grant_types_supported"]
    assert info["response_modes_supported"] == ["query", "fragment", "form_post"]


def register(http, **metadata):
    body = {"redirect_uris": ["https://rp.example/cb"], **metadata}
    return http.post("/oidc/register", json.dumps(body), content_type="application/json")


def test_registration_takes_the_enabled_types(db, http, enable):
    enable(["code", "code id_token", "id_token"])
    response = register(http, response_types=["id_token code", "code"], grant_types=["authorization_code", "implicit"])
    assert response.status_code == 201, response.content
    assert sorted(response.json()["response_types"]) == ["code", "code id_token"]  # canonical spelling
    response = register(http, response_types=["id_token"], grant_types=["implicit"])
    assert response.status_code == 201, response.content
    assert Client.objects.get(client_id=response.json()["client_id"]).grant_types == ["implicit"]


@pytest.mark.parametrize(
    ("enabled", "metadata", "mentions"),
    [
        (
            ["code"],
            {"response_types": ["code id_token"], "grant_types": ["authorization_code", "implicit"]},
            "Not enabled",
        ),
        (ALL, {"response_types": ["token"], "grant_types": ["implicit"]}, "Not enabled"),
        (ALL, {"response_types": ["code id_token", "id_token code"]}, "listed twice"),
        (ALL, {"response_types": ["code id_token"]}, "need the grant type(s) implicit"),
        (ALL, {"response_types": ["code id_token"], "grant_types": ["implicit"]}, "authorization_code"),
        (ALL, {"response_types": ["id_token"]}, "implicit"),
        (ALL, {"grant_types": ["authorization_code", "implicit"]}, "implicit grant type needs"),
        (["code"], {"grant_types": ["authorization_code", "implicit"]}, "implicit grant type needs"),
    ],
)
def test_registration_refuses_types_not_enabled_or_not_matching_the_grants(
    db, http, enable, enabled, metadata, mentions
):
    enable(enabled)
    response = register(http, **metadata)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_client_metadata"
    assert mentions is None or mentions in response.json()["error_description"]


def test_response_types_problem_rules(enable):
    assert response_types_problem(["code"], ["client_credentials"]) is None  # code unused stays allowed
    assert response_types_problem(["id_token token"], ["implicit"]) is None
    assert response_types_problem(["code token"], ["authorization_code", "implicit", "refresh_token"]) is None
    assert "required" in response_types_problem([], ["implicit"])
    assert canonical("token id_token") == "id_token token" and canonical("token") is None
    assert default_response_mode("code") == "query" and default_response_mode(["id_token"]) == "fragment"


def test_createclient_takes_enabled_types_and_refuses_others(db, enable):
    enable(["code", "id_token token"])
    hybrid_client("imp", "id_token token")
    client = Client.objects.get(client_id="imp")
    assert client.response_types == ["id_token token"] and client.grant_types == ["implicit"]
    with pytest.raises(CommandError, match="Not enabled at this provider: code id_token"):
        call_command(
            "createclient", "--client-id", "x", "--redirect-uri", flows.REDIRECT_URI, "--response-type", "code id_token"
        )
    with pytest.raises(CommandError, match="implicit grant type needs"):
        call_command(
            "createclient", "--client-id", "y", "--redirect-uri", flows.REDIRECT_URI, "--grant-type", "implicit"
        )


def test_the_admin_form_offers_the_enabled_types_and_checks_them(db, enable):
    enable(["code", "code id_token"])
    form = ClientForm()
    assert [c[0] for c in form.fields["response_types"].choices] == ["code", "code id_token"]
    assert "implicit" in [c[0] for c in form.fields["grant_types"].choices]
    enable(["code"])
    form = ClientForm()
    assert [c[0] for c in form.fields["response_types"].choices] == ["code"]
    assert "implicit" not in [c[0] for c in form.fields["grant_types"].choices]


@pytest.mark.parametrize("value", [["code id_token"], "code", ["code", "token"], ["code", 5]])
def test_a_bad_response_types_setting_fails_the_check(settings, value):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "RESPONSE_TYPES": value}
    assert [e.id for e in check_response_types()] == ["oidc_provider.E160"]


def test_the_default_setting_passes_the_check():
    assert check_response_types() == []
    assert "oidc_provider.W160" not in [w.id for w in check_deploy_protocol()]


def test_a_deployment_enabling_access_tokens_in_the_front_channel_is_warned(enable):
    enable(["code", "code id_token"])
    assert "oidc_provider.W160" not in [w.id for w in check_deploy_protocol()]
    enable(["code", "id_token token", "code token"])
    [warning] = [w for w in check_deploy_protocol() if w.id == "oidc_provider.W160"]
    assert warning.msg.endswith("id_token token, code token.")


def test_login_required_and_access_denied_go_in_the_fragment(enable, browser, http, db):
    """OIDC Core §3.2.2.6, §3.3.2.6: a type returning tokens gets its errors in the fragment too."""
    from django.test import Client as HttpClient

    hybrid_client()
    _, challenge = flows.pkce_pair()
    params = flows.auth_params(challenge, client_id="hy", response_type="code id_token", prompt="none")
    error_in_fragment(HttpClient().get("/oidc/authorize", params), "login_required", "The user is not logged in")
    response, _ = authorize(browser, "id_token token", consent="deny")
    error_in_fragment(response, "access_denied", "The user denied the request")


# --- encrypted front-channel ID tokens (docs/encryption.md) ---------------------------------------------


def encrypting_hybrid_client(keys):
    from tests.protocol.test_encryption import public_jwks

    extra = ("--jwks", json.dumps(public_jwks(*keys)), "--id-token-encrypted-response-alg", "RSA-OAEP-256")
    return hybrid_client(extra=extra)


@pytest.mark.parametrize("response_type", ["code id_token", "id_token token"])
def test_a_front_channel_id_token_is_encrypted_as_the_client_registered(enable, browser, http, response_type):
    from tests.protocol.test_encryption import decrypt, new_rsa_key

    key = new_rsa_key(kid="rsa-enc", use="enc")
    encrypting_hybrid_client([key])
    params = fragment(authorize(browser, response_type)[0])
    header, inner = decrypt(params["id_token"], [key])
    assert (header["alg"], header["enc"], header["cty"], header["kid"]) == (
        "RSA-OAEP-256",
        "A128CBC-HS256",
        "JWT",
        "rsa-enc",
    )
    claims, _ = flows.verified_claims(http, inner.decode())
    assert claims["nonce"] == "n-1" and claims["aud"] == ["hy"]


def test_a_front_channel_id_token_without_a_key_to_encrypt_to_is_refused_before_anything_is_minted(enable, browser):
    """No key to encrypt to: the error goes to the client before the user is asked anything (not a 500
    after consent), and no code or token is minted."""
    from tests.protocol.test_encryption import new_rsa_key, public_jwks

    encrypting_hybrid_client([new_rsa_key(kid="gone", use="enc")])
    Client.objects.filter(client_id="hy").update(jwks=public_jwks(new_rsa_key(kid="sig-only", use="sig")))
    params = fragment(authorize(browser, "code id_token")[0])
    assert params == {
        "error": "invalid_request",
        "error_description": "The client's JWK Set has no key to encrypt the id_token response with RSA-OAEP-256 "
        "(an RSA key with use enc or no use).",
        "state": "st-1",
        "iss": ISSUER,
    }
    assert not SessionNode.objects.filter(kind=SessionNode.GRANT).exists()


@pytest.mark.parametrize("response_type", ["code token", "id_token token"])
def test_a_client_whose_tokens_must_be_dpop_bound_gets_no_access_token_from_the_front_channel(
    enable, browser, response_type
):
    """RFC 9449 §5.2: dpop_bound_access_tokens means every access token is bound, and no proof can reach
    the authorization endpoint; its ID-token-only and code types still work."""
    hybrid_client(extra=("--dpop",))
    assert fragment(authorize(browser, response_type)[0]) == {
        "error": "invalid_request",
        "error_description": DPOP_BOUND,
        "state": "st-1",
        "iss": ISSUER,
    }
    assert not SessionNode.objects.filter(kind=SessionNode.GRANT).exists()
    assert "id_token" in fragment(authorize(browser, "code id_token")[0])


def test_no_id_token_names_the_op_host(enable, browser, http, offline_rp):
    """Defect 204: idpyoidc gives an ID token a ``uuid1`` as its ``jti``, whose last twelve hex digits
    are the OP host's MAC address (``uuid.getnode()``, as ``uuid1`` takes it) and the rest the minting
    time. Checked on each way an ID token is made: a new grant's (the front channel), a redemption's,
    a refresh's."""
    node = f"{uuid.getnode():012x}"
    hybrid_client()
    response, verifier = authorize(browser, "code id_token")
    params = fragment(response)
    redeemed = flows.redeem(http, params["code"], verifier, client_id="hy").json()
    refreshed = flows.refresh(http, flows.offline_tokens(browser, http)["refresh_token"]).json()
    jtis = [flows.jwt_claims(t)["jti"] for t in (params["id_token"], redeemed["id_token"], refreshed["id_token"])]
    assert len(set(jtis)) == 3 and all(len(jti) == 32 for jti in jtis)
    assert not [jti for jti in jtis if jti.endswith(node)]
