"""The token requests of the use cases in idpyoidc's documentation (its Examples page), sent
as written (form-encoded, the same fields, ``verify=False``) to the live OP, with a client made by
``createclient``; each answer checked field by field against the document's shape."""

import base64
import json
import time

import pytest

from tests.e2e.browser import new_session
from tests.e2e.rp import code_flow, fetch_jwks, validate_id_token

pytestmark = pytest.mark.live

USE_CASE_SCOPE = "openid profile email address phone offline_access"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
AT_TYPE = "urn:ietf:params:oauth:token-type:access_token"
RT_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"
# the use cases send client_secret in the body, and introspect with HTTP Basic
CLIENT_ARGS = (
    "--grant-type",
    "authorization_code",
    "--grant-type",
    "refresh_token",
    "--grant-type",
    EXCHANGE,
    "--token-exchange-policy",
    json.dumps(
        {
            "subject_token_types": ["access_token", "refresh_token"],
            "requested_token_types": ["access_token", "refresh_token"],
            "audiences": ["orders-api"],
        }
    ),
)


@pytest.fixture
def client(make_client):
    return make_client(auth_method="client_secret_post", scope=USE_CASE_SCOPE, extra=CLIENT_ARGS)


@pytest.fixture
def tokens(client, op_user, op_discovery):
    """The code flow with offline_access (prompt=consent): the token response and what was sent."""
    token, sent = code_flow(
        client, op_user, op_discovery["authorization_endpoint"], op_discovery["token_endpoint"], prompt="consent"
    )
    assert token["refresh_token"] and token["scope"] == USE_CASE_SCOPE
    return token, sent


def refresh_as_written(token_endpoint, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN):
    data = {
        "grant_type": "refresh_token",
        "client_id": f"{CLIENT_ID}",
        "client_secret": f"{CLIENT_SECRET}",
        "refresh_token": f"{REFRESH_TOKEN}",
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return new_session().post(token_endpoint, verify=False, data=data, headers=headers)


def introspect_as_written(introspection_endpoint, CLIENT_ID, CLIENT_SECRET, TOKEN):
    data = {"token": TOKEN, "token_type_hint": "access_token"}
    _basic_secret = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode())
    headers = {"Authorization": f"Basic {_basic_secret.decode()}"}
    return new_session().post(introspection_endpoint, verify=False, data=data, headers=headers)


def exchange_as_written(token_endpoint, CLIENT_ID, CLIENT_SECRET, SUBJECT_TOKEN, REQUESTED_TOKEN_TYPE):
    data = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "requested_token_type": f"{REQUESTED_TOKEN_TYPE}",
        "client_id": f"{CLIENT_ID}",
        "client_secret": f"{CLIENT_SECRET}",
        "subject_token": f"{SUBJECT_TOKEN}",
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return new_session().post(token_endpoint, verify=False, data=data, headers=headers)


def test_refresh_token(client, tokens, op_discovery):
    token, sent = tokens
    response = refresh_as_written(
        op_discovery["token_endpoint"], client.client_id, client.client_secret, token["refresh_token"]
    )
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["access_token"] and body["access_token"] != token["access_token"]
    assert body["token_type"] == "Bearer"
    assert body["scope"] == USE_CASE_SCOPE
    assert body["refresh_token"] and body["refresh_token"] != token["refresh_token"]
    assert 0 < body["expires_in"] <= 3600
    claims = validate_id_token(
        body["id_token"],
        fetch_jwks(op_discovery),
        issuer=op_discovery["issuer"],
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=body["access_token"],
    )
    assert (
        claims["sub"]
        == validate_id_token(
            token["id_token"],
            fetch_jwks(op_discovery),
            issuer=op_discovery["issuer"],
            client_id=client.client_id,
            nonce=sent["nonce"],
            access_token=token["access_token"],
        )["sub"]
    )


