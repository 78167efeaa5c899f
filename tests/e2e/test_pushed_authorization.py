"""Pushed authorization requests (RFC 9126) against the running OP: the request built by authlib and
pushed with authlib's client authentication (client_secret_basic, client_secret_post,
client_secret_jwt, private_key_jwt, a public client), the browser sent with ``client_id`` and
``request_uri`` only, a login in the middle; the push at one process and the redirect at another;
every refusal with its error."""

import json
import secrets
import threading
import time
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT
from cryptojwt.jwk.ec import new_ec_key
from cryptojwt.key_jar import build_keyjar
from idpyoidc.client.rp_handler import RPHandler
from joserfc.jwk import ECKey

from tests.e2e.browser import LOGIN_PATH, TIMEOUT, authorize, new_session
from tests.e2e.conftest import register_clients
from tests.e2e.rp import fetch_jwks, oauth_session, validate_id_token

pytestmark = pytest.mark.live

PREFIX = "urn:ietf:params:oauth:request_uri:"


def authorization_parameters(rp, authorization_endpoint, **params):
    """What authlib would put in the authorization URL (PKCE S256, nonce), as a dict to push."""
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = rp.create_authorization_url(authorization_endpoint, code_verifier=verifier, nonce=nonce, **params)
    body = dict(parse_qsl(urlsplit(url).query))
    return body, {"verifier": verifier, "nonce": nonce, "state": state}


def push(rp, discovery, auth_method=None, par_endpoint=None, **params):
    """Push with authlib's client authentication; returns (response, sent)."""
    body, sent = authorization_parameters(rp, discovery["authorization_endpoint"], **params)
    body = {k: v for k, v in body.items() if v is not None}
    auth = rp.client_auth(auth_method or rp.token_endpoint_auth_method)
    response = rp.post(
        par_endpoint or discovery["pushed_authorization_request_endpoint"], data=body, auth=auth, withhold_token=True
    )
    return response, sent


def pushed(rp, discovery, **kwargs):
    response, sent = push(rp, discovery, **kwargs)
    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["request_uri"].startswith(PREFIX) and body["expires_in"] == 60
    return body["request_uri"], sent


def front_channel_url(authorization_endpoint, client_id, request_uri):
    return f"{authorization_endpoint}?{urlencode({'client_id': client_id, 'request_uri': request_uri})}"


def page_error(response) -> str:
    """The error code on the OP's error page."""
    assert response.status_code == 400, response.text[:500]
    return response.text.split('id="error-code">', 1)[1].split("<", 1)[0]


def finish(client, rp, user, discovery, request_uri, sent, authorization_endpoint=None, token_endpoint=None):
    """The browser part (login and consent) and the token request; returns the token response."""
    endpoint = authorization_endpoint or discovery["authorization_endpoint"]
    result = authorize(
        new_session(),
        front_channel_url(endpoint, client.client_id, request_uri),
        client.redirect_uri,
        user.username,
        user.password,
    )
    assert result.get("state") == sent["state"], result
    return rp.fetch_token(
        token_endpoint or discovery["token_endpoint"],
        code=result["code"],
        state=sent["state"],
        code_verifier=sent["verifier"],
    )


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post", "client_secret_jwt", "none"])
def test_authlib_pushes_and_completes_the_code_flow(make_client, op_server, op_user, op_discovery, auth_method):
    assert op_discovery["pushed_authorization_request_endpoint"] == f"{op_server.issuer}/par"
    assert op_discovery["require_pushed_authorization_requests"] is False
    client = make_client(auth_method=auth_method)
    rp = oauth_session(client)
    if auth_method == "client_secret_jwt":
        rp.register_client_auth_method(ClientSecretJWT(op_discovery["token_endpoint"]))
    request_uri, sent = pushed(rp, op_discovery)
    token = finish(client, rp, op_user, op_discovery, request_uri, sent)
    claims = validate_id_token(
        token["id_token"],
        fetch_jwks(op_discovery),
        issuer=op_server.issuer,
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
    )
    assert claims["sub"]


@pytest.fixture(scope="module")
def pk_client(op_server):
    key = new_ec_key("P-256", kid="par-key-1", use="sig")
    public = {k: v for k, v in key.serialize(private=True).items() if k != "d"}
    client = register_clients(
        op_server, auth_method="private_key_jwt", extra=["--jwks", json.dumps({"keys": [public]})]
    )[0]
    client.key = key
    return client


