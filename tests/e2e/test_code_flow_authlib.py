"""The authorization code flow with PKCE, played by an authlib RP against the running OP."""

import base64
import time
from urllib.parse import quote_plus

import pytest

from tests.e2e.browser import new_session
from tests.e2e.rp import InvalidIDToken, authorization_response, code_flow, fetch_jwks, redeem, validate_id_token

pytestmark = pytest.mark.live


def flow_and_validate(client, op_user, op_discovery, **params):
    token, sent = code_flow(
        client, op_user, op_discovery["authorization_endpoint"], op_discovery["token_endpoint"], **params
    )
    assert token["token_type"].lower() == "bearer"
    assert token["expires_in"] > 0
    claims = validate_id_token(
        token["id_token"],
        fetch_jwks(op_discovery),
        issuer=op_discovery["issuer"],
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
        max_age=params.get("max_age"),
    )
    return token, claims, sent


def userinfo(op_discovery, access_token):
    return new_session().get(op_discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"})


def test_code_flow_with_pkce_and_id_token(make_client, op_user, op_discovery):
    client = make_client()
    token, claims, sent = flow_and_validate(client, op_user, op_discovery)
    assert sent["response"]["iss"] == op_discovery["issuer"]  # RFC 9207
    assert claims.header["alg"] == "RS256"
    assert claims.header["kid"] in {k["kid"] for k in fetch_jwks(op_discovery)["keys"]}
    assert claims["aud"] in (client.client_id, [client.client_id])

    response = userinfo(op_discovery, token["access_token"])
    assert response.status_code == 200
    info = response.json()
    assert info["sub"] == claims["sub"]
    assert info["email"] == op_user.email
    assert info["given_name"] == op_user.given_name
    assert info["family_name"] == op_user.family_name
    assert info["preferred_username"] == op_user.username


def test_id_token_validation_rejects_what_it_should(make_client, op_user, op_discovery):
    """The validator itself: a wrong nonce, access token (at_hash), audience or signature fails."""
    client = make_client()
    token, _, sent = flow_and_validate(client, op_user, op_discovery)
    jwks = fetch_jwks(op_discovery)
    expected = {
        "issuer": op_discovery["issuer"],
        "client_id": client.client_id,
        "nonce": sent["nonce"],
        "access_token": token["access_token"],
    }
    for wrong in ({"nonce": "other"}, {"access_token": "other"}, {"client_id": "other"}, {"issuer": "other"}):
        with pytest.raises(InvalidIDToken):
            validate_id_token(token["id_token"], jwks, **{**expected, **wrong})
    header, _, signature = token["id_token"].split(".")
    forged = base64.urlsafe_b64encode(b'{"sub": "mallory"}').rstrip(b"=").decode()
    with pytest.raises(InvalidIDToken):
        validate_id_token(f"{header}.{forged}.{signature}", jwks, **expected)


def test_max_age_gives_recent_auth_time(make_client, op_user, op_discovery):
    started = int(time.time())
    _, claims, _ = flow_and_validate(make_client(), op_user, op_discovery, max_age=300)
    assert started - 1 <= claims["auth_time"] <= time.time()


def test_same_sub_for_the_same_user_across_clients(make_client, op_user, op_discovery):
    _, first, _ = flow_and_validate(make_client(), op_user, op_discovery)
    _, second, _ = flow_and_validate(make_client(), op_user, op_discovery)
    assert first["sub"] == second["sub"]  # a public client: one sub for every client


def test_client_secret_post(make_client, op_user, op_discovery):
    client = make_client(auth_method="client_secret_post")
    token, claims, _ = flow_and_validate(client, op_user, op_discovery)
    assert userinfo(op_discovery, token["access_token"]).json()["sub"] == claims["sub"]


def test_public_client(make_client, op_user, op_discovery):
    """No secret (token_endpoint_auth_method none): PKCE is what binds the code to this RP."""
    client = make_client(auth_method="none")
    token, claims, _ = flow_and_validate(client, op_user, op_discovery)
    assert userinfo(op_discovery, token["access_token"]).json()["sub"] == claims["sub"]


def test_secret_needing_form_urlencoding_via_basic(make_client, op_user, op_discovery):
    """RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding (as openid-client does)."""
    client = make_client(secret="a+b/c:d%e f")
    result, sent = authorization_response(client, op_user, op_discovery["authorization_endpoint"])
    credentials = f"{quote_plus(client.client_id)}:{quote_plus(client.client_secret)}"
    basic = "Basic " + base64.b64encode(credentials.encode()).decode()
    response = redeem(
        op_discovery["token_endpoint"],
        client,
        result["code"],
        sent["verifier"],
        auth=None,
        headers={"Authorization": basic},
    )
    assert response.status_code == 200, response.text
    token = response.json()
    validate_id_token(
        token["id_token"],
        fetch_jwks(op_discovery),
        issuer=op_discovery["issuer"],
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
    )


def test_second_client_in_the_same_browser_skips_login(make_client, op_user, op_discovery):
    """Single sign-on: the OP session from the first flow serves the second client (consent only)."""
    browser = new_session()
    first = make_client()
    authorization_response(first, op_user, op_discovery["authorization_endpoint"], browser=browser)
    second = make_client()
    result, _ = authorization_response(second, None, op_discovery["authorization_endpoint"], browser=browser)
    assert "code" in result
