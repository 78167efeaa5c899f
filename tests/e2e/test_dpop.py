"""DPoP (RFC 9449) against the running OP: the code flow from authlib with proofs built by joserfc
(tests/dpop_proofs.py, independent of the OP's code), userinfo with the DPoP scheme, introspection's
``cnf``, a public client's bound refresh token, and every refusal with its exact error, including a
proof replayed to another OP process over the same database."""

import base64
import http.client
import json
import re
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

import pytest

from tests.dpop_proofs import Holder, symmetric_proof
from tests.e2e.browser import new_session
from tests.e2e.rp import authorization_response, oauth_session
from tests.e2e.test_logout import introspection

pytestmark = pytest.mark.live

OFFLINE = "openid profile email offline_access"


@pytest.fixture(scope="module")
def server_b(op_server, start_server):
    """A second OP process on the same database, acting as the same OP (the same issuer)."""
    return start_server(issuer=op_server.issuer)


def code_and_session(client, user, discovery, **params):
    rp = oauth_session(client)
    result, sent = authorization_response(client, user, discovery["authorization_endpoint"], rp=rp, **params)
    assert "code" in result, result
    return rp, result, sent


def redeem(client, result, sent, token_url, proof=None, headers=None):
    """The token request as authlib's session sends it (its client authentication), with a DPoP header."""
    data = {
        "grant_type": "authorization_code",
        "code": result["code"],
        "redirect_uri": client.redirect_uri,
        "code_verifier": sent["verifier"],
    }
    auth = None
    if client.client_secret:
        auth = (client.client_id, client.client_secret)
    else:
        data["client_id"] = client.client_id
    headers = dict(headers or {})
    if proof is not None:
        headers["DPoP"] = proof
    return new_session().post(token_url, data=data, auth=auth, headers=headers)


def refused(response, description, status=400, error="invalid_dpop_proof"):
    assert response.status_code == status, response.text
    assert response.json() == {"error": error, "error_description": description}


def test_code_flow_with_dpop_then_userinfo_and_introspection(make_client, op_user, op_discovery):
    assert op_discovery["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA"]
    client, holder = make_client(), Holder()
    token_url = op_discovery["token_endpoint"]
    rp, result, sent = code_and_session(client, op_user, op_discovery)
    # authlib's own token request, with the proof as an extra header
    token = rp.fetch_token(
        token_url,
        code=result["code"],
        state=sent["state"],
        code_verifier=sent["verifier"],
        headers={"DPoP": holder.proof("POST", token_url)},
    )
    assert token["token_type"] == "DPoP"
    access_token, userinfo = token["access_token"], op_discovery["userinfo_endpoint"]
    response = new_session().get(
        userinfo,
        headers={"Authorization": f"DPoP {access_token}", "DPoP": holder.proof("GET", userinfo, access_token)},
    )
    assert response.status_code == 200, response.text
    assert response.json()["email"] == op_user.email
    answer = introspection(op_discovery, client, access_token)
    assert answer["active"] is True and answer["token_type"] == "DPoP"
    assert answer["cnf"] == {"jkt": holder.jkt}

    # the bound token as a bearer token: refused, with the DPoP challenge (RFC 9449 §7.1)
    response = new_session().get(userinfo, headers={"Authorization": f"Bearer {access_token}"})
    description = "The token is DPoP-bound: present it with the DPoP scheme and a proof"
    refused(response, description, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"] == (
        f'DPoP algs="ES256 RS256 PS256 EdDSA", error="invalid_token", error_description="{description}"'
    )
    # a wrong ath, a proof for the token endpoint, a POST proof on a GET
    for proof, description in [
        (holder.proof("GET", userinfo, access_token + "x"), "The DPoP proof's ath does not match the access token"),
        (holder.proof("GET", token_url, access_token), "The DPoP proof's htu does not match the request's URL"),
        (holder.proof("POST", userinfo, access_token), "The DPoP proof's htm does not match the request's method"),
    ]:
        response = new_session().get(userinfo, headers={"Authorization": f"DPoP {access_token}", "DPoP": proof})
        refused(response, description, 401)


@pytest.mark.parametrize(
    ("make", "description"),
    [
        (
            lambda h, url: h.proof("POST", url.replace("/token", "/userinfo")),
            "The DPoP proof's htu does not match the request's URL",
        ),
        (lambda h, url: h.proof("PUT", url), "The DPoP proof's htm does not match the request's method"),
        (lambda h, url: h.proof("POST", url, iat=h.now() - 300), "The DPoP proof is too old"),
        (lambda h, url: h.proof("POST", url, iat=h.now() + 300), "The DPoP proof's iat is in the future"),
        (lambda h, url: h.proof("POST", url, header={"typ": None}), "The DPoP proof's typ must be dpop+jwt"),
        (lambda h, url: symmetric_proof("POST", url), "The DPoP proof's alg is not supported"),
        (lambda h, url: h.proof_with_private_jwk("POST", url), "The DPoP proof's jwk must not contain a private key"),
    ],
)
def test_bad_proofs_are_refused(make_client, op_user, op_discovery, make, description):
    client, holder = make_client(), Holder()
    token_url = op_discovery["token_endpoint"]
    _, result, sent = code_and_session(client, op_user, op_discovery)
    refused(redeem(client, result, sent, token_url, make(holder, token_url)), description)


