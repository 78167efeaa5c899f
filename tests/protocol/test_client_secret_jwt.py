"""``client_secret_jwt`` client authentication (RFC 7523 §3, OIDC Core §9): an assertion signed with
HMAC keyed with the client's secret, which only such a client keeps, encrypted, on its row.

Every test rebuilds the server between authorization and token request, so nothing survives in
process memory: what another worker would see.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from cryptojwt.jwk.ec import new_ec_key
from cryptojwt.jwk.rsa import new_rsa_key
from cryptojwt.jws.jws import JWS
from django.core.management import call_command

from oidc_provider import crypto
from oidc_provider.models import Client, ClientAssertion
from oidc_provider.server import reset_server
from tests import flows

ISSUER = "http://testserver/oidc"
TOKEN_ENDPOINT = ISSUER + "/token"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SECRET = "a-client-secret-of-sixty-four-bytes-for-hs512-0123456789abcdefgh"
REFUSED = {"error": "invalid_client", "error_description": "Client authentication failed"}


@pytest.fixture
def sj_client(db):
    flows.make_client("sj1", SECRET, "--token-endpoint-auth-method", "client_secret_jwt")
    return "sj1"


def assertion(secret=SECRET, alg="HS256", **claims):
    now = int(time.time())
    payload = {"iss": "sj1", "sub": "sj1", "aud": TOKEN_ENDPOINT, "exp": now + 60, "iat": now, "jti": uuid.uuid4().hex}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return hs_sign(payload, secret, alg)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs_sign(payload, secret, alg="HS256", header=None):
    """An HMAC-signed JWT made by hand (RFC 7515 §7.1), whatever the secret's length."""
    signing_input = (
        b64url(json.dumps(header or {"alg": alg, "typ": "JWT"}).encode()) + "." + b64url(json.dumps(payload).encode())
    )
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    return signing_input + "." + b64url(hmac.new(secret.encode(), signing_input.encode(), digest).digest())


def redeem(http, code, verifier, client_assertion, **extra):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": client_assertion,
        **extra,
    }
    return http.post("/oidc/token", {k: v for k, v in data.items() if v is not None})


def code_for(browser, client_id="sj1"):
    code, verifier = flows.get_code(browser, client_id=client_id)
    reset_server()  # the token request reaches "another worker"
    return code, verifier


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("aud", [TOKEN_ENDPOINT, ISSUER, [ISSUER]])
def test_client_secret_jwt_authenticates(sj_client, browser, http, alg, aud):
    code, verifier = code_for(browser)
    response = redeem(http, code, verifier, assertion(alg=alg, aud=aud))
    assert response.status_code == 200, response.content
    assert flows.jwt_claims(response.json()["id_token"])["aud"] == ["sj1"]


def test_the_secret_is_kept_encrypted_not_in_clear(sj_client):
    row = Client.objects.get(client_id="sj1")
    assert SECRET not in json.dumps(list(Client.objects.filter(client_id="sj1").values()), default=str)
    assert row.client_secret_encrypted and crypto.decrypt_text(row.client_secret_encrypted) == SECRET
    assert row.check_secret(SECRET)


def test_the_secret_survives_a_key_encryption_secret_rotation(sj_client, browser, http, settings):
    """Encrypted as the signing keys are: read with KEY_ENCRYPTION_SECRET_FALLBACKS, re-encrypted by
    ``rotatekeys --reencrypt``."""
    old = settings.OIDC_PROVIDER["KEY_ENCRYPTION_SECRET"]
    settings.OIDC_PROVIDER = {
        **settings.OIDC_PROVIDER,
        "KEY_ENCRYPTION_SECRET": "a-new-key-encryption-secret",
        "KEY_ENCRYPTION_SECRET_FALLBACKS": [old],
    }
    code, verifier = code_for(browser)
    assert redeem(http, code, verifier, assertion()).status_code == 200
    call_command("rotatekeys", "--reencrypt", stdout=open("/dev/null", "w"))
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "KEY_ENCRYPTION_SECRET_FALLBACKS": []}
    assert Client.objects.get(client_id="sj1").recover_secret() == SECRET
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "KEY_ENCRYPTION_SECRET": old}
    with pytest.raises(ValueError, match="KEY_ENCRYPTION_SECRET_FALLBACKS"):
        Client.objects.get(client_id="sj1").recover_secret()