def pk_session(client, audience):
    rp = new_session(
        OAuth2Session(
            client.client_id,
            ECKey.import_key(client.key.serialize(private=True)),
            scope=client.scope,
            redirect_uri=client.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="private_key_jwt",
            default_timeout=TIMEOUT,
        )
    )
    rp.register_client_auth_method(PrivateKeyJWT(audience, alg="ES256", headers={"kid": client.key.kid}))
    return rp


@pytest.mark.parametrize("audience", ["par_endpoint", "issuer", "token_endpoint"])
def test_a_private_key_jwt_client_pushes_with_an_assertion_for_the_op(
    pk_client, op_server, op_user, op_discovery, audience
):
    """RFC 9126 §2: the issuer, the token endpoint's URL and the PAR endpoint's URL are each accepted
    as the assertion's audience."""
    aud = {
        "par_endpoint": op_discovery["pushed_authorization_request_endpoint"],
        "issuer": op_server.issuer,
        "token_endpoint": op_discovery["token_endpoint"],
    }[audience]
    rp = pk_session(pk_client, aud)
    request_uri, sent = pushed(rp, op_discovery)
    token = finish(
        pk_client, pk_session(pk_client, op_discovery["token_endpoint"]), op_user, op_discovery, request_uri, sent
    )
    assert token["access_token"]


def test_bad_client_authentication_at_push_is_401(make_client, pk_client, op_discovery):
    """Defect 156: as at the token endpoint, with the method the client registered."""
    par = op_discovery["pushed_authorization_request_endpoint"]
    client = make_client()
    body, _ = authorization_parameters(oauth_session(client), op_discovery["authorization_endpoint"])
    refused = {"error": "invalid_client", "error_description": "Client authentication failed"}
    for kwargs in (
        {"auth": (client.client_id, "wrong")},  # a wrong secret
        {},  # a confidential client's client_id alone
        {"data": {**body, "client_secret": client.client_secret}},  # a basic client's secret in the body
    ):
        response = new_session().post(par, data=kwargs.pop("data", body), **kwargs)
        assert response.status_code == 401, response.text
        assert response.json() == refused
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
    # a private_key_jwt client's assertion, replayed
    rp = pk_session(pk_client, par)
    body, _ = authorization_parameters(rp, op_discovery["authorization_endpoint"])
    first = rp.post(par, data=body, auth=rp.client_auth("private_key_jwt"), withhold_token=True)
    assert first.status_code == 201
    replay = new_session().post(par, data=dict(parse_qsl(first.request.body)))
    assert replay.status_code == 401 and replay.json() == refused


@pytest.fixture(scope="module")
def server_b(op_server, start_server):
    """Another OP process on the same database, acting as the same issuer."""
    return start_server(issuer=op_server.issuer)


def test_a_push_at_one_process_is_redeemed_at_another(make_client, op_server, server_b, op_user, op_discovery):
    """Defect 150: pushed at process A, the browser at process B, the code redeemed at A."""
    client = make_client()
    rp = oauth_session(client)
    request_uri, sent = pushed(rp, op_discovery)
    token = finish(
        client, rp, op_user, op_discovery, request_uri, sent, authorization_endpoint=f"{server_b.url}/oidc/authorize"
    )
    assert token["id_token"]
    pushes = {
        pid for pid, line, status in op_server.access_log() if line.startswith("POST /oidc/par") and status == 201
    }
    redirects = {pid for pid, line, status in server_b.access_log() if "request_uri=" in line}
    assert pushes and redirects and not pushes & redirects
    # and spent for every process: A refuses it now
    response = new_session().get(
        front_channel_url(op_discovery["authorization_endpoint"], client.client_id, request_uri)
    )
    assert page_error(response) == "invalid_request_uri"


