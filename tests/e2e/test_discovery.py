"""OIDC Discovery 1.0 §3/§4 and the JWKS, fetched over HTTP from the running OP."""

import pytest

from tests.e2e.browser import new_session

pytestmark = pytest.mark.live


def test_discovery_document(op_server, op_discovery):
    issuer = op_server.issuer
    assert op_discovery["issuer"] == issuer
    assert op_discovery["authorization_endpoint"] == f"{issuer}/authorize"
    assert op_discovery["token_endpoint"] == f"{issuer}/token"
    assert op_discovery["userinfo_endpoint"] == f"{issuer}/userinfo"
    assert op_discovery["jwks_uri"] == f"{issuer}/jwks"
    assert op_discovery["response_types_supported"] == ["code"]
    assert op_discovery["code_challenge_methods_supported"] == ["S256"]
    assert op_discovery["subject_types_supported"] == ["public", "pairwise"]
    assert "RS256" in op_discovery["id_token_signing_alg_values_supported"]
    assert "none" not in op_discovery["id_token_signing_alg_values_supported"]
    assert {"client_secret_basic", "client_secret_post"} <= set(op_discovery["token_endpoint_auth_methods_supported"])
    assert {"openid", "profile", "email"} <= set(op_discovery["scopes_supported"])
    assert {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "email"} <= set(
        op_discovery["claims_supported"]
    )
    assert op_discovery["authorization_response_iss_parameter_supported"] is True
    assert op_discovery["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ]
    assert op_discovery["introspection_endpoint"] == f"{issuer}/introspect"
    assert op_discovery["revocation_endpoint"] == f"{issuer}/revoke"
    assert op_discovery["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
    ]
    assert op_discovery["revocation_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none",
    ]


def test_discovery_is_json(op_server):
    response = new_session().get(f"{op_server.issuer}/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")


def test_jwks_has_public_signing_keys_only(op_discovery):
    response = new_session().get(op_discovery["jwks_uri"])
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    keys = response.json()["keys"]
    assert any(k["kty"] == "RSA" and k.get("use", "sig") == "sig" for k in keys)
    for key in keys:
        assert key.get("kid")
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(key), f"private material published: {key}"


def test_discovery_omits_idpyoidc_extras(op_discovery):
    """Core bug: server.advertise() drops ``version`` from provider_info, but idpyoidc's
    ProviderConfigurationResponse.c_default ({"version": "3.0"}) puts it back in the response."""
    assert "version" not in op_discovery
