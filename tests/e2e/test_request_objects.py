"""Request objects (RFC 9101, OIDC Core §6) against the running OP, the objects built and signed by
joserfc: RS256 and ES256 keys registered inline or at a jwks_uri, HS256 with a client_secret_jwt
client's secret, ``request_uri`` served by a test server; every refusal with its exact error, and a
``jti`` replayed on another OP process over the same database."""

import base64
import hashlib
import json
import secrets
import time
import uuid
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from tests.e2e.browser import authorize, new_session, redirect_params
from tests.e2e.conftest import register_clients
from tests.e2e.rp import fetch_jwks, redeem, validate_id_token
from tests.jwks_server import JWKSServer

pytestmark = pytest.mark.live

RSA = RSAKey.generate_key(2048, parameters={"kid": f"rsa-{uuid.uuid4().hex[:6]}"})
EC = ECKey.generate_key("P-256", parameters={"kid": f"ec-{uuid.uuid4().hex[:6]}"})
FORGER = RSAKey.generate_key(2048, parameters={"kid": RSA.kid})


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def jwks(*keys):
    return json.dumps({"keys": [k.as_dict(private=False) for k in keys]})


def request_object(client, issuer, key=RSA, alg="RS256", **overrides):
    """(the signed object, what the flow needs to finish: verifier, nonce, state)."""
    verifier, challenge = pkce_pair()
    now = int(time.time())
    claims = {
        "iss": client.client_id,
        "aud": issuer,
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(12),
        "client_id": client.client_id,
        "response_type": "code",
        "redirect_uri": client.redirect_uri,
        "scope": "openid profile",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"alg": alg, "typ": "oauth-authz-req+jwt"}
    if getattr(key, "kid", None):
        header["kid"] = key.kid
    return jwt.encode(header, claims, key), {"verifier": verifier, **claims}


def authorization_url(discovery, client, **params):
    """OIDC Core §6.1: client_id, response_type and scope (with openid) in the query too."""
    query = {"client_id": client.client_id, "response_type": "code", "scope": "openid", **params}
    return f"{discovery['authorization_endpoint']}?{urlencode(query)}"


def sign_in(discovery, client, user, **params):
    return authorize(
        new_session(), authorization_url(discovery, client, **params), client.redirect_uri, *user_login(user)
    )


def user_login(user):
    return user.username, user.password


def finish(discovery, client, result, sent):
    """Redeem the code and validate the ID token: the object's nonce is in it."""
    assert "code" in result and result["state"] == sent["state"], result
    response = redeem(discovery["token_endpoint"], client, result["code"], sent["verifier"])
    assert response.status_code == 200, response.text
    token = response.json()
    validate_id_token(
        token["id_token"],
        fetch_jwks(discovery),
        issuer=discovery["issuer"],
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
    )


def refused_at(url, client, error, description, state="st-q"):
    """The error sent to the (registered) redirect URI of the query."""
    response = new_session().get(url, allow_redirects=False)
    assert response.status_code == 302, response.text[:500]
    params = redirect_params(response.headers["Location"])
    assert response.headers["Location"].startswith(client.redirect_uri)
    assert {k: params.get(k) for k in ("error", "error_description", "state")} == {
        "error": error,
        "error_description": description,
        "state": state,
    }


@pytest.fixture
def rs_client(make_client):
    return make_client(extra=("--jwks", jwks(RSA, EC)))


def test_discovery_advertises_request_objects(op_discovery):
    assert op_discovery["request_parameter_supported"] is True
    assert op_discovery["request_uri_parameter_supported"] is True
    assert op_discovery["require_request_uri_registration"] is True
    assert {"RS256", "ES256", "HS256"} <= set(op_discovery["request_object_signing_alg_values_supported"])
    assert "none" not in op_discovery["request_object_signing_alg_values_supported"]


@pytest.mark.parametrize("key, alg", [(RSA, "RS256"), (EC, "ES256")])
def test_a_signed_object_by_value_completes_the_flow(rs_client, op_user, op_discovery, key, alg):
    token, sent = request_object(rs_client, op_discovery["issuer"], key, alg)
    result = sign_in(op_discovery, rs_client, op_user, request=token, state="ignored", nonce="ignored")
    finish(op_discovery, rs_client, result, sent)


def test_keys_from_a_jwks_uri(make_client, op_user, op_discovery):
    server = JWKSServer(json.loads(jwks(EC)))
    try:
        client = make_client(extra=("--jwks-uri", server.url, "--request-object-signing-alg", "ES256"))
        token, sent = request_object(client, op_discovery["issuer"], EC, "ES256")
        finish(op_discovery, client, sign_in(op_discovery, client, op_user, request=token), sent)
        # the client rotates its key: an unknown kid fetches the jwks_uri again
        rotated = ECKey.generate_key("P-256", parameters={"kid": f"ec-{uuid.uuid4().hex[:6]}"})
        server.jwks = json.loads(jwks(rotated))
        token, sent = request_object(client, op_discovery["issuer"], rotated, "ES256")
        finish(op_discovery, client, sign_in(op_discovery, client, op_user, request=token), sent)
    finally:
        server.close()


