"""Encrypted ID tokens and userinfo, and signed userinfo (OIDC Core §10.2, §5.3.2), against the running
OP: clients registered with their keys inline (RFC 7591) or at a jwks_uri, the flow run by authlib,
every response decrypted with the client's private key by joserfc and again by cryptojwt, the
signatures verified against the OP's published JWKS."""

import json

import pytest
from cryptojwt.jwe.jwe import JWE
from cryptojwt.jwk.jwk import key_from_jwk_dict
from joserfc import jwe, jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from tests.e2e.browser import new_session
from tests.e2e.conftest import register_clients
from tests.e2e.rp import code_flow, fetch_jwks, get_code, redeem, validate_id_token
from tests.jwks_server import JWKSServer

pytestmark = pytest.mark.live

JWE_ALGORITHMS = ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "A128CBC-HS256", "A256CBC-HS512", "A128GCM", "A256GCM"]
CASES = [
    ("RSA-OAEP-256", "A256GCM", lambda kid: RSAKey.generate_key(2048, {"kid": kid, "use": "enc"}, private=True)),
    ("RSA-OAEP", "A128CBC-HS256", lambda kid: RSAKey.generate_key(2048, {"kid": kid, "use": "enc"}, private=True)),
    ("ECDH-ES", "A128GCM", lambda kid: ECKey.generate_key("P-256", {"kid": kid, "use": "enc"}, private=True)),
]


def public_jwks(*keys):
    return {"keys": [key.as_dict(private=False) for key in keys]}


def decrypt_twice(token, key):
    """The JWE's header and plaintext as joserfc decrypts it with the client's private key; cryptojwt,
    with the same key, must read the same plaintext."""
    message = jwe.decrypt_compact(token, KeySet([key]), algorithms=JWE_ALGORITHMS)
    again = JWE().decrypt(token, keys=[key_from_jwk_dict(key.as_dict(private=True))])
    assert again == message.plaintext
    return message.protected, message.plaintext.decode()


def userinfo(discovery, access_token):
    return new_session().get(discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"})


@pytest.mark.parametrize("alg,enc,new_key", CASES, ids=[f"{a}+{e}" for a, e, _ in CASES])
def test_encrypted_id_tokens_decrypt_and_verify_with_joserfc_and_cryptojwt(
    register, op_user, op_discovery, alg, enc, new_key
):
    assert alg in op_discovery["id_token_encryption_alg_values_supported"]
    assert enc in op_discovery["id_token_encryption_enc_values_supported"]
    key = new_key("rp-enc")
    client = register(
        jwks=public_jwks(key),
        id_token_encrypted_response_alg=alg,
        id_token_encrypted_response_enc=enc,
        userinfo_encrypted_response_alg=alg,
        userinfo_encrypted_response_enc=enc,
    )
    token, sent = code_flow(client, op_user, op_discovery["authorization_endpoint"], op_discovery["token_endpoint"])
    header, inner = decrypt_twice(token["id_token"], key)
    assert (header["alg"], header["enc"], header["cty"], header["kid"]) == (alg, enc, "JWT", "rp-enc")
    validate_id_token(
        inner,
        fetch_jwks(op_discovery),
        issuer=op_discovery["issuer"],
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
    )
    response = userinfo(op_discovery, token["access_token"])
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/jwt"
    header, plaintext = decrypt_twice(response.text, key)
    assert header["alg"] == alg and "cty" not in header  # encrypted JSON: no signature was asked for
    assert json.loads(plaintext)["email"] == op_user.email


@pytest.fixture
def jwks_uri():
    server = JWKSServer()  # http on 127.0.0.1: the live OP runs with DEBUG and OUTBOUND_ALLOWED_HOSTS
    yield server
    server.close()


def test_keys_from_a_jwks_uri_and_a_key_the_client_publishes_later(op_server, op_user, op_discovery, jwks_uri):
    """The client's jwks_uri holds only a signing key: the token endpoint says so and spends nothing;
    once the client publishes an encryption key (a new kid), the same code gets an ID token to it."""
    signing = RSAKey.generate_key(2048, {"kid": "rp-sig", "use": "sig"}, private=True)
    jwks_uri.jwks = public_jwks(signing)
    [client] = register_clients(
        op_server,
        extra=["--jwks-uri", jwks_uri.url, "--id-token-encrypted-response-alg", "RSA-OAEP-256"],
    )
    code, verifier = get_code(client, op_user, op_discovery["authorization_endpoint"])
    refused = redeem(op_discovery["token_endpoint"], client, code, verifier)
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_client",
        "error_description": "The client's JWK Set has no key to encrypt the id_token response with RSA-OAEP-256 "
        "(an RSA key with use enc or no use).",
    }
    key = RSAKey.generate_key(2048, {"kid": "rp-enc-2"}, private=True)  # no "use": fit for encryption
    jwks_uri.jwks = public_jwks(signing, key)
    response = redeem(op_discovery["token_endpoint"], client, code, verifier)
    assert response.status_code == 200, response.text
    header, _ = decrypt_twice(response.json()["id_token"], key)
    assert (header["kid"], header["enc"]) == ("rp-enc-2", "A128CBC-HS256")  # the enc defaults
    assert jwks_uri.fetches == 2  # fetched once, then again for the missing key


