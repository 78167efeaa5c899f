"""Hybrid and implicit response types (OIDC Core §3.2, §3.3) against the running OP: authlib builds the
requests and validates every ID token (``ImplicitIDToken``/``HybridIDToken``: signature, nonce,
``c_hash``, ``at_hash``), for each type, in the fragment and by form_post, with RS256 and ES256 clients."""

import base64
import json
import warnings
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest

from tests.e2e.browser import CONSENT_PATH, LOGIN_PATH, hidden_fields, new_session
from tests.e2e.conftest import register_clients
from tests.e2e.rp import fetch_jwks, oauth_session, validate_id_token

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.jose import JsonWebKey, jwt
    from authlib.oauth2.rfc7636 import create_s256_code_challenge
    from authlib.oidc.core import HybridIDToken, ImplicitIDToken

pytestmark = pytest.mark.live

ALL = ["code", "code id_token", "code token", "code id_token token", "id_token", "id_token token"]
FRONT = ALL[1:]
PROFILE = {"name", "given_name", "family_name", "email"}


@pytest.fixture(scope="module")
def op(op_server, start_server):
    """An OP (on the session's database, so with its user) with every response type enabled."""
    return start_server(env={"OIDC_TEST_SETTINGS": json.dumps({"RESPONSE_TYPES": ALL})})


@pytest.fixture(scope="module")
def discovery(op):
    return new_session().get(f"{op.issuer}/.well-known/openid-configuration").json()


@pytest.fixture(scope="module")
def clients(op):
    """One client per signing algorithm registered for every type, and one for code only."""
    types = [a for rt in ALL for a in ("--response-type", rt)]
    made = {
        alg: register_clients(op, extra=(*types, "--id-token-signed-response-alg", alg))[0]
        for alg in ("RS256", "ES256")
    }
    made["code"] = register_clients(op)[0]
    return made


def land(browser, url, redirect_uri, user):
    """Follow the authorization request like a browser (login, consent) until the OP sends the user to
    ``redirect_uri``: by a redirect, returning its fragment's (or query's) parameters, or by a
    form_post page, returning its fields; and how it came: "fragment", "query" or "form_post"."""
    response = browser.get(url, allow_redirects=False)
    for _ in range(10):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(redirect_uri):
                parts = urlsplit(location)
                return dict(parse_qsl(parts.fragment or parts.query)), "fragment" if parts.fragment else "query"
            response = browser.get(location, allow_redirects=False)
            continue
        assert response.status_code == 200, response.text[:1000]
        path = urlsplit(response.url).path
        form = hidden_fields(response.text)
        if path == LOGIN_PATH:
            form.update(username=user.username, password=user.password)
        elif path == CONSENT_PATH:
            form["decision"] = "allow"
        else:  # the form_post page: its form goes to the client
            assert f'<form method="post" action="{redirect_uri}">' in response.text
            csp = response.headers["Content-Security-Policy"]
            assert "form-action https://rp.example;" in csp and "default-src 'none'" in csp
            return form, "form_post"
        response = browser.post(response.url, data=form, allow_redirects=False)
    raise AssertionError("no response reached the client")


def request(client, discovery, user, response_type, **params):
    """The authorization request as authlib builds it; returns (response parameters, mode, sent)."""
    rp = oauth_session(client)
    sent = {"nonce": params.pop("nonce", "n-" + response_type.replace(" ", "-")), "verifier": "v" * 50}
    if sent["nonce"] is not None:
        params["nonce"] = sent["nonce"]
    if "code" in response_type.split():  # authlib adds PKCE by itself for response_type=code only
        params.update(code_challenge=create_s256_code_challenge(sent["verifier"]), code_challenge_method="S256")
    url, state = rp.create_authorization_url(discovery["authorization_endpoint"], response_type=response_type, **params)
    result, mode = land(new_session(), url, client.redirect_uri, user)
    return result, mode, {**sent, "state": state, "rp": rp}