def two_dpop_headers(url, data, auth, proofs):
    """A POST with the DPoP header twice (requests cannot send a header twice)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    body = urlencode(data)
    connection.putrequest("POST", parts.path)
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Content-Length", str(len(body)))
    connection.putheader("Authorization", auth)
    for proof in proofs:
        connection.putheader("DPoP", proof)
    connection.endheaders(body.encode())
    response = connection.getresponse()
    return response.status, response.read()


def test_two_dpop_headers_are_refused(make_client, op_user, op_discovery):
    client, holder = make_client(), Holder()
    token_url = op_discovery["token_endpoint"]
    _, result, sent = code_and_session(client, op_user, op_discovery)
    data = {
        "grant_type": "authorization_code",
        "code": result["code"],
        "redirect_uri": client.redirect_uri,
        "code_verifier": sent["verifier"],
    }
    auth = "Basic " + base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    status, body = two_dpop_headers(
        token_url, data, auth, [holder.proof("POST", token_url), holder.proof("POST", token_url)]
    )
    assert status == 400
    assert json.loads(body) == {
        "error": "invalid_dpop_proof",
        "error_description": "Exactly one DPoP header is allowed",
    }


def test_a_proof_is_used_once_across_op_processes(make_client, op_user, op_discovery, server_b):
    client, holder = make_client(), Holder()
    token_url = op_discovery["token_endpoint"]
    proof = holder.proof("POST", token_url)
    _, result, sent = code_and_session(client, op_user, op_discovery)
    assert redeem(client, result, sent, token_url, proof).status_code == 200
    _, result, sent = code_and_session(client, op_user, op_discovery)
    # server B's URL, the same issuer: the proof's htu names the issuer's token endpoint, not the host
    refused(redeem(client, result, sent, f"{server_b.url}/oidc/token", proof), "The DPoP proof was already used")
    assert (
        redeem(client, result, sent, f"{server_b.url}/oidc/token", holder.proof("POST", token_url)).status_code == 200
    )


def test_the_host_header_does_not_change_the_url_a_proof_must_name(make_client, op_user, op_discovery):
    client, holder = make_client(), Holder()
    token_url = op_discovery["token_endpoint"]
    _, result, sent = code_and_session(client, op_user, op_discovery)
    spoofed = {"Host": "evil.example"}
    response = redeem(client, result, sent, token_url, holder.proof("POST", "http://evil.example/oidc/token"), spoofed)
    refused(response, "The DPoP proof's htu does not match the request's URL")
    assert redeem(client, result, sent, token_url, holder.proof("POST", token_url), spoofed).status_code == 200


def test_a_dpop_jkt_code_needs_that_key(make_client, op_user, op_discovery):
    client, holder = make_client(), Holder()
    token_url = op_discovery["token_endpoint"]
    _, result, sent = code_and_session(client, op_user, op_discovery, dpop_jkt=holder.jkt)
    description = "The DPoP proof's key is not the dpop_jkt of the authorization request"
    refused(redeem(client, result, sent, token_url, Holder().proof("POST", token_url)), description)
    refused(redeem(client, result, sent, token_url), description)
    response = redeem(client, result, sent, token_url, holder.proof("POST", token_url))
    assert response.status_code == 200 and response.json()["token_type"] == "DPoP"


def test_a_client_that_requires_dpop(make_client, op_user, op_discovery):
    client, holder = make_client(extra=("--dpop",)), Holder()
    token_url = op_discovery["token_endpoint"]
    _, result, sent = code_and_session(client, op_user, op_discovery)
    refused(redeem(client, result, sent, token_url), "This client must send a DPoP proof")
    assert redeem(client, result, sent, token_url, holder.proof("POST", token_url)).json()["token_type"] == "DPoP"


def test_a_public_clients_refresh_token_is_bound_to_its_key(make_client, op_user, op_discovery):
    client = make_client(auth_method="none", scope=OFFLINE)
    holder, token_url = Holder("RSA"), op_discovery["token_endpoint"]
    _, result, sent = code_and_session(client, op_user, op_discovery, prompt="consent")
    token = redeem(client, result, sent, token_url, holder.proof("POST", token_url)).json()
    assert token["token_type"] == "DPoP" and token["refresh_token"]

    def refresh(proof):
        data = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": client.client_id}
        return new_session().post(token_url, data=data, headers={"DPoP": proof})

    refused(refresh(Holder().proof("POST", token_url)), "The refresh token is bound to another DPoP key")
    response = refresh(holder.proof("POST", token_url))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "DPoP"


def test_the_dpop_page(op_server, op_user, op_discovery):
    """docs/dpop.md's worked example, run as written against the live OP."""
    from tests.e2e.test_docs import createclient_commands, page, run_examples

    text = page("dpop.md")
    [args] = createclient_commands(text)
    assert args[-1] == "--dpop"
    output = op_server.manage(*args)
    client = SimpleNamespace(
        client_id="dpop-app",
        client_secret=re.search(r"^client_secret=(.*)$", output, re.M).group(1),
        redirect_uri="https://app.example/cb",
        scope="openid profile email",
        auth_method="client_secret_basic",
    )
    result, sent = authorization_response(client, op_user, op_discovery["authorization_endpoint"])
    ns = run_examples(
        text,
        ISSUER=op_server.issuer,
        CLIENT_ID=client.client_id,
        CLIENT_SECRET=client.client_secret,
        CODE=result["code"],
        CODE_VERIFIER=sent["verifier"],
    )
    assert ns["userinfo"]["email"] == op_user.email
    assert ns["info"]["token_type"] == "DPoP"
    bearer = new_session().get(
        f"{op_server.issuer}/userinfo", headers={"Authorization": f"Bearer {ns['access_token']}"}
    )
    assert bearer.status_code == 401