def test_hs256_with_a_client_secret_jwt_clients_secret(make_client, op_user, op_discovery):
    client = make_client(auth_method="client_secret_jwt", secret="k" * 64)
    token, sent = request_object(client, op_discovery["issuer"], OctKey.import_key(client.client_secret), "HS256")
    result = sign_in(op_discovery, client, op_user, request=token)
    assert "code" in result and result["state"] == sent["state"], result


def now():
    return int(time.time())


@pytest.mark.parametrize(
    "change, description",
    [
        ({"exp": lambda: now() - 300}, "The request object has expired"),
        ({"nbf": lambda: now() + 600}, "The request object is not valid yet (nbf)"),
        ({"aud": lambda: "https://another-op.example"}, "The request object's aud must be the issuer"),
        ({"iss": lambda: "someone-else"}, "The request object's iss must be the client_id"),
        ({"client_id": lambda: "someone-else"}, "The request object's client_id does not match the request's"),
        ({"response_type": lambda: "token"}, "The request object's response_type does not match the request's"),
    ],
)
def test_refused_objects(rs_client, op_discovery, change, description):
    token, _ = request_object(rs_client, op_discovery["issuer"], **{k: v() for k, v in change.items()})
    url = authorization_url(op_discovery, rs_client, request=token, redirect_uri=rs_client.redirect_uri, state="st-q")
    refused_at(url, rs_client, "invalid_request_object", description)


def test_an_oversized_object(rs_client, op_discovery):
    """Posted (OIDC Core §3.1.2.1): a URL this long is refused by gunicorn before the OP sees it."""
    token, _ = request_object(rs_client, op_discovery["issuer"], padding="x" * 17000)
    form = {"client_id": rs_client.client_id, "response_type": "code", "scope": "openid", "request": token}
    form.update(redirect_uri=rs_client.redirect_uri, state="st-q")
    response = new_session().post(op_discovery["authorization_endpoint"], data=form, allow_redirects=False)
    assert redirect_params(response.headers["Location"])["error_description"] == (
        "The request object is larger than 16384 bytes"
    )


def test_a_tampered_signature(rs_client, op_discovery):
    token, _ = request_object(rs_client, op_discovery["issuer"])
    header, payload, signature = token.split(".")
    forged_payload = jwt.encode({"alg": "RS256"}, {"scope": "openid"}, RSA).split(".")[1]
    for tampered in (
        f"{header}.{forged_payload}.{signature}",
        request_object(rs_client, op_discovery["issuer"], FORGER)[0],
    ):
        url = authorization_url(
            op_discovery, rs_client, request=tampered, redirect_uri=rs_client.redirect_uri, state="st-q"
        )
        refused_at(
            url,
            rs_client,
            "invalid_request_object",
            "The request object's signature does not verify with the client's keys",
        )


def test_unsigned_and_unregistered_algorithms(make_client, op_discovery):
    client = make_client(extra=("--jwks", jwks(RSA, EC), "--request-object-signing-alg", "ES256"))
    claims = request_object(client, op_discovery["issuer"])[1]
    unsigned = jwt.encode({"alg": "none"}, claims, None, algorithms=["none"])
    cases = [
        (unsigned, "Unsigned request objects are not accepted"),
        (
            request_object(client, op_discovery["issuer"])[0],
            "The request object must be signed with ES256, the client's request_object_signing_alg",
        ),
    ]
    for token, description in cases:
        url = authorization_url(op_discovery, client, request=token, redirect_uri=client.redirect_uri, state="st-q")
        refused_at(url, client, "invalid_request_object", description)


def test_unsigned_objects_where_the_setting_allows_them(start_server, op_user):
    """REQUEST_OBJECT_ALLOW_UNSIGNED on another OP (same database): only a client that registered
    ``none`` sends unsigned objects; the others are refused as on the default OP."""
    server = start_server(env={"OIDC_TEST_SETTINGS": json.dumps({"REQUEST_OBJECT_ALLOW_UNSIGNED": True})})
    discovery = new_session().get(f"{server.issuer}/.well-known/openid-configuration").json()
    assert "none" in discovery["request_object_signing_alg_values_supported"]
    [unsigned_client] = register_clients(server, extra=("--request-object-signing-alg", "none"))
    [signing_client] = register_clients(server, extra=("--jwks", jwks(RSA)))
    for client in (unsigned_client, signing_client):
        claims = request_object(client, discovery["issuer"])[1]
        token = jwt.encode(
            {"alg": "none"}, {k: v for k, v in claims.items() if k != "verifier"}, None, algorithms=["none"]
        )
        if client is unsigned_client:
            result = sign_in(discovery, client, op_user, request=token)
            assert "code" in result and result["state"] == claims["state"], result
        else:
            url = authorization_url(discovery, client, request=token, redirect_uri=client.redirect_uri, state="st-q")
            refused_at(url, client, "invalid_request_object", "Unsigned request objects are not accepted")


