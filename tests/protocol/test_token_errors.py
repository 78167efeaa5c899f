"""Token endpoint errors (RFC 6749 §5.2) and client authentication (§2.3.1)."""

import base64

import pytest

from oidc_provider.models import Client
from tests import flows
from tests.flows import error_of


def test_wrong_secret_is_401_invalid_client_with_challenge(rp, browser, http):
    code, verifier = flows.get_code(browser)
    response = flows.redeem(http, code, verifier, secret="wrong")
    assert error_of(response, 401) == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic ")


def test_unknown_client_is_401(rp, browser, http):
    code, verifier = flows.get_code(browser)
    assert error_of(flows.redeem(http, code, verifier, client_id="nobody"), 401) == "invalid_client"


def test_no_client_authentication_is_401(rp, browser, http):
    code, verifier = flows.get_code(browser)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
    }
    assert error_of(http.post("/oidc/token", data), 401) == "invalid_client"


@pytest.mark.parametrize(
    "header",
    [
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer x",
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ],
)
def test_broken_authorization_headers_are_401(rp, browser, http, header):
    code, verifier = flows.get_code(browser)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
    }
    assert error_of(http.post("/oidc/token", data, HTTP_AUTHORIZATION=header), 401) == "invalid_client"


def test_client_secret_post_works(rp, browser, http):
    client = Client.objects.get(client_id="rp1")
    client.token_endpoint_auth_method = "client_secret_post"
    client.save()
    code, verifier = flows.get_code(browser)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": "rp1",
        "client_secret": "s3cret",
    }
    assert http.post("/oidc/token", data).status_code == 200


def test_registered_auth_method_is_enforced(rp, browser, http):
    """Defect 18: the registered token_endpoint_auth_method (here basic) is the only one accepted."""
    code, verifier = flows.get_code(browser)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": "rp1",
        "client_secret": "s3cret",
    }
    assert error_of(http.post("/oidc/token", data), 401) == "invalid_client"


def test_basic_credentials_are_form_urldecoded(db, user, http):
    """Defect 24: RFC 6749 §2.3.1 — id and secret are form-urlencoded before Basic encoding."""
    secret = "a+b/c:d%e é"
    flows.make_client("rp:1", secret)
    browser = http.__class__()
    browser.login(username="alice", password="pw")
    code, verifier = flows.get_code(browser, client_id="rp:1")
    from urllib.parse import quote_plus

    encoded = base64.b64encode(f"{quote_plus('rp:1')}:{quote_plus(secret)}".encode()).decode()
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
    }
    assert http.post("/oidc/token", data, HTTP_AUTHORIZATION="Basic " + encoded).status_code == 200


def test_client_secret_is_stored_hashed(rp):
    client = Client.objects.get(client_id="rp1")
    assert "s3cret" not in client.client_secret_hash
    assert client.check_secret("s3cret") and not client.check_secret("s3cre") and not client.check_secret(None)


def test_redirect_uri_mismatch_is_invalid_grant(rp, browser, http):
    """Defect 22: stock answers invalid_request."""
    code, verifier = flows.get_code(browser)
    assert error_of(flows.redeem(http, code, verifier, redirect_uri="https://rp.example/other")) == "invalid_grant"


def test_missing_redirect_uri_is_invalid_grant(rp, browser, http):
    """RFC 6749 §4.1.3: required when the authorization request had one."""
    code, verifier = flows.get_code(browser)
    assert error_of(flows.redeem(http, code, verifier, redirect_uri=None)) == "invalid_grant"


def test_missing_code_is_invalid_request(rp, http):
    """Defect 22: stock answers invalid_grant."""
    data = {"grant_type": "authorization_code", "redirect_uri": flows.REDIRECT_URI}
    assert error_of(http.post("/oidc/token", data, HTTP_AUTHORIZATION=flows.basic())) == "invalid_request"


def test_unknown_code_is_invalid_grant(rp, http):
    for code in ("nonsense", "Z0FBQUFBQnJCX1Y0" * 20, "\x00"):
        assert error_of(flows.redeem(http, code, "x" * 43)) == "invalid_grant"
    # an empty code is a missing one (RFC 6749 §5.2)
    assert error_of(flows.redeem(http, "", "x" * 43)) == "invalid_request"


def test_unknown_grant_type_is_unsupported_grant_type(rp, http):
    """Defect 22: stock answers invalid_request."""
    response = http.post("/oidc/token", {"grant_type": "urn:made:up"}, HTTP_AUTHORIZATION=flows.basic())
    assert error_of(response) == "unsupported_grant_type"


def test_grant_type_not_allowed_for_client_is_unauthorized_client(rp, browser, http):
    """Defect 25: the client's registered grant_types are enforced."""
    code, verifier = flows.get_code(browser)
    Client.objects.filter(client_id="rp1").update(grant_types=["refresh_token"])
    assert error_of(flows.redeem(http, code, verifier)) == "unauthorized_client"


@pytest.mark.parametrize("client_id", [None, "rp1"])
def test_token_endpoint_never_skips_client_authentication(rp, browser, http, client_id):
    """Defect 31: idpyoidc's "none" method lets a request with no client at all through (it redeemed
    the code); a confidential client's client_id alone is no authentication either."""
    code, verifier = flows.get_code(browser)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": client_id,
    }
    assert error_of(http.post("/oidc/token", {k: v for k, v in data.items() if v}), 401) == "invalid_client"


def test_revocation_never_skips_client_authentication(tokens, http):
    """Defect 31 at the revocation endpoint: with "none" a request with no client revoked any token."""
    response = http.post("/oidc/revoke", {"token": tokens["access_token"]})
    assert error_of(response, 401) == "invalid_client"
    assert flows.introspect(http, tokens["access_token"]).json()["active"] is True


def test_missing_grant_type_is_invalid_request(rp, http):
    assert error_of(http.post("/oidc/token", {}, HTTP_AUTHORIZATION=flows.basic())) == "invalid_request"


def test_repeated_parameter_is_invalid_request(rp, browser, http):
    code, verifier = flows.get_code(browser)
    data = {
        "grant_type": "authorization_code",
        "code": [code, code],
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
    }
    assert error_of(http.post("/oidc/token", data, HTTP_AUTHORIZATION=flows.basic())) == "invalid_request"


def test_token_endpoint_refuses_get(rp, http):
    assert http.get("/oidc/token").status_code == 405


def test_code_of_another_client_is_invalid_grant(rp, browser, http):
    flows.make_client("rp2", "other")
    code, verifier = flows.get_code(browser)
    assert error_of(flows.redeem(http, code, verifier, client_id="rp2", secret="other")) == "invalid_grant"
