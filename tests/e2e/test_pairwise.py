"""Pairwise subject identifiers (OpenID Connect Core 1.0 §8.1) against the running OP, from authlib."""

import uuid

import pytest

from tests.e2e import test_logout
from tests.e2e.browser import new_session
from tests.e2e.rp import code_flow, fetch_jwks, validate_id_token, validate_logout_token
from tests.e2e.test_logout import assert_signed_out, end_session, introspection
from tests.jwks_server import JWKSServer

pytestmark = pytest.mark.live

PAIRWISE = ("--subject-type", "pairwise")
signed_in = test_logout.signed_in  # the fixture


def subs(client, op_user, op_discovery):
    """One code flow: the sub of the validated ID token, of userinfo and of introspection."""
    token, sent = code_flow(client, op_user, op_discovery["authorization_endpoint"], op_discovery["token_endpoint"])
    claims = validate_id_token(
        token["id_token"],
        fetch_jwks(op_discovery),
        issuer=op_discovery["issuer"],
        client_id=client.client_id,
        nonce=sent["nonce"],
        access_token=token["access_token"],
    )
    info = new_session().get(
        op_discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert info.status_code == 200, info.text
    introspected = introspection(op_discovery, client, token["access_token"])
    assert introspected["active"] is True
    return {claims["sub"], info.json()["sub"], introspected["sub"]}


def test_pairwise_and_public_clients_see_different_stable_subs(make_client, op_user, op_discovery):
    assert "pairwise" in op_discovery["subject_types_supported"]
    public, pairwise, same_sector = make_client(), make_client(extra=PAIRWISE), make_client(extra=PAIRWISE)
    [public_sub] = subs(public, op_user, op_discovery)
    [pairwise_sub] = subs(pairwise, op_user, op_discovery)
    assert public_sub != pairwise_sub
    assert subs(pairwise, op_user, op_discovery) == {pairwise_sub}  # stable across flows (and workers)
    assert subs(public, op_user, op_discovery) == {public_sub}
    assert subs(same_sector, op_user, op_discovery) == {pairwise_sub}  # one sector, one sub


@pytest.fixture
def sector_server():
    server = JWKSServer()  # http on 127.0.0.1: the live OP runs with DEBUG and OUTBOUND_ALLOWED_HOSTS
    yield server
    server.close()


def test_registration_refuses_a_sector_document_missing_a_redirect_uri(op_discovery, rp_server, sector_server):
    uris = [f"{rp_server.url}/cb/{uuid.uuid4().hex[:8]}", f"http://localhost:{rp_server.url.rsplit(':', 1)[1]}/cb"]
    sector_server.document = uris[:1]
    body = {"redirect_uris": uris, "subject_type": "pairwise", "sector_identifier_uri": sector_server.url}
    response = new_session().post(op_discovery["registration_endpoint"], json=body)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": f"sector_identifier_uri does not list the redirect URI {uris[1]} "
        "(OpenID Connect Registration 1.0 §5).",
    }
    body.pop("sector_identifier_uri")
    response = new_session().post(op_discovery["registration_endpoint"], json=body)
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": "A pairwise client with redirect URIs on more than one host needs a "
        "sector_identifier_uri (OpenID Connect Core 1.0 §8.1).",
    }


def test_an_id_token_hint_with_a_pairwise_sub_logs_out_its_user(
    op_server, op_discovery, signed_in, rp_server, sector_server
):
    name = uuid.uuid4().hex[:10]
    redirect_uri = f"{rp_server.url}/cb/{name}"
    sector_server.document = [redirect_uri]
    browser = new_session()
    client, _, token, claims = signed_in(
        browser,
        redirect_uris=[redirect_uri],
        post_logout_redirect_uris=[f"{rp_server.url}/bye/{name}"],
        backchannel_logout_uri=f"{rp_server.url}/bc/{name}",
        subject_type="pairwise",
        sector_identifier_uri=sector_server.url,
    )
    assert sector_server.fetches == 1
    [sub] = {claims["sub"], introspection(op_discovery, client, token["access_token"])["sub"]}
    response, _ = end_session(browser, op_discovery, id_token_hint=token["id_token"])
    assert response.status_code == 200  # a self-registered client: the person clicks on
    delivered = rp_server.wait_for(f"/bc/{name}", timeout=10)
    logout_claims = validate_logout_token(
        delivered["form"]["logout_token"][0],
        fetch_jwks(op_discovery),
        issuer=op_server.issuer,
        client_id=client.client_id,
        id_token_claims=claims,
    )
    assert logout_claims["sub"] == sub
    assert_signed_out(browser, op_discovery, client, token)