def test_a_redirect_uri_only_in_the_object_must_be_registered(rs_client, op_discovery):
    token, _ = request_object(rs_client, op_discovery["issuer"], redirect_uri="https://evil.example/cb")
    response = new_session().get(authorization_url(op_discovery, rs_client, request=token), allow_redirects=False)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "evil.example" not in response.text


def test_a_redirect_uri_only_in_the_object(rs_client, op_user, op_discovery):
    token, sent = request_object(rs_client, op_discovery["issuer"])
    finish(op_discovery, rs_client, sign_in(op_discovery, rs_client, op_user, request=token), sent)


# --- jti: single use, across processes --------------------------------------------------------------


@pytest.fixture(scope="module")
def server_b(op_server, start_server):
    return start_server(issuer=op_server.issuer)


def test_a_replayed_object_is_refused_by_another_process(rs_client, op_user, op_discovery, server_b):
    token, sent = request_object(rs_client, op_discovery["issuer"])
    finish(op_discovery, rs_client, sign_in(op_discovery, rs_client, op_user, request=token), sent)
    for base in (op_discovery["authorization_endpoint"], f"{server_b.url}/oidc/authorize"):
        query = {"client_id": rs_client.client_id, "response_type": "code", "scope": "openid"}
        url = (
            f"{base}?{urlencode({**query, 'request': token, 'redirect_uri': rs_client.redirect_uri, 'state': 'st-q'})}"
        )
        refused_at(url, rs_client, "invalid_request_object", "The request object has been used before (jti)")
    assert server_b.served("GET /oidc/authorize?"), server_b.access_log()


# --- request_uri ------------------------------------------------------------------------------------


@pytest.fixture
def request_server():
    server = JWKSServer()  # http on 127.0.0.1: the live OP runs with DEBUG and OUTBOUND_ALLOWED_HOSTS
    server.content_type = "application/oauth-authz-req+jwt"
    yield server
    server.close()


@pytest.fixture
def uri_client(make_client, request_server):
    return make_client(extra=("--jwks", jwks(RSA), "--request-uri", request_server.url))


def test_a_request_uri_completes_the_flow(uri_client, request_server, op_user, op_discovery):
    token, sent = request_object(uri_client, op_discovery["issuer"], jti=None)
    request_server.body = token.encode()
    result = sign_in(op_discovery, uri_client, op_user, request_uri=request_server.url)
    finish(op_discovery, uri_client, result, sent)
    assert request_server.fetches == 1
    assert request_server.requests[0][2]["Accept"] == "application/oauth-authz-req+jwt, application/jwt"


@pytest.mark.parametrize(
    "setup, description",
    [
        (lambda s: setattr(s, "status", 500), "request_uri could not be fetched: HTTP 500"),
        (
            lambda s: setattr(s, "delay", 6),
            "request_uri could not be fetched: 127.0.0.1: no complete answer within 5.0 s",
        ),
        (
            lambda s: setattr(s, "offer", 10**7),
            "request_uri could not be fetched: 127.0.0.1: response larger than 16384 bytes",
        ),
        (lambda s: setattr(s, "content_type", "text/html"), "request_uri must answer application/oauth-authz-req+jwt"),
    ],
)
def test_request_uri_failures(uri_client, request_server, op_discovery, setup, description):
    request_server.body = request_object(uri_client, op_discovery["issuer"])[0].encode()
    setup(request_server)
    url = authorization_url(
        op_discovery, uri_client, request_uri=request_server.url, redirect_uri=uri_client.redirect_uri, state="st-q"
    )
    refused_at(url, uri_client, "invalid_request_uri", description)


def test_an_unregistered_request_uri_is_never_fetched(uri_client, request_server, op_discovery):
    request_server.body = request_object(uri_client, op_discovery["issuer"])[0].encode()
    url = authorization_url(
        op_discovery,
        uri_client,
        request_uri=request_server.url + "/elsewhere",
        redirect_uri=uri_client.redirect_uri,
        state="st-q",
    )
    refused_at(url, uri_client, "invalid_request_uri", "request_uri is not registered for this client")
    assert request_server.fetches == 0