@pytest.mark.parametrize(
    "metadata,description",
    [
        (
            {"id_token_encrypted_response_alg": "RSA1_5"},
            "id_token_encrypted_response_alg: RSA1_5 is not offered. Offered: RSA-OAEP, RSA-OAEP-256, ECDH-ES.",
        ),
        (
            {"id_token_encrypted_response_enc": "A256GCM"},
            "id_token_encrypted_response_enc needs id_token_encrypted_response_alg "
            "(OpenID Connect Registration 1.0 §2).",
        ),
        (
            {"userinfo_encrypted_response_alg": "RSA-OAEP", "userinfo_encrypted_response_enc": "A999GCM"},
            "userinfo_encrypted_response_enc: A999GCM is not offered. "
            "Offered: A128CBC-HS256, A256CBC-HS512, A128GCM, A256GCM.",
        ),
        (
            {"id_token_encrypted_response_alg": "RSA-OAEP-256", "jwks": "sig"},
            "id_token_encrypted_response_alg RSA-OAEP-256: jwks has no key to encrypt to "
            "(an RSA key with use enc or no use).",
        ),
        (
            {"id_token_encrypted_response_alg": "RSA-OAEP", "jwks": "ec"},
            "id_token_encrypted_response_alg RSA-OAEP: jwks has no key to encrypt to "
            "(an RSA key with use enc or no use).",
        ),
        (
            {"userinfo_encrypted_response_alg": "ECDH-ES", "jwks": None},
            "userinfo_encrypted_response_alg needs the client's public keys: jwks or jwks_uri.",
        ),
    ],
    ids=["RSA1_5", "enc-without-alg", "unknown-enc", "only-a-sig-key", "ec-key-for-rsa", "no-keys"],
)
def test_registration_refuses_encryption_the_op_cannot_do(op_discovery, metadata, description):
    keys = {
        "sig": public_jwks(RSAKey.generate_key(2048, {"kid": "s", "use": "sig"}, private=True)),
        "ec": public_jwks(ECKey.generate_key("P-256", {"kid": "e", "use": "enc"}, private=True)),
    }
    body = {"redirect_uris": ["https://rp.example/cb"], **metadata}
    if body.get("jwks") in keys:
        body["jwks"] = keys[body["jwks"]]
    body = {k: v for k, v in body.items() if v is not None}
    response = new_session().post(op_discovery["registration_endpoint"], json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client_metadata", "error_description": description}


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_signed_userinfo_verifies_with_joserfc(register, op_user, op_discovery, alg):
    assert alg in op_discovery["userinfo_signing_alg_values_supported"]
    client = register(userinfo_signed_response_alg=alg)
    token, _ = code_flow(client, op_user, op_discovery["authorization_endpoint"], op_discovery["token_endpoint"])
    response = userinfo(op_discovery, token["access_token"])
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/jwt"
    signed = jwt.decode(response.text, KeySet.import_key_set(fetch_jwks(op_discovery)), algorithms=[alg])
    assert signed.header["alg"] == alg
    # OIDC Core §5.3.2: a signed response carries iss and aud
    assert signed.claims["iss"] == op_discovery["issuer"]
    assert signed.claims["aud"] in (client.client_id, [client.client_id])
    assert signed.claims["email"] == op_user.email and signed.claims["sub"]