def test_a_login_in_the_middle_keeps_the_spent_request(make_client, op_user, op_discovery):
    """The request_uri is spent at the first visit to /authorize; the request waits in the session
    while the user logs in, and the flow completes. Replayed meanwhile, the request_uri is refused."""
    client = make_client()
    rp = oauth_session(client)
    request_uri, sent = pushed(rp, op_discovery)
    url = front_channel_url(op_discovery["authorization_endpoint"], client.client_id, request_uri)
    browser = new_session()
    first = browser.get(url, allow_redirects=False)
    assert first.status_code == 302 and LOGIN_PATH in first.headers["Location"]
    assert page_error(new_session().get(url)) == "invalid_request_uri"
    login = urljoin(url, first.headers["Location"])
    result = authorize(browser, login, client.redirect_uri, op_user.username, op_user.password)
    assert result["state"] == sent["state"]
    token = rp.fetch_token(
        op_discovery["token_endpoint"], code=result["code"], state=sent["state"], code_verifier=sent["verifier"]
    )
    assert token["access_token"]


def test_a_reused_request_uri_is_refused(make_client, op_user, op_discovery):
    client = make_client()
    rp = oauth_session(client)
    request_uri, sent = pushed(rp, op_discovery)
    finish(client, rp, op_user, op_discovery, request_uri, sent)
    response = new_session().get(
        front_channel_url(op_discovery["authorization_endpoint"], client.client_id, request_uri)
    )
    assert page_error(response) == "invalid_request_uri"
    assert "This sign-in request was already used." in response.text


def test_an_unknown_request_uri_is_refused(make_client, op_discovery):
    client = make_client()
    url = front_channel_url(
        op_discovery["authorization_endpoint"], client.client_id, PREFIX + secrets.token_urlsafe(32)
    )
    response = new_session().get(url)
    assert page_error(response) == "invalid_request_uri"
    assert "This sign-in request is unknown here." in response.text


def test_another_clients_request_uri_is_refused_over_http(make_client, op_user, op_discovery):
    """Defect 153: rp2 cannot use rp1's request_uri (and does not spend it)."""
    client, other = make_client(), make_client()
    rp = oauth_session(client)
    request_uri, sent = pushed(rp, op_discovery)
    response = new_session().get(
        front_channel_url(op_discovery["authorization_endpoint"], other.client_id, request_uri)
    )
    assert page_error(response) == "invalid_request_uri"
    assert finish(client, rp, op_user, op_discovery, request_uri, sent)["access_token"]


def test_an_expired_request_uri_is_refused_over_http(make_client, op_server, start_server):
    """Defect 151: PAR_LIFETIME (here its minimum, 5 s) after the push, the request_uri is refused."""
    server = start_server(issuer=op_server.issuer, env={"OIDC_TEST_SETTINGS": json.dumps({"PAR_LIFETIME": 5})})
    discovery = new_session().get(f"{server.url}/oidc/.well-known/openid-configuration").json()
    client = make_client()
    response, _ = push(oauth_session(client), discovery, par_endpoint=f"{server.url}/oidc/par")
    assert response.status_code == 201 and response.json()["expires_in"] == 5
    time.sleep(5.5)
    url = front_channel_url(f"{server.url}/oidc/authorize", client.client_id, response.json()["request_uri"])
    page = new_session().get(url)
    assert page_error(page) == "invalid_request_uri"
    assert "This sign-in request has expired." in page.text


