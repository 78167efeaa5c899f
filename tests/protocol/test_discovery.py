"""Discovery (OpenID Connect Discovery 1.0 §3) and the JWKS."""

from oidc_provider.crypto import PRIVATE_MEMBERS

ISSUER = "http://testserver/oidc"


def test_discovery_lists_what_works(db, http):
    response = http.get("/oidc/.well-known/openid-configuration")
    assert response.status_code == 200
    info = response.json()
    assert info["issuer"] == ISSUER
    assert info["authorization_endpoint"] == ISSUER + "/authorize"
    assert info["token_endpoint"] == ISSUER + "/token"
    assert info["userinfo_endpoint"] == ISSUER + "/userinfo"
    assert info["jwks_uri"] == ISSUER + "/jwks"
    assert info["response_types_supported"] == ["code"]
    assert info["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ]
    assert info["introspection_endpoint"] == ISSUER + "/introspect"
    assert info["revocation_endpoint"] == ISSUER + "/revoke"
    assert info["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
    ]
    assert info["revocation_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none",
    ]
    assert info["code_challenge_methods_supported"] == ["S256"]
    assert info["subject_types_supported"] == ["public", "pairwise"]
    assert info["id_token_signing_alg_values_supported"] == ["RS256", "PS256", "ES256", "EdDSA"]
    assert info["userinfo_signing_alg_values_supported"] == ["RS256", "PS256", "ES256", "EdDSA"]
    assert set(info["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none",
    }
    assert "none" not in info["token_endpoint_auth_signing_alg_values_supported"]
    assert {"openid", "profile", "email", "address", "phone"} <= set(info["scopes_supported"])
    assert {"sub", "email", "name", "auth_time"} <= set(info["claims_supported"])
    assert info["authorization_response_iss_parameter_supported"] is True
    for absent in (
        "jwks",
        "version",
        "encrypt_userinfo_supported",
        "encrypt_id_token_supported",
        "request_object_encryption_alg_values_supported",
        "check_session_iframe",
        "client_authn_method",
        "introspection_endpoint_auth_methods",
        "revocation_endpoint_auth_methods",
    ):
        assert absent not in info


def test_discovery_refuses_post(db, http):
    assert http.post("/oidc/.well-known/openid-configuration").status_code == 405


def test_jwks_serves_public_keys_only(db, http):
    response = http.get("/oidc/jwks")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    keys = response.json()["keys"]
    assert {k["kty"] for k in keys} == {"RSA", "EC", "OKP"} and all(k["kid"] and k["use"] == "sig" for k in keys)
    assert not any(PRIVATE_MEMBERS & set(k) for k in keys)
    assert "max-age" in response["Cache-Control"]


def test_id_token_kid_is_published(rp, browser, http):
    import base64
    import json

    from tests import flows

    code, verifier = flows.get_code(browser)
    id_token = flows.redeem(http, code, verifier).json()["id_token"]
    header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
    assert header["alg"] == "RS256"
    assert header["kid"] in {k["kid"] for k in http.get("/oidc/jwks").json()["keys"]}


def test_discovery_is_built_once_per_server(db, http, settings, django_assert_num_queries):
    first = http.get("/oidc/.well-known/openid-configuration").json()
    with django_assert_num_queries(0):  # no transaction, no rebuild
        assert http.get("/oidc/.well-known/openid-configuration").json() == first
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SCOPES_TO_CLAIMS": {"openid": ["sub"], "email": ["email"]}}
    assert http.get("/oidc/.well-known/openid-configuration").json()["scopes_supported"] == ["openid", "email"]