def test_replayed_refresh_token_kills_its_family(client, tokens, op_discovery):
    """Presented again within REFRESH_TOKEN_REUSE_WINDOW (5 s) it is a retry, refused; after it, a
    replay: every token of the grant dies."""
    token, _ = tokens
    args = (op_discovery["token_endpoint"], client.client_id, client.client_secret)
    new = refresh_as_written(*args, token["refresh_token"]).json()
    retry = refresh_as_written(*args, token["refresh_token"])
    assert retry.json() == {"error": "invalid_grant", "error_description": "Refresh token already used"}
    time.sleep(6.1)
    replay = refresh_as_written(*args, token["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert refresh_as_written(*args, new["refresh_token"]).json()["error"] == "invalid_grant"
    for access_token in (token["access_token"], new["access_token"]):
        answer = introspect_as_written(
            op_discovery["introspection_endpoint"], client.client_id, client.client_secret, access_token
        )
        assert answer.json() == {"active": False}


def test_introspection_with_basic_auth(client, tokens, op_discovery):
    token, sent = tokens
    started = int(time.time())
    response = introspect_as_written(
        op_discovery["introspection_endpoint"], client.client_id, client.client_secret, token["access_token"]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    sub = validate_id_token(
        token["id_token"],
        fetch_jwks(op_discovery),
        issuer=op_discovery["issuer"],
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
    )["sub"]
    assert set(body) == {"active", "scope", "client_id", "token_type", "exp", "iat", "sub", "iss", "aud"}
    assert body["active"] is True
    assert body["scope"] == USE_CASE_SCOPE
    assert body["client_id"] == client.client_id
    assert body["token_type"] == "Bearer"
    assert body["exp"] == body["iat"] + 3600
    assert started - 60 <= body["iat"] <= started + 1
    assert body["sub"] == sub
    assert body["iss"] == op_discovery["issuer"]
    assert body["aud"] == [client.client_id]


def test_revoked_and_logged_out_tokens_introspect_inactive(client, tokens, op_discovery, op_server):
    token, _ = tokens
    introspect = lambda value: introspect_as_written(  # noqa: E731
        op_discovery["introspection_endpoint"], client.client_id, client.client_secret, value
    ).json()
    revoked = new_session().post(
        op_discovery["revocation_endpoint"],
        data={"token": token["access_token"]},
        auth=(client.client_id, client.client_secret),
    )
    assert revoked.status_code == 200 and introspect(token["access_token"]) == {"active": False}
    assert introspect(token["refresh_token"])["active"] is True
    # logging out revokes the client's session nodes (what the admin's "revoke" and logout do)
    op_server.manage(
        "shell",
        "-c",
        (
            "from oidc_provider.models import SessionNode\nfrom oidc_provider.storage.revocation import revoke_nodes\n"
            f"revoke_nodes(SessionNode.objects.filter(kind='client', client_id={client.client_id!r}))"
        ),
    )
    assert introspect(token["refresh_token"]) == {"active": False}


def test_token_exchange_access_token(client, tokens, op_discovery):
    token, _ = tokens
    response = exchange_as_written(
        op_discovery["token_endpoint"], client.client_id, client.client_secret, token["access_token"], AT_TYPE
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "scope", "issued_token_type", "expires_in", "token_type"}
    assert body["issued_token_type"] == AT_TYPE and body["token_type"] == "Bearer"
    assert body["scope"] == USE_CASE_SCOPE
    answer = introspect_as_written(
        op_discovery["introspection_endpoint"], client.client_id, client.client_secret, body["access_token"]
    ).json()
    # now is read after a request since the token's (whole-second) iat: seconds on a loaded machine
    assert answer["active"] and abs(answer["exp"] - time.time() - body["expires_in"]) <= 5
    userinfo = new_session().get(
        op_discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert userinfo.status_code == 200 and "email" in userinfo.json()


def test_token_exchange_refresh_token(client, tokens, op_discovery):
    token, _ = tokens
    response = exchange_as_written(
        op_discovery["token_endpoint"], client.client_id, client.client_secret, token["access_token"], RT_TYPE
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == RT_TYPE and body["token_type"] == "N_A" and body["scope"] == USE_CASE_SCOPE
    refreshed = refresh_as_written(
        op_discovery["token_endpoint"], client.client_id, client.client_secret, body["access_token"]
    )
    assert refreshed.status_code == 200 and refreshed.json()["refresh_token"]


def test_token_exchange_of_a_refresh_token_without_audience(client, tokens, op_discovery):
    """The use-case rule: with a refresh-token subject, audience must not be present."""
    token, _ = tokens
    data = {
        "grant_type": EXCHANGE,
        "subject_token": token["refresh_token"],
        "subject_token_type": RT_TYPE,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    assert new_session().post(op_discovery["token_endpoint"], data=data).status_code == 200
    response = new_session().post(op_discovery["token_endpoint"], data={**data, "audience": "orders-api"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"
