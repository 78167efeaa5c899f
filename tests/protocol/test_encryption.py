"""Encrypted ID tokens and userinfo (OIDC Core §10.2, §5.3.2; OIDC Registration §2), in process: the
client metadata rules, the key chosen, and every failure with its exact error. Decryption is
joserfc's, with the client's private key (the end-to-end suite: tests/e2e/test_encryption.py)."""

import json

import pytest
from django.core.management import CommandError
from joserfc import jwe, jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from oidc_provider.models import Client
from tests import flows

RSA_ENC = "RSA-OAEP-256"
ALGORITHMS = ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "A128CBC-HS256", "A256CBC-HS512", "A128GCM", "A256GCM"]


def new_rsa_key(kid, key_size=2048, **parameters):
    return RSAKey.generate_key(key_size, parameters={"kid": kid, **parameters}, private=True)


def new_ec_key(crv, kid, **parameters):
    return ECKey.generate_key(crv, parameters={"kid": kid, **parameters}, private=True)


def public_jwks(*keys):
    return {"keys": [key.as_dict(private=False) for key in keys]}


def op_keys(http):
    return KeySet.import_key_set(http.get("/oidc/jwks").json())


def encrypted_client(keys, *extra, client_id="rp1"):
    flows.make_client(client_id, "s3cret", "--jwks", json.dumps(public_jwks(*keys)), *extra)


def decrypt(token, keys):
    """The JWE's header and plaintext, decrypted by joserfc with the client's private keys."""
    message = jwe.decrypt_compact(token, KeySet(list(keys)), algorithms=ALGORITHMS)
    return message.protected, message.plaintext


@pytest.mark.parametrize(
    "alg,enc,key",
    [
        ("RSA-OAEP-256", "A256GCM", lambda: new_rsa_key(kid="rsa-enc", use="enc")),
        ("RSA-OAEP", "A128CBC-HS256", lambda: new_rsa_key(kid="rsa-enc", use="enc")),
        ("ECDH-ES", "A128GCM", lambda: new_ec_key("P-256", kid="ec-enc", use="enc")),
    ],
)
def test_the_id_token_is_signed_then_encrypted_to_the_clients_key(browser, http, alg, enc, key):
    key = key()
    signing = new_rsa_key(kid="rp-sig", use="sig")  # a signing key of the client's is never picked
    encrypted_client([signing, key], "--id-token-encrypted-response-alg", alg, "--id-token-encrypted-response-enc", enc)
    tokens = flows.get_tokens(browser, http)
    header, inner = decrypt(tokens["id_token"], [key])
    assert header["alg"] == alg and header["enc"] == enc and header["cty"] == "JWT" and header["kid"] == key.kid
    if alg == "ECDH-ES":
        assert header["epk"]["crv"] == "P-256" and "d" not in header["epk"]
    claims = jwt.decode(inner.decode(), op_keys(http)).claims
    assert claims["aud"] == ["rp1"] and claims["nonce"] == "n-1" and claims["iss"] == "http://testserver/oidc"


def test_ecdh_es_takes_a_fresh_ephemeral_key_each_time(browser, http):
    key = new_ec_key("P-256", kid="ec-enc")
    encrypted_client([key], "--id-token-encrypted-response-alg", "ECDH-ES")
    epks = {decrypt(flows.get_tokens(browser, http)["id_token"], [key])[0]["epk"]["x"] for _ in range(2)}
    assert len(epks) == 2


def test_the_enc_defaults_to_a128cbc_hs256(browser, http):
    key = new_rsa_key(kid="k1")  # no "use": fit for encryption too
    encrypted_client([key], "--id-token-encrypted-response-alg", RSA_ENC)
    assert Client.objects.get().id_token_encrypted_response_enc == "A128CBC-HS256"
    header, _ = decrypt(flows.get_tokens(browser, http)["id_token"], [key])
    assert header["enc"] == "A128CBC-HS256"