def test_only_client_secret_jwt_clients_keep_a_recoverable_secret(sj_client, rp):
    """Every row is read: only the client_secret_jwt client has an encrypted secret; switching it to
    another method erases it."""
    flows.make_client("rp2", "other", "--token-endpoint-auth-method", "client_secret_post")
    rows = dict(Client.objects.values_list("client_id", "client_secret_encrypted"))
    assert {cid for cid, encrypted in rows.items() if encrypted} == {"sj1"}
    client = Client.objects.get(client_id="sj1")
    client.token_endpoint_auth_method = "client_secret_basic"
    client.save(update_fields=["token_endpoint_auth_method"])
    assert all(encrypted == "" for encrypted in Client.objects.values_list("client_secret_encrypted", flat=True))
    assert Client.objects.get(client_id="sj1").check_secret(SECRET)  # still a client_secret_basic secret
    client.token_endpoint_auth_method = "client_secret_jwt"
    client.save()
    assert Client.objects.get(client_id="sj1").recover_secret() == ""  # a hash cannot be turned back


def test_an_assertion_cannot_be_replayed(sj_client, browser, http):
    used = assertion()
    code, verifier = code_for(browser)
    assert redeem(http, code, verifier, used).status_code == 200
    code, verifier = code_for(browser)  # a fresh code, the same assertion, on "another worker"
    response = redeem(http, code, verifier, used)
    assert response.status_code == 401 and response.json() == REFUSED
    assert ClientAssertion.objects.count() == 1


def _unsigned():
    claims = {"iss": "sj1", "sub": "sj1", "aud": TOKEN_ENDPOINT, "jti": "j", "exp": int(time.time()) + 60}
    return JWS(json.dumps(claims), alg="none").sign_compact()


def _rs256():
    rsa = new_rsa_key(key_size=2048, kid="k")
    claims = {"iss": "sj1", "sub": "sj1", "aud": TOKEN_ENDPOINT, "jti": uuid.uuid4().hex, "exp": int(time.time()) + 60}
    return JWS(json.dumps(claims), alg="RS256", kid="k").sign_compact([rsa])


def _rs256_header_over_the_secrets_hmac():
    """Algorithm confusion: the header says RS256, the signature is an HMAC keyed with the secret."""
    good = assertion()
    header = base64.urlsafe_b64encode(json.dumps({"alg": "RS256"}).encode()).rstrip(b"=").decode()
    return header + good[good.index(".") :]


BAD_ASSERTIONS = {
    "wrong secret": lambda: assertion(secret="not-the-secret-" + "x" * 50),
    "alg none": _unsigned,
    "RS256": _rs256,
    "RS256 header over the secret's HMAC": _rs256_header_over_the_secrets_hmac,
    "ES256": lambda: JWS(json.dumps({"iss": "sj1", "sub": "sj1"}), alg="ES256").sign_compact([new_ec_key("P-256")]),
    "wrong aud": lambda: assertion(aud="https://other.example/token"),
    "the introspection endpoint as aud": lambda: assertion(aud=ISSUER + "/introspect"),
    "array aud": lambda: assertion(aud=[ISSUER, "https://other.example"]),
    "array aud of the OP twice": lambda: assertion(aud=[ISSUER, TOKEN_ENDPOINT]),
    "no aud": lambda: assertion(aud=None),
    "expired": lambda: assertion(exp=int(time.time()) - 120),
    "no exp": lambda: assertion(exp=None),
    "exp too far ahead": lambda: assertion(exp=int(time.time()) + 7200),
    "not valid yet": lambda: assertion(nbf=int(time.time()) + 600),
    "missing jti": lambda: assertion(jti=None),
    "sub is not iss": lambda: assertion(sub="someone"),
    "iss is another client": lambda: assertion(iss="rp1", sub="rp1"),
    "not a JWT": lambda: "not-a-jwt",
}


