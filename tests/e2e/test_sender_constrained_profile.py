"""Issue 19's profile end to end: one client registered for ``private_key_jwt`` (keys at a jwks_uri),
pushed authorization requests (required), signed request objects (ES256) and DPoP
(``dpop_bound_access_tokens``), driven by independent libraries: authlib's client assertions, joserfc's
request objects and DPoP proofs. The steps land on two OP processes over one database, and every
replay or tampering attempt is refused with its error on the process that did not see the original."""

import secrets
import time
import uuid
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.dpop_proofs import Holder
from tests.e2e.browser import authorize, new_session
from tests.e2e.conftest import register_clients
from tests.e2e.rp import fetch_jwks, validate_id_token
from tests.e2e.test_request_objects import pkce_pair
from tests.jwks_server import JWKSServer

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def profile(op_server, start_server, op_discovery):
    key = ECKey.generate_key("P-256", parameters={"kid": f"rp-{uuid.uuid4().hex[:6]}", "use": "sig"})
    keys = JWKSServer({"keys": [key.as_dict(private=False)]})
    (client,) = register_clients(
        op_server,
        auth_method="private_key_jwt",
        extra=(
            "--jwks-uri",
            keys.url,
            "--request-object-signing-alg",
            "ES256",
            "--require-pushed-authorization-requests",
            "--dpop",
        ),
    )
    server_b = start_server(issuer=op_server.issuer)
    yield SimpleNamespace(client=client, key=key, a=op_discovery, b=f"{server_b.url}/oidc", server_b=server_b)
    keys.close()


def rp_session(profile, audience):
    """authlib's session, authenticating with an ES256 client assertion for ``audience``."""
    session = new_session(
        OAuth2Session(
            profile.client.client_id,
            profile.key,
            scope=profile.client.scope,
            redirect_uri=profile.client.redirect_uri,
            token_endpoint_auth_method="private_key_jwt",
            default_timeout=10,
        )
    )
    session.register_client_auth_method(PrivateKeyJWT(audience, alg="ES256", headers={"kid": profile.key.kid}))
    return session


def request_object(profile, **overrides):
    """The signed authorization request (RFC 9101), and what finishing the flow needs."""
    verifier, challenge = pkce_pair()
    now = int(time.time())
    claims = {
        "iss": profile.client.client_id,
        "aud": profile.a["issuer"],
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(12),
        "client_id": profile.client.client_id,
        "response_type": "code",
        "redirect_uri": profile.client.redirect_uri,
        "scope": "openid profile",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    header = {"alg": "ES256", "typ": "oauth-authz-req+jwt", "kid": profile.key.kid}
    return jwt.encode(header, claims, profile.key), {"verifier": verifier, **claims}


def push(profile, par_url, holder, request, proof=None):
    """POST /par with the assertion, the signed object and a DPoP proof for the PAR endpoint."""
    session = rp_session(profile, profile.a["issuer"])
    proof = proof or holder.proof("POST", profile.a["pushed_authorization_request_endpoint"])
    return session.post(
        par_url,
        data={"client_id": profile.client.client_id, "request": request},
        auth=session.client_auth("private_key_jwt"),
        headers={"DPoP": proof},
        withhold_token=True,
    )


def front_channel(base, profile, request_uri):
    return f"{base}/authorize?{urlencode({'client_id': profile.client.client_id, 'request_uri': request_uri})}"


def sign_in(url, profile, user):
    return authorize(new_session(), url, profile.client.redirect_uri, user.username, user.password)


def redeem(profile, token_url, code, verifier, proof):
    session = rp_session(profile, profile.a["token_endpoint"])
    return session.post(
        token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": profile.client.redirect_uri,
            "code_verifier": verifier,
        },
        auth=session.client_auth("private_key_jwt"),
        headers={"DPoP": proof},
        withhold_token=True,
    )


def error_of(response, status=400):
    assert response.status_code == status, response.text
    return response.json()["error"], response.json()["error_description"]