def test_a_refreshed_id_token_is_encrypted_too(browser, http):
    key = new_rsa_key(kid="k1", use="enc")
    flows.make_offline_client(
        "rp1", "s3cret", "--jwks", json.dumps(public_jwks(key)), "--id-token-encrypted-response-alg", RSA_ENC
    )
    tokens = flows.offline_tokens(browser, http)
    refreshed = flows.refresh(http, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.content
    header, _ = decrypt(refreshed.json()["id_token"], [key])
    assert header["alg"] == RSA_ENC


def test_no_encryption_key_in_the_jwks_is_invalid_client_and_spends_nothing(browser, http, settings):
    signing = new_rsa_key(kid="rp-sig", use="sig")
    ec = new_ec_key("P-256", kid="ec-enc", use="enc")
    # registration refuses it (test_registration_rules); a JWK Set changed afterwards in the admin can
    # still lack the key
    encrypted_client([new_rsa_key(kid="gone", use="enc")], "--id-token-encrypted-response-alg", RSA_ENC)
    Client.objects.filter(client_id="rp1").update(jwks=public_jwks(signing, ec))
    code, verifier = flows.get_code(browser)
    response = flows.redeem(http, code, verifier)
    assert flows.error_of(response) == "invalid_client"
    assert response.json()["error_description"] == (
        "The client's JWK Set has no key to encrypt the id_token response with RSA-OAEP-256 "
        "(an RSA key with use enc or no use)."
    )
    assert not flows.stored_tokens(token_class="access_token")
    assert [t.get("used", 0) for t in flows.stored_tokens(token_class="authorization_code")] == [0]
    # with the key back, the same code works: it was never spent
    Client.objects.filter(client_id="rp1").update(jwks=public_jwks(signing, ec, key := new_rsa_key(kid="k2")))
    response = flows.redeem(http, code, verifier)
    assert response.status_code == 200, response.content
    assert decrypt(response.json()["id_token"], [key])[0]["kid"] == "k2"


@pytest.mark.parametrize(
    "key,alg",
    [
        (lambda: new_rsa_key(kid="sig-only", use="sig"), RSA_ENC),  # only a signing key
        (lambda: new_ec_key("P-256", kid="ec", use="enc"), RSA_ENC),  # an EC key for an RSA alg
        (lambda: new_rsa_key(kid="rsa", use="enc"), "ECDH-ES"),  # an RSA key for ECDH-ES
        (lambda: new_rsa_key(kid="other-alg", use="enc", alg="RSA-OAEP"), RSA_ENC),  # marked for another alg
        (lambda: new_rsa_key(kid="small", use="enc", key_size=1024), RSA_ENC),  # too short
    ],
)
def test_keys_that_cannot_encrypt_are_never_picked(db, key, alg):
    with pytest.raises(CommandError) as err:
        encrypted_client([key()], "--id-token-encrypted-response-alg", alg)
    kty = "EC" if alg == "ECDH-ES" else "RSA"
    assert str(err.value) == (
        f"id_token_encrypted_response_alg {alg}: jwks has no key to encrypt to (an {kty} key with use enc or no use)."
    )


def test_userinfo_encrypted_only_is_json_in_a_jwe(browser, http):
    key = new_ec_key("P-384", kid="ec-enc")
    encrypted_client([key], "--userinfo-encrypted-response-alg", "ECDH-ES")
    tokens = flows.get_tokens(browser, http)
    assert tokens["id_token"].count(".") == 2  # the ID token is not encrypted: only userinfo was asked for
    response = flows.userinfo(http, tokens["access_token"])
    assert response.status_code == 200 and response["Content-Type"] == "application/jwt"
    header, plaintext = decrypt(response.content.decode(), [key])
    assert "cty" not in header and header["kid"] == "ec-enc"
    assert json.loads(plaintext)["email"] == "alice@example.com"


def test_userinfo_signed_then_encrypted(browser, http):
    key = new_rsa_key(kid="rsa-enc", use="enc")
    encrypted_client(
        [key],
        "--userinfo-signed-response-alg",
        "ES256",
        "--userinfo-encrypted-response-alg",
        "RSA-OAEP",
        "--userinfo-encrypted-response-enc",
        "A256CBC-HS512",
    )
    response = flows.userinfo(http, flows.get_tokens(browser, http)["access_token"])
    assert response["Content-Type"] == "application/jwt"
    header, inner = decrypt(response.content.decode(), [key])
    assert header["cty"] == "JWT" and header["enc"] == "A256CBC-HS512"
    token = jwt.decode(inner.decode(), op_keys(http), algorithms=["ES256"])
    assert token.header["alg"] == "ES256"
    assert token.claims["iss"] == "http://testserver/oidc" and token.claims["aud"] == ["rp1"]


def test_userinfo_without_an_encryption_key_is_invalid_client(browser, http):
    key = new_rsa_key(kid="rsa-enc", use="enc")
    encrypted_client([key], "--userinfo-encrypted-response-alg", RSA_ENC)
    tokens = flows.get_tokens(browser, http)
    Client.objects.filter(client_id="rp1").update(jwks=public_jwks(new_rsa_key(kid="sig", use="sig")))
    response = flows.userinfo(http, tokens["access_token"])
    assert flows.error_of(response) == "invalid_client"
    assert response.json()["error_description"] == (
        "The client's JWK Set has no key to encrypt the userinfo response with RSA-OAEP-256 "
        "(an RSA key with use enc or no use)."
    )


def test_a_jwks_uri_without_an_encryption_key_is_fetched_again_once_it_has_one(browser, http, jwks_server, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "CLIENT_JWKS_REFETCH_INTERVAL": 0}
    jwks_server.jwks = public_jwks(new_rsa_key(kid="sig", use="sig"))
    flows.make_client("rp1", "s3cret", "--jwks-uri", jwks_server.url, "--id-token-encrypted-response-alg", RSA_ENC)
    code, verifier = flows.get_code(browser)
    assert flows.error_of(flows.redeem(http, code, verifier)) == "invalid_client"
    key = new_rsa_key(kid="new-enc", use="enc")
    jwks_server.jwks = public_jwks(key)  # the client publishes its encryption key
    response = flows.redeem(http, code, verifier)
    assert response.status_code == 200, response.content
    assert decrypt(response.json()["id_token"], [key])[0]["kid"] == "new-enc"
    assert jwks_server.fetches == 2


def test_an_unreachable_jwks_uri_is_invalid_client(browser, http, jwks_server):
    flows.make_client("rp1", "s3cret", "--jwks-uri", jwks_server.url, "--id-token-encrypted-response-alg", RSA_ENC)
    jwks_server.close()
    code, verifier = flows.get_code(browser)
    response = flows.redeem(http, code, verifier)
    assert flows.error_of(response) == "invalid_client"
    assert response.json()["error_description"] == (
        "The client's JWK Set could not be read to encrypt the id_token response."
    )


@pytest.mark.parametrize(
    "metadata,description",
    [
        (
            {"id_token_encrypted_response_enc": "A128GCM"},
            "id_token_encrypted_response_enc needs id_token_encrypted_response_alg "
            "(OpenID Connect Registration 1.0 §2).",
        ),
        (
            {"id_token_encrypted_response_alg": "RSA1_5"},
            "id_token_encrypted_response_alg: RSA1_5 is not offered. Offered: RSA-OAEP, RSA-OAEP-256, ECDH-ES.",
        ),
        (
            {"userinfo_encrypted_response_alg": "RSA-OAEP", "userinfo_encrypted_response_enc": "A192GCM"},
            "userinfo_encrypted_response_enc: A192GCM is not offered. "
            "Offered: A128CBC-HS256, A256CBC-HS512, A128GCM, A256GCM.",
        ),
        (
            {"userinfo_encrypted_response_alg": "ECDH-ES+A128KW"},
            "userinfo_encrypted_response_alg: ECDH-ES+A128KW is not offered. Offered: RSA-OAEP, RSA-OAEP-256, ECDH-ES.",
        ),
        (
            {"id_token_encrypted_response_alg": "RSA-OAEP", "jwks": None},
            "id_token_encrypted_response_alg needs the client's public keys: jwks or jwks_uri.",
        ),
        (
            {"id_token_encrypted_response_alg": "ECDH-ES"},
            "id_token_encrypted_response_alg ECDH-ES: jwks has no key to encrypt to "
            "(an EC key with use enc or no use).",
        ),
    ],
)
def test_registration_refuses_encryption_it_cannot_do(db, http, metadata, description):
    body = {"redirect_uris": [flows.REDIRECT_URI], "jwks": public_jwks(new_rsa_key(kid="k1")), **metadata}
    body = {k: v for k, v in body.items() if v is not None}
    response = http.post("/oidc/register", json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json() == {"error": "invalid_client_metadata", "error_description": description}


def test_registration_stores_and_returns_the_encryption_metadata(db, http):
    body = {
        "redirect_uris": [flows.REDIRECT_URI],
        "jwks": public_jwks(new_rsa_key(kid="k1", use="enc")),
        "id_token_encrypted_response_alg": "RSA-OAEP",
        "userinfo_encrypted_response_alg": "RSA-OAEP-256",
        "userinfo_encrypted_response_enc": "A256GCM",
    }
    response = http.post("/oidc/register", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    registered = response.json()
    assert registered["id_token_encrypted_response_alg"] == "RSA-OAEP"
    assert registered["id_token_encrypted_response_enc"] == "A128CBC-HS256"
    assert registered["userinfo_encrypted_response_enc"] == "A256GCM"
    client = Client.objects.get(client_id=registered["client_id"])
    assert (client.id_token_encrypted_response_alg, client.id_token_encrypted_response_enc) == (
        "RSA-OAEP",
        "A128CBC-HS256",
    )
    assert (client.userinfo_encrypted_response_alg, client.userinfo_encrypted_response_enc) == (
        "RSA-OAEP-256",
        "A256GCM",
    )


def test_discovery_lists_exactly_what_is_supported(db, http):
    info = http.get("/oidc/.well-known/openid-configuration").json()
    for kind in ("id_token", "userinfo"):
        assert info[f"{kind}_encryption_alg_values_supported"] == ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES"]
        assert info[f"{kind}_encryption_enc_values_supported"] == [
            "A128CBC-HS256",
            "A256CBC-HS512",
            "A128GCM",
            "A256GCM",
        ]
    assert "request_object_encryption_alg_values_supported" not in info
    assert "encrypt_id_token_supported" not in info and "encrypt_userinfo_supported" not in info


# RP-Initiated Logout 1.0 §2: the id_token_hint is the ID token the RP holds, decrypted: the OP has
# no key to decrypt a JWE encrypted to the client.


def test_logout_takes_the_decrypted_id_token_as_hint_and_refuses_the_jwe(browser, http):
    key = new_rsa_key(kid="k1", use="enc")
    encrypted_client([key], "--id-token-encrypted-response-alg", RSA_ENC)
    Client.objects.filter(client_id="rp1").update(post_logout_redirect_uris=["https://rp.example/bye"])
    encrypted = flows.get_tokens(browser, http)["id_token"]
    refused = browser.get("/oidc/end_session", {"id_token_hint": encrypted})
    assert refused.status_code == 400
    assert "id_token_hint is not an ID token of this provider" in refused.content.decode()
    assert "_auth_user_id" in browser.session  # still signed in
    _, inner = decrypt(encrypted, [key])
    response = browser.get(
        "/oidc/end_session", {"id_token_hint": inner.decode(), "post_logout_redirect_uri": "https://rp.example/bye"}
    )
    assert response.status_code == 302 and response["Location"] == "https://rp.example/bye"
    assert "_auth_user_id" not in browser.session


def test_createclient_holds_encryption_to_the_same_rules(db):
    with pytest.raises(CommandError) as err:
        flows.make_client("rp1", "s3cret", "--userinfo-encrypted-response-enc", "A128GCM")
    assert str(err.value) == (
        "userinfo_encrypted_response_enc needs userinfo_encrypted_response_alg (OpenID Connect Registration 1.0 §2)."
    )
    with pytest.raises(CommandError) as err:
        flows.make_client("rp1", "s3cret", "--id-token-encrypted-response-alg", "RSA-OAEP")
    assert str(err.value) == "id_token_encrypted_response_alg needs the client's public keys: jwks or jwks_uri."
    assert not Client.objects.exists()
