"""PKCE (RFC 7636, RFC 9700 §2.1.1)."""

from django.core.management import call_command

from tests import flows


def redirect_error(response):
    assert response.status_code == 302 and response["Location"].startswith(flows.REDIRECT_URI)
    return flows.query(response)


def test_wrong_verifier_is_invalid_grant(rp, browser, http):
    code, verifier = flows.get_code(browser)
    response = flows.redeem(http, code, flows.pkce_pair()[0])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_missing_verifier_is_invalid_grant(rp, browser, http):
    code, verifier = flows.get_code(browser)
    response = flows.redeem(http, code, None)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_verifier_without_challenge_is_refused(rp, browser, http):
    """Defect 23: a PKCE downgrade (verifier sent, no challenge made) MUST be rejected."""
    code, _ = flows.get_code(browser, code_challenge=None, code_challenge_method=None)
    response = flows.redeem(http, code, flows.pkce_pair()[0])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_confidential_client_without_pkce_still_works(rp, browser, http):
    code, _ = flows.get_code(browser, code_challenge=None, code_challenge_method=None)
    assert flows.redeem(http, code, None).status_code == 200


def test_short_verifier_is_refused(rp, browser, http):
    """Defect 23: RFC 7636 §4.1 — 43 to 128 unreserved characters."""
    import base64
    import hashlib

    verifier = "short-verifier"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    response = flows.authorize(browser, challenge)
    code = flows.query(response)["code"]
    response = flows.redeem(http, code, verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_plain_method_is_refused(rp, browser):
    verifier, _ = flows.pkce_pair()
    params = redirect_error(flows.authorize(browser, verifier, code_challenge_method="plain"))
    assert params["error"] == "invalid_request"


def test_missing_method_means_plain_and_is_refused(rp, browser):
    verifier, _ = flows.pkce_pair()
    params = redirect_error(flows.authorize(browser, verifier, code_challenge_method=None))
    assert params["error"] == "invalid_request"


def test_public_client_must_use_pkce(db, user, http):
    call_command(
        "createclient",
        "--client-id",
        "spa",
        "--public",
        "--redirect-uri",
        flows.REDIRECT_URI,
        stdout=open("/dev/null", "w"),
    )
    browser = http.__class__()
    browser.login(username="alice", password="pw")
    params = redirect_error(flows.authorize(browser, None, client_id="spa", code_challenge_method=None))
    assert params["error"] == "invalid_request"
    code, verifier = flows.get_code(browser, client_id="spa")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": "spa",
    }
    assert http.post("/oidc/token", data).status_code == 200


def test_pkce_can_be_required_per_client(db, user, http):
    flows.make_client("strict", "s", "--require-pkce")
    browser = http.__class__()
    browser.login(username="alice", password="pw")
    params = redirect_error(flows.authorize(browser, None, client_id="strict", code_challenge_method=None))
    assert params["error"] == "invalid_request"