def test_the_whole_profile_across_two_processes(profile, op_user):
    """Push at A, the browser at B, the code redeemed at A, userinfo at B: each step refuses its replay on
    the other process."""
    a, b, holder = profile.a, profile.b, Holder()
    request, sent = request_object(profile)
    par_proof = holder.proof("POST", a["pushed_authorization_request_endpoint"])
    pushed = push(profile, a["pushed_authorization_request_endpoint"], holder, request, par_proof)
    assert pushed.status_code == 201, pushed.text
    request_uri = pushed.json()["request_uri"]

    # the same object, and the same DPoP proof, pushed again at B
    assert error_of(push(profile, f"{b}/par", holder, request)) == (
        "invalid_request_object",
        "The request object has been used before (jti)",
    )
    assert error_of(push(profile, f"{b}/par", holder, request_object(profile)[0], par_proof)) == (
        "invalid_dpop_proof",
        "The DPoP proof was already used",
    )

    result = sign_in(front_channel(b, profile, request_uri), profile, op_user)
    assert result.get("state") == sent["state"] and "code" in result, result
    # the request_uri is spent for A too
    replayed = new_session().get(front_channel(a["issuer"], profile, request_uri))
    assert replayed.status_code == 400 and 'id="error-code">invalid_request_uri<' in replayed.text

    # the code was bound to the PAR proof's key: another key is refused (at B), the right one works (at A)
    other = Holder()
    assert error_of(
        redeem(profile, f"{b}/token", result["code"], sent["verifier"], other.proof("POST", a["token_endpoint"]))
    ) == (
        "invalid_dpop_proof",
        "The DPoP proof's key is not the dpop_jkt of the authorization request",
    )
    token_proof = holder.proof("POST", a["token_endpoint"])
    response = redeem(profile, a["token_endpoint"], result["code"], sent["verifier"], token_proof)
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "DPoP"
    claims = validate_id_token(
        token["id_token"],
        fetch_jwks(a),
        issuer=a["issuer"],
        client_id=profile.client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
    )
    # userinfo at B: with a proof of the key, and refused as Bearer or with another key's proof
    access_token = token["access_token"]
    userinfo = a["userinfo_endpoint"]
    answer = new_session().get(
        f"{b}/userinfo",
        headers={"Authorization": f"DPoP {access_token}", "DPoP": holder.proof("GET", userinfo, access_token)},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["sub"] == claims["sub"]
    as_bearer = new_session().get(f"{b}/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert as_bearer.status_code == 401 and as_bearer.headers["WWW-Authenticate"].startswith("DPoP ")
    stolen = new_session().get(
        f"{b}/userinfo",
        headers={"Authorization": f"DPoP {access_token}", "DPoP": other.proof("GET", userinfo, access_token)},
    )
    assert stolen.status_code == 401 and stolen.json()["error"] == "invalid_token"

    # the code, and the token request's proof, replayed at B
    assert error_of(redeem(profile, f"{b}/token", result["code"], sent["verifier"], token_proof)) == (
        "invalid_dpop_proof",
        "The DPoP proof was already used",
    )
    assert (
        error_of(
            redeem(profile, f"{b}/token", result["code"], sent["verifier"], holder.proof("POST", a["token_endpoint"]))
        )[0]
        == "invalid_grant"
    )

    # a replayed code revokes what it was redeemed for (RFC 6749 §4.1.2), on every process
    revoked = new_session().get(
        f"{b}/userinfo",
        headers={"Authorization": f"DPoP {access_token}", "DPoP": holder.proof("GET", userinfo, access_token)},
    )
    assert revoked.status_code == 401 and revoked.json()["error"] == "invalid_token"

    # the two processes served what this test says they did
    assert profile.server_b.served("GET /oidc/authorize?") and profile.server_b.served("GET /oidc/userinfo")


def test_tampered_and_unpushed_requests_are_refused(profile, op_user):
    a, holder = profile.a, Holder()
    request, _ = request_object(profile)
    header, payload, signature = request.split(".")
    forged_payload = jwt.encode({"alg": "ES256"}, {"scope": "openid profile email"}, profile.key).split(".")[1]
    tampered = ".".join((header, forged_payload, signature))
    assert error_of(push(profile, a["pushed_authorization_request_endpoint"], holder, tampered)) == (
        "invalid_request_object",
        "The request object's signature does not verify with the client's keys",
    )
    wrong_aud, _ = request_object(profile, aud="https://other-op.example")
    assert error_of(push(profile, a["pushed_authorization_request_endpoint"], holder, wrong_aud)) == (
        "invalid_request_object",
        "The request object's aud must be the issuer",
    )
    expired, _ = request_object(profile, iat=int(time.time()) - 900, exp=int(time.time()) - 300)
    assert error_of(push(profile, a["pushed_authorization_request_endpoint"], holder, expired)) == (
        "invalid_request_object",
        "The request object has expired",
    )
    # the same signed object, not pushed: this client must push (RFC 9126 §6)
    request, _ = request_object(profile)
    query = {"client_id": profile.client.client_id, "response_type": "code", "scope": "openid", "request": request}
    response = new_session().get(f"{a['authorization_endpoint']}?{urlencode(query)}", allow_redirects=False)
    assert response.status_code == 302
    assert "error=invalid_request" in response.headers["Location"]
    assert "must+use+pushed+authorization+requests" in response.headers["Location"]