@pytest.mark.parametrize("case", BAD_ASSERTIONS)
def test_bad_assertions_are_invalid_client(sj_client, rp, browser, http, case):
    code, verifier = code_for(browser)
    response = redeem(http, code, verifier, BAD_ASSERTIONS[case]())
    assert response.status_code == 401, (case, response.content)
    assert response.json() == REFUSED
    assert redeem(http, code, verifier, assertion()).status_code == 200  # the code was not spent


def test_a_client_secret_basic_client_cannot_use_client_secret_jwt(rp, browser, http):
    """rp1 has the secret s3cret (client_secret_basic): an assertion keyed with it is refused."""
    code, verifier = code_for(browser, "rp1")
    response = redeem(http, code, verifier, assertion(secret="s3cret", iss="rp1", sub="rp1"))
    assert response.status_code == 401 and response.json() == REFUSED


def test_a_client_secret_jwt_client_cannot_send_its_secret(sj_client, browser, http):
    code, verifier = code_for(browser)
    assert flows.redeem(http, code, verifier, client_id="sj1", secret=SECRET).status_code == 401
    data = {**dict(grant_type="authorization_code", code=code, redirect_uri=flows.REDIRECT_URI)}
    data.update(code_verifier=verifier, client_id="sj1", client_secret=SECRET)
    assert http.post("/oidc/token", data).json() == REFUSED
    assert redeem(http, code, verifier, assertion()).status_code == 200


def test_an_expired_secret_signs_nothing(sj_client, browser, http):
    Client.objects.filter(client_id="sj1").update(client_secret_expires_at=int(time.time()) - 1)
    code, verifier = code_for(browser)
    assert redeem(http, code, verifier, assertion()).json() == REFUSED


def back_channel(http, endpoint, token, aud=ISSUER):
    data = {"token": token, "client_assertion_type": JWT_BEARER, "client_assertion": assertion(aud=aud)}
    return http.post(f"/oidc/{endpoint}", data)


@pytest.mark.parametrize("aud", [ISSUER, TOKEN_ENDPOINT])
def test_a_client_secret_jwt_client_introspects_and_revokes(sj_client, browser, http, aud):
    code, verifier = code_for(browser)
    access_token = redeem(http, code, verifier, assertion()).json()["access_token"]
    info = back_channel(http, "introspect", access_token, aud).json()
    assert info["active"] is True and info["client_id"] == "sj1"
    assert back_channel(http, "revoke", access_token, aud).status_code == 200
    assert back_channel(http, "introspect", access_token, aud).json() == {"active": False}


def test_discovery_advertises_the_method_and_hmac_algorithms(db, http):
    config = http.get("/oidc/.well-known/openid-configuration").json()
    for endpoint in ("token", "introspection", "revocation"):
        assert "client_secret_jwt" in config[f"{endpoint}_endpoint_auth_methods_supported"]
        algs = config[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
        assert {"HS256", "HS384", "HS512", "RS256"} <= set(algs) and "none" not in algs


def test_registration_issues_a_secret_kept_encrypted(db, http):
    body = {"redirect_uris": [flows.REDIRECT_URI], "token_endpoint_auth_method": "client_secret_jwt"}
    response = http.post("/oidc/register", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    registered = response.json()
    assert registered["token_endpoint_auth_method"] == "client_secret_jwt"
    assert registered["client_secret_expires_at"] == 0
    row = Client.objects.get(client_id=registered["client_id"])
    assert row.recover_secret() == registered["client_secret"] and row.check_secret(registered["client_secret"])


def test_createclient_prints_the_secret_once_and_keeps_it_encrypted(db, capsys):
    call_command(
        "createclient",
        "--client-id",
        "cmd1",
        "--redirect-uri",
        flows.REDIRECT_URI,
        "--token-endpoint-auth-method",
        "client_secret_jwt",
    )
    out = capsys.readouterr().out
    secret = out.split("client_secret=", 1)[1].split()[0]
    assert Client.objects.get(client_id="cmd1").recover_secret() == secret