def validate(id_token, discovery, client, nonce, response_type, **params):
    """authlib's validation of a front-channel ID token (``c_hash`` with a code, ``at_hash`` with a token)."""
    claims_cls = HybridIDToken if "code" in response_type else ImplicitIDToken
    options = {
        "iss": {"essential": True, "value": discovery["issuer"]},
        "aud": {"essential": True, "value": client.client_id},
    }
    claims = jwt.decode(
        id_token,
        JsonWebKey.import_key_set(fetch_jwks(discovery)),
        claims_cls=claims_cls,
        claims_options=options,
        claims_params={"nonce": nonce, "client_id": client.client_id, **params},
    )
    claims.validate(leeway=5)
    return claims


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
@pytest.mark.parametrize("mode", ["fragment", "form_post"])
@pytest.mark.parametrize("response_type", FRONT)
def test_each_type_in_each_mode(op, discovery, clients, op_user, response_type, mode, alg):
    client = clients[alg]
    params = {"response_mode": "form_post"} if mode == "form_post" else {}
    result, came, sent = request(client, discovery, op_user, response_type, **params)
    assert came == mode
    assert result["state"] == sent["state"] and result["iss"] == discovery["issuer"]
    assert set(response_type.split()) - {"token"} <= set(result) and "refresh_token" not in result
    if "token" in response_type.split():
        assert result["token_type"] == "Bearer" and int(result["expires_in"]) > 0
        info = new_session().get(
            discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {result['access_token']}"}
        )
        assert info.status_code == 200 and info.json()["email"] == op_user.email
    else:
        assert "access_token" not in result
    front = None
    if "id_token" in result:
        hashed = {k: result[k] for k in ("code", "access_token") if k in result}
        front = validate(result["id_token"], discovery, client, sent["nonce"], response_type, **hashed)
        assert jwt_header(result["id_token"])["alg"] == alg
        assert ("c_hash" in front) == ("code" in result) and ("at_hash" in front) == ("access_token" in result)
        # OIDC Core §5.4: the scopes' claims go in the ID token only for response_type id_token
        assert PROFILE <= set(front) if response_type == "id_token" else not PROFILE & set(front)
    if "code" in result:  # authlib redeems the code; the token endpoint's ID token matches (§3.3.3.6)
        token = sent["rp"].fetch_token(
            discovery["token_endpoint"], code=result["code"], state=sent["state"], code_verifier=sent["verifier"]
        )
        later = validate_id_token(
            token["id_token"],
            fetch_jwks(discovery),
            issuer=discovery["issuer"],
            client_id=client.client_id,
            nonce=sent["nonce"],
            access_token=token["access_token"],
        )
        if front is not None:
            assert (later["sub"], later["iss"]) == (front["sub"], front["iss"])


def jwt_header(token):
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def test_discovery_lists_exactly_the_enabled_types(op_discovery, discovery):
    assert op_discovery["response_types_supported"] == ["code"]  # the default OP
    assert "implicit" not in op_discovery["grant_types_supported"]
    assert discovery["response_types_supported"] == ALL
    assert "implicit" in discovery["grant_types_supported"]
    assert discovery["response_modes_supported"] == ["query", "fragment", "form_post"]


def error_of(result, mode="fragment"):
    params, came = result
    assert came == mode, params
    assert not {"code", "id_token", "access_token"} & set(params)
    return params["error"], params["error_description"]


def test_a_type_not_enabled_at_the_op_is_unsupported(op_server, op_discovery, make_client, op_user):
    client = make_client()
    for response_type in FRONT:
        result, came, _ = request(client, op_discovery, op_user, response_type)
        assert error_of((result, came)) == ("unsupported_response_type", "response_type is not supported")


def test_a_type_the_client_did_not_register_is_unauthorized(discovery, clients, op_user):
    for response_type in FRONT:
        result, came, _ = request(clients["code"], discovery, op_user, response_type)
        assert error_of((result, came)) == (
            "unauthorized_client",
            "The client is not registered for this response_type",
        )


def test_query_is_refused_for_tokens(discovery, clients, op_user):
    for response_type in FRONT:
        result, came, _ = request(clients["RS256"], discovery, op_user, response_type, response_mode="query")
        assert error_of((result, came), "query") == (
            "invalid_request",
            "response_mode query must not carry tokens: use fragment or form_post",
        )


def test_a_nonce_is_required(discovery, clients, op_user):
    for response_type in FRONT:
        result, came, _ = request(clients["RS256"], discovery, op_user, response_type, nonce=None)
        assert error_of((result, came)) == (
            "invalid_request",
            "nonce is required for this response_type (OIDC Core §3.2.2.1, §3.3.2.11)",
        )


def test_registration_takes_only_the_enabled_types(op_discovery, discovery):
    hybrid = {
        "redirect_uris": ["https://rp.example/cb"],
        "response_types": ["code id_token"],
        "grant_types": ["authorization_code", "implicit"],
    }
    response = new_session().post(op_discovery["registration_endpoint"], json=hybrid)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": "response_types: Not enabled at this provider: code id_token. Enabled: code.",
    }
    response = new_session().post(discovery["registration_endpoint"], json=hybrid)
    assert response.status_code == 201, response.text
    assert response.json()["response_types"] == ["code id_token"]
    response = new_session().post(
        discovery["registration_endpoint"], json={**hybrid, "grant_types": ["authorization_code"]}
    )
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": "response_types: These response types need the grant type(s) implicit "
        "(OIDC Registration §2).",
    }
