"""The ``claims`` parameter's members besides ``userinfo`` and ``id_token`` (OIDC Core §5.5 defines only
those two; "any members used that are not understood MUST be ignored"). idpyoidc reads two more,
``access_token`` and ``introspection``, and releases the claims they name into JWT access tokens and
introspection responses: neither the consent page nor a remembered consent saw them, and a junk claim
request in them made the token endpoint answer 500 (as defect 104 did for the two standard members)."""

import json

import pytest

from oidc_provider.models import Client, Consent
from tests import flows

PERSONAL = {"email": None, "given_name": None, "family_name": None}


@pytest.fixture
def jwt_rp(rp):
    Client.objects.filter(client_id="rp1").update(access_token_format="jwt")
    return rp


@pytest.mark.parametrize("member", ["access_token", "introspection"])
def test_a_remembered_consent_to_openid_releases_no_personal_claim_into_the_access_token(jwt_rp, browser, http, member):
    flows.get_tokens(browser, http, scope="openid")  # alice allows openid only: her identifier
    assert Consent.objects.get().scopes == ["openid"]
    claims = json.dumps({member: PERSONAL})
    response = browser.get(
        "/oidc/authorize", flows.auth_params(flows.pkce_pair()[1], scope="openid", claims=claims, prompt="none")
    )
    params = flows.query(response)
    if "code" in params:  # no page asked her: the claims must not have been released either
        tokens = flows.get_tokens(browser, http, scope="openid", claims=claims, prompt="none")
        released = set(flows.jwt_claims(tokens["access_token"])) | set(
            flows.introspect(http, tokens["access_token"]).json()
        )
        assert not released & set(PERSONAL), f"released without consent: {sorted(released & set(PERSONAL))}"
    else:
        assert params["error"] == "consent_required"


@pytest.mark.parametrize(
    "claims",
    [
        {"access_token": {"email": 5}},
        {"access_token": {"email": {"values": 3}}},
        {"introspection": {"email": 5}},
        {"introspection": {"email": {"values": "alice@example.com"}}},
    ],
)
@pytest.mark.parametrize("access_token_format", ["opaque", "jwt"])
def test_junk_claim_requests_in_the_other_members_never_reach_a_500(rp, browser, http, claims, access_token_format):
    Client.objects.filter(client_id="rp1").update(skip_consent=True, access_token_format=access_token_format)
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1], claims=json.dumps(claims)))
    params = flows.query(response)
    if "code" in params:
        code, verifier = flows.get_code(browser, claims=json.dumps(claims))
        token = flows.redeem(http, code, verifier)
        assert token.status_code == 200, token.content
        assert flows.introspect(http, token.json()["access_token"]).status_code == 200
    else:
        assert params["error"] == "invalid_request"