def test_par_required_but_absent_over_http(make_client, op_server, op_user, op_discovery, start_server):
    """Defect 158: a client that registered require_pushed_authorization_requests, and an OP that
    requires it of everyone (and says so in discovery), refuse a request that was not pushed."""
    client = make_client(extra=("--require-pushed-authorization-requests",))
    rp = oauth_session(client)
    body, sent = authorization_parameters(rp, op_discovery["authorization_endpoint"])
    result = authorize(
        new_session(), f"{op_discovery['authorization_endpoint']}?{urlencode(body)}", client.redirect_uri
    )
    assert result == {
        "error": "invalid_request",
        "error_description": "This client must use pushed authorization requests (RFC 9126 §6)",
        "state": sent["state"],
        "iss": op_server.issuer,
    }
    request_uri, sent = pushed(rp, op_discovery)
    assert finish(client, rp, op_user, op_discovery, request_uri, sent)["access_token"]

    settings = json.dumps({"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True})
    server = start_server(issuer=op_server.issuer, env={"OIDC_TEST_SETTINGS": settings})
    discovery = new_session().get(f"{server.url}/oidc/.well-known/openid-configuration").json()
    assert discovery["require_pushed_authorization_requests"] is True
    plain = make_client()
    body, sent = authorization_parameters(oauth_session(plain), f"{server.url}/oidc/authorize")
    result = authorize(new_session(), f"{server.url}/oidc/authorize?{urlencode(body)}", plain.redirect_uri)
    assert result["error"] == "invalid_request"
    assert result["error_description"] == "This server requires pushed authorization requests (RFC 9126 §5)"


def test_push_time_errors_over_http(make_client, op_discovery):
    """Defects 154, 155: the push is checked as an authorization request is, at push time, and its
    request-object parameters are refused; a body over MAX_REQUEST_BODY is 413."""
    client = make_client()
    pkce_client = make_client(extra=("--require-pkce",))
    rp = oauth_session(client)
    cases = [
        (
            rp,
            {"redirect_uri": "https://rp.example/other"},
            "invalid_request",
            "redirect_uri is not registered for this client",
        ),
        (rp, {"request_uri": PREFIX + "x" * 43}, "invalid_request", "request_uri must not be pushed (RFC 9126 §2.1)"),
        (
            rp,
            {"request": "eyJhbGciOiJub25lIn0.e30."},
            "invalid_request_object",
            "Unsigned request objects are not accepted",
        ),
        (rp, {"response_type": "token"}, "unsupported_response_type", "response_type is not supported"),
    ]
    for session, params, error, description in cases:
        response, _ = push(session, op_discovery, **params)
        assert response.status_code == 400, response.text
        assert response.json() == {"error": error, "error_description": description}
    # PKCE: authlib adds it unless told not to; a plain requests body without code_challenge
    body, _ = authorization_parameters(oauth_session(pkce_client), op_discovery["authorization_endpoint"])
    body = {k: v for k, v in body.items() if not k.startswith("code_challenge")}
    response = new_session().post(
        op_discovery["pushed_authorization_request_endpoint"],
        data=body,
        auth=(pkce_client.client_id, pkce_client.client_secret),
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "Missing required code_challenge"}
    response, _ = push(rp, op_discovery, login_hint="x" * 70000)
    assert response.status_code == 413
    assert response.json() == {"error": "invalid_request", "error_description": "Request body too large"}


def test_concurrent_redemptions_get_one_winner(make_client, op_server, start_server, op_discovery):
    """Eight browsers racing on one request_uri at a two-worker server: one is sent to the login
    page, the others get invalid_request_uri."""
    server = start_server(issuer=op_server.issuer, workers=2)
    client = make_client()
    request_uri, _ = pushed(oauth_session(client), op_discovery)
    url = front_channel_url(f"{server.url}/oidc/authorize", client.client_id, request_uri)
    statuses, barrier = [], threading.Barrier(8)

    def visit():
        barrier.wait()
        statuses.append(requests.get(url, allow_redirects=False, timeout=TIMEOUT).status_code)

    threads = [threading.Thread(target=visit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302] + [400] * 7


def test_idpyoidcs_rp_add_on_pushes_a_request_object(make_client, op_server, op_discovery):
    """idpyoidc's RP ``pushed_authorization`` add-on always pushes its parameters inside a
    ``request`` object (and expects 200, not RFC 9126's 201), signed with keys of its own that the
    client never registered: the object is refused as it would be at the authorization endpoint."""
    client = make_client()
    seen = []
    http = new_session()
    http.hooks["response"].append(lambda response, **kwargs: seen.append(response))
    config = {
        "client_type": "oidc",
        "issuer": op_server.issuer,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uris": [client.redirect_uri],
        "client_authn_methods": [client.auth_method],
        "preference": {"response_types_supported": ["code"], "scopes_supported": client.scope.split()},
        "add_ons": {
            "pushed_authorization": {
                "function": "idpyoidc.client.oauth2.add_on.par.add_support",
                "kwargs": {"authn_method": "client_secret_basic"},
            }
        },
    }
    rph = RPHandler(
        base_url="https://rp.example",
        client_configs={op_server.issuer: config},
        keyjar=build_keyjar([{"type": "RSA", "use": ["sig"]}]),  # it signs the request object RS256
        httpc=http.request,
        httpc_params={"timeout": TIMEOUT},
    )
    with pytest.raises(ConnectionError):
        rph.begin(issuer_id=op_server.issuer)
    response = next(r for r in seen if r.url == op_discovery["pushed_authorization_request_endpoint"])
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request_object",
        "error_description": "The request object's signature does not verify with the client's keys",
    }
