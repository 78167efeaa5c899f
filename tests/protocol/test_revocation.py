"""Token revocation (RFC 7009)."""

import pytest

from oidc_provider.server import get_server
from tests import flows


def test_revoking_an_access_token_revokes_only_it(tokens, http):
    response = flows.revoke(http, tokens["access_token"], token_type_hint="access_token")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert flows.userinfo(http, tokens["access_token"]).status_code == 401
    assert flows.introspect(http, tokens["access_token"]).json() == {"active": False}
    assert flows.refresh(http, tokens["refresh_token"]).status_code == 200


def test_revoking_a_refresh_token_revokes_every_token_of_its_grant(tokens, http):
    """RFC 7009 §2.1; defect 46: stock revokes only the refresh token."""
    new = flows.refresh(http, tokens["refresh_token"]).json()
    assert flows.revoke(http, new["refresh_token"], token_type_hint="refresh_token").status_code == 200
    assert flows.error_of(flows.refresh(http, new["refresh_token"])) == "invalid_grant"
    for access_token in (tokens["access_token"], new["access_token"]):
        assert flows.userinfo(http, access_token).status_code == 401


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "bogus"])
def test_a_wrong_hint_still_finds_the_token(tokens, http, hint):
    assert flows.revoke(http, tokens["refresh_token"], token_type_hint=hint).status_code == 200
    assert flows.introspect(http, tokens["refresh_token"]).json() == {"active": False}


@pytest.mark.parametrize("value", ["nonsense", "a.b.c", "Z0FBQUFBQnJCX1Y0" * 20, "id_token"])
def test_unknown_and_malformed_tokens_answer_200(tokens, http, value):
    response = flows.revoke(http, tokens.get(value, value))
    assert response.status_code == 200
    assert flows.userinfo(http, tokens["access_token"]).status_code == 200


def test_revoking_twice_answers_200(tokens, http):
    assert flows.revoke(http, tokens["access_token"]).status_code == 200
    assert flows.revoke(http, tokens["access_token"]).status_code == 200


@pytest.mark.parametrize("name", ["access_token", "refresh_token"])
def test_revoking_another_clients_token_answers_200_and_changes_nothing(tokens, http, name):
    """RFC 7009 §2.2: the answer must not tell another client (or whoever holds its credentials) that
    a value is a live token; the code before this fix said so with 400 invalid_grant."""
    flows.make_client("rp2", "other")
    response = flows.revoke(http, tokens[name], "rp2", "other")
    assert response.status_code == 200 and response.content == flows.revoke(http, "nonsense", "rp2", "other").content
    assert flows.userinfo(http, tokens["access_token"]).status_code == 200
    assert flows.introspect(http, tokens[name]).json()["active"] is True


def test_an_authorization_code_is_an_unsupported_token_type(offline_rp, browser, http):
    code, verifier = flows.get_code(browser)
    assert flows.error_of(flows.revoke(http, code)) == "unsupported_token_type"
    assert flows.redeem(http, code, verifier).status_code == 200


def test_a_public_client_revokes_its_own_tokens_with_its_client_id(db, browser, http):
    tokens = flows.public_offline_tokens(browser, http)
    assert http.post("/oidc/revoke", {"token": tokens["refresh_token"], "client_id": "spa"}).status_code == 200
    assert flows.userinfo(http, tokens["access_token"]).status_code == 401


@pytest.mark.parametrize(
    "headers, data",
    [
        ({}, {}),
        ({"HTTP_AUTHORIZATION": flows.basic("rp1", "wrong")}, {}),
        ({"HTTP_AUTHORIZATION": "Basic !!!"}, {}),
        ({}, {"client_id": "rp1"}),  # a confidential client may not pass as public
        ({}, {"client_id": "nobody"}),
    ],
)
def test_unauthenticated_callers_get_401(tokens, http, headers, data):
    response = http.post("/oidc/revoke", {"token": tokens["access_token"], **data}, **headers)
    assert flows.error_of(response, 401) == "invalid_client"
    assert flows.userinfo(http, tokens["access_token"]).status_code == 200


@pytest.mark.parametrize("data", [{}, {"token": ""}])
def test_missing_token_is_invalid_request(offline_rp, http, data):
    assert flows.error_of(http.post("/oidc/revoke", data, HTTP_AUTHORIZATION=flows.basic())) == "invalid_request"


def test_get_is_refused(offline_rp, http):
    assert http.get("/oidc/revoke").status_code == 405


def test_requests_leave_no_state_on_the_shared_endpoint(tokens, http):
    """Defect 46: stock writes each request's token types and policy on the endpoint
    object that every thread shares."""
    endpoint = get_server().get_endpoint("token_revocation")
    before = dict(vars(endpoint))
    assert flows.revoke(http, tokens["access_token"]).status_code == 200
    assert vars(endpoint) == before
