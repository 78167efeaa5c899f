"""DPoP (RFC 9449) in process: proofs at the token endpoint, bound tokens at userinfo and introspection,
every refusal with its exact error. Proofs are built with joserfc (tests/dpop_proofs.py)."""

import time

import pytest

from oidc_provider.idpy.dpop import InvalidProof, normalized_url, verify_proof
from oidc_provider.models import Client
from tests import flows
from tests.dpop_proofs import Holder, symmetric_proof, unsigned_proof

ISSUER = "http://testserver/oidc"
TOKEN_URL = f"{ISSUER}/token"
USERINFO_URL = f"{ISSUER}/userinfo"


@pytest.fixture
def holder():
    return Holder()


def redeem(http, code, verifier, proof=None, client_id="rp1", secret="s3cret"):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
    }
    headers = {"HTTP_DPOP": proof} if proof is not None else {}
    if secret:
        headers["HTTP_AUTHORIZATION"] = flows.basic(client_id, secret)
    else:
        data["client_id"] = client_id
    return http.post("/oidc/token", data, **headers)


def bound_tokens(browser, http, holder, **overrides):
    code, verifier = flows.get_code(browser, **overrides)
    response = redeem(http, code, verifier, holder.proof("POST", TOKEN_URL))
    assert response.status_code == 200, response.content
    return response.json()


def dpop_userinfo(http, token, proof):
    return http.get("/oidc/userinfo", HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=proof)


def refused(response, description, status=400, error="invalid_dpop_proof"):
    assert response.status_code == status, response.content
    assert response.json() == {"error": error, "error_description": description}


def test_code_flow_binds_the_access_token_to_the_proofs_key(rp, browser, http, holder):
    tokens = bound_tokens(browser, http, holder)
    assert tokens["token_type"] == "DPoP"
    info = dpop_userinfo(http, tokens["access_token"], holder.proof("GET", USERINFO_URL, tokens["access_token"]))
    assert info.status_code == 200, info.content
    assert info.json()["sub"]
    introspected = flows.introspect(http, tokens["access_token"]).json()
    assert introspected["active"] is True
    assert introspected["cnf"] == {"jkt": holder.jkt} and introspected["token_type"] == "DPoP"


def test_without_a_proof_the_token_stays_a_bearer_token(rp, browser, http):
    tokens = flows.get_tokens(browser, http)
    assert tokens["token_type"] == "Bearer"
    assert "cnf" not in flows.introspect(http, tokens["access_token"]).json()
    assert flows.userinfo(http, tokens["access_token"]).status_code == 200


def test_a_jwt_access_token_carries_cnf(db, browser, http, holder):
    flows.make_client("rp1", "s3cret", "--access-token-format", "jwt")
    tokens = bound_tokens(browser, http, holder)
    claims, _ = flows.verified_claims(http, tokens["access_token"])
    assert claims["cnf"] == {"jkt": holder.jkt}


def test_a_bound_token_presented_as_bearer_is_refused_with_a_dpop_challenge(rp, browser, http, holder):
    tokens = bound_tokens(browser, http, holder)
    response = flows.userinfo(http, tokens["access_token"])
    description = "The token is DPoP-bound: present it with the DPoP scheme and a proof"
    refused(response, description, 401, "invalid_token")
    assert response["WWW-Authenticate"] == (
        f'DPoP algs="ES256 RS256 PS256 EdDSA", error="invalid_token", error_description="{description}"'
    )


def test_a_bearer_token_presented_as_dpop_is_refused(rp, browser, http, holder):
    token = flows.get_tokens(browser, http)["access_token"]
    response = dpop_userinfo(http, token, holder.proof("GET", USERINFO_URL, token))
    refused(response, "The token is not DPoP-bound", 401, "invalid_token")


def test_a_proof_of_another_key_at_userinfo_is_refused(rp, browser, http, holder):
    token = bound_tokens(browser, http, holder)["access_token"]
    response = dpop_userinfo(http, token, Holder().proof("GET", USERINFO_URL, token))
    refused(response, "The DPoP proof's key is not the token's", 401, "invalid_token")


def test_a_wrong_ath_is_refused(rp, browser, http, holder):
    token = bound_tokens(browser, http, holder)["access_token"]
    response = dpop_userinfo(http, token, holder.proof("GET", USERINFO_URL, token + "x"))
    refused(response, "The DPoP proof's ath does not match the access token", 401)
    assert response["WWW-Authenticate"].startswith('DPoP algs="ES256 RS256 PS256 EdDSA", error="invalid_dpop_proof"')
    response = dpop_userinfo(http, token, holder.proof("GET", USERINFO_URL))  # no ath at all
    refused(response, "The DPoP proof's ath does not match the access token", 401)


def test_a_userinfo_proof_is_used_once(rp, browser, http, holder):
    token = bound_tokens(browser, http, holder)["access_token"]
    proof = holder.proof("GET", USERINFO_URL, token)
    assert dpop_userinfo(http, token, proof).status_code == 200
    refused(dpop_userinfo(http, token, proof), "The DPoP proof was already used", 401)


@pytest.mark.parametrize(
    ("make", "description"),
    [
        (lambda h: h.proof("POST", f"{ISSUER}/userinfo"), "The DPoP proof's htu does not match the request's URL"),
        (
            lambda h: h.proof("POST", "http://attacker.example/oidc/token"),
            "The DPoP proof's htu does not match the request's URL",
        ),
        (lambda h: h.proof("GET", TOKEN_URL), "The DPoP proof's htm does not match the request's method"),
        (lambda h: h.proof("POST", TOKEN_URL, iat=int(time.time()) - 120), "The DPoP proof is too old"),
        (lambda h: h.proof("POST", TOKEN_URL, iat=int(time.time()) + 60), "The DPoP proof's iat is in the future"),
        (lambda h: h.proof("POST", TOKEN_URL, iat="now"), "The DPoP proof needs an iat"),
        (lambda h: h.proof("POST", TOKEN_URL, jti=""), "The DPoP proof needs a jti"),
        (lambda h: h.proof("POST", TOKEN_URL, header={"typ": None}), "The DPoP proof's typ must be dpop+jwt"),
        (lambda h: h.proof("POST", TOKEN_URL, header={"typ": "JWT"}), "The DPoP proof's typ must be dpop+jwt"),
        (lambda h: h.proof("POST", TOKEN_URL, header={"jwk": None}), "The DPoP proof's jwk must be a public key"),
        (lambda h: h.proof_with_private_jwk("POST", TOKEN_URL), "The DPoP proof's jwk must not contain a private key"),
        (
            lambda h: h.proof("POST", TOKEN_URL, header={"jwk": Holder().key.as_dict(private=False)}),
            "The DPoP proof's signature does not verify with its jwk",
        ),
        (lambda h: symmetric_proof("POST", TOKEN_URL), "The DPoP proof's alg is not supported"),
        (lambda h: unsigned_proof(h, "POST", TOKEN_URL), "The DPoP proof is not a signed JWT"),
        (lambda h: "x" * 5000, "The DPoP proof is too large"),
        (lambda h: "a.b.c", "The DPoP proof is not a JWT"),
        (lambda h: h.proof("POST", TOKEN_URL) + "," + h.proof("POST", TOKEN_URL), "Exactly one DPoP header is allowed"),
    ],
)
def test_bad_proofs_at_the_token_endpoint(rp, browser, http, holder, make, description):
    code, verifier = flows.get_code(browser)
    refused(redeem(http, code, verifier, make(holder)), description)
    assert redeem(http, code, verifier).status_code == 200  # the refused request spent nothing


def test_a_replayed_token_proof_is_refused(rp, browser, http, holder):
    proof = holder.proof("POST", TOKEN_URL)
    code, verifier = flows.get_code(browser)
    assert redeem(http, code, verifier, proof).status_code == 200
    code, verifier = flows.get_code(browser)
    refused(redeem(http, code, verifier, proof), "The DPoP proof was already used")


def test_the_proofs_url_is_the_issuers_not_the_host_headers(rp, browser, http, holder):
    """The Host header is the client's to choose: a proof for the host it names is refused, and a proof
    for the issuer's URL is accepted whatever the Host header says."""

    def post(code, verifier, proof):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": flows.REDIRECT_URI}
        data["code_verifier"] = verifier
        headers = {"HTTP_AUTHORIZATION": flows.basic(), "HTTP_DPOP": proof, "HTTP_HOST": "evil.example"}
        return http.post("/oidc/token", data, **headers)

    code, verifier = flows.get_code(browser)
    response = post(code, verifier, holder.proof("POST", "http://evil.example/oidc/token"))
    refused(response, "The DPoP proof's htu does not match the request's URL")
    assert post(code, verifier, holder.proof("POST", TOKEN_URL + "?x=1#f")).status_code == 200


def test_htu_is_compared_after_normalisation():
    assert normalized_url("HTTP://TestServer:80/oidc/token?a=b#c") == normalized_url(TOKEN_URL)
    assert normalized_url("https://op.example:443/t") == normalized_url("https://op.example/t")
    assert normalized_url("https://op.example:8443/t") != normalized_url("https://op.example/t")
    assert normalized_url("https://op.example/T") != normalized_url("https://op.example/t")


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")  # RFC 9864 names Ed25519; cryptojwt knows EdDSA
def test_verify_proof_accepts_a_proof_at_the_edge_of_its_window(settings, holder):
    rsa, okp = Holder("RSA"), Holder("OKP")  # before ``now``: their proofs' iat must not pass it by the skew
    now = int(time.time())
    assert verify_proof([holder.proof("POST", TOKEN_URL, iat=now - 60)], "POST", TOKEN_URL, now).jkt == holder.jkt
    with pytest.raises(InvalidProof):
        verify_proof([holder.proof("POST", TOKEN_URL, iat=now - 61)], "POST", TOKEN_URL, now)
    assert verify_proof([holder.proof("POST", TOKEN_URL, iat=now + 5)], "POST", TOKEN_URL, now)
    assert verify_proof([rsa.proof("POST", TOKEN_URL)], "POST", TOKEN_URL, now).jkt == rsa.jkt
    assert verify_proof([holder.proof("POST", TOKEN_URL, iat=now - 0.5)], "POST", TOKEN_URL, now)  # a NumericDate
    assert verify_proof([okp.proof("POST", TOKEN_URL)], "POST", TOKEN_URL, now).jkt == okp.jkt


@pytest.mark.filterwarnings("ignore:Key size should be")
def test_rsa_keys_outside_2048_to_4096_bits_are_refused():
    # the keys before ``now``: a 4096-bit key takes seconds to make on a loaded machine, past the clock skew
    small, big = Holder("RSA", 1024), Holder("RSA", 4096)
    now = int(time.time())
    with pytest.raises(InvalidProof, match="^The DPoP proof's RSA key must have 2048 to 4096 bits$"):
        verify_proof([small.proof("POST", TOKEN_URL)], "POST", TOKEN_URL, now)
    assert verify_proof([big.proof("POST", TOKEN_URL)], "POST", TOKEN_URL, now).jkt == big.jkt


def test_a_client_that_requires_dpop_gets_no_token_without_a_proof(db, browser, http, holder):
    flows.make_client("rp1", "s3cret", "--dpop")
    code, verifier = flows.get_code(browser)
    refused(redeem(http, code, verifier), "This client must send a DPoP proof")
    assert redeem(http, code, verifier, holder.proof("POST", TOKEN_URL)).json()["token_type"] == "DPoP"


def test_a_dpop_jkt_code_is_redeemed_only_with_that_key(rp, browser, http, holder):
    code, verifier = flows.get_code(browser, dpop_jkt=holder.jkt)
    description = "The DPoP proof's key is not the dpop_jkt of the authorization request"
    refused(redeem(http, code, verifier), description)
    refused(redeem(http, code, verifier, Holder().proof("POST", TOKEN_URL)), description)
    tokens = redeem(http, code, verifier, holder.proof("POST", TOKEN_URL)).json()
    assert flows.introspect(http, tokens["access_token"]).json()["cnf"] == {"jkt": holder.jkt}


def test_a_dpop_jkt_form_parameter_at_the_token_endpoint_binds_nothing(db, browser, http, holder):
    """Defect 187: stock binds the grant to a dpop_jkt the client merely names in the refresh request."""
    flows.make_offline_client("rp1", "s3cret", "--access-token-format", "jwt")
    tokens = flows.offline_tokens(browser, http)
    response = flows.refresh(http, tokens["refresh_token"], dpop_jkt=holder.jkt).json()
    assert response["token_type"] == "Bearer"
    claims, _ = flows.verified_claims(http, response["access_token"])
    assert "cnf" not in claims


def public_client_tokens(browser, http, holder):
    flows.make_client("spa", None, "--public", "--scope", flows.OFFLINE_SCOPE)
    code, verifier = flows.get_code(browser, client_id="spa", scope=flows.OFFLINE_SCOPE, prompt="consent")
    response = redeem(http, code, verifier, holder.proof("POST", TOKEN_URL), client_id="spa", secret=None)
    assert response.status_code == 200, response.content
    return response.json()


def public_refresh(http, refresh_token, proof=None):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "spa"}
    return http.post("/oidc/token", data, **({"HTTP_DPOP": proof} if proof else {}))


def test_a_public_clients_refresh_token_is_bound_to_its_key(db, browser, http, holder):
    tokens = public_client_tokens(browser, http, holder)
    description = "The refresh token is bound to another DPoP key"
    refused(public_refresh(http, tokens["refresh_token"]), description)
    refused(public_refresh(http, tokens["refresh_token"], Holder().proof("POST", TOKEN_URL)), description)
    response = public_refresh(http, tokens["refresh_token"], holder.proof("POST", TOKEN_URL))
    assert response.status_code == 200, response.content
    fresh = response.json()
    assert fresh["token_type"] == "DPoP"
    refused(public_refresh(http, fresh["refresh_token"], Holder().proof("POST", TOKEN_URL)), description)
    assert public_refresh(http, fresh["refresh_token"], holder.proof("POST", TOKEN_URL)).status_code == 200


def test_a_confidential_clients_refresh_binds_the_new_access_token_to_the_new_key(offline_rp, browser, http, holder):
    tokens = flows.offline_tokens(browser, http)
    other = Holder()
    response = http.post(
        "/oidc/token",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=flows.basic(),
        HTTP_DPOP=other.proof("POST", TOKEN_URL),
    ).json()
    assert response["token_type"] == "DPoP"
    assert flows.introspect(http, response["access_token"]).json()["cnf"] == {"jkt": other.jkt}
    assert "cnf" not in flows.introspect(http, response["refresh_token"]).json()


def test_discovery_advertises_dpop_exactly_when_enabled(db, http, settings):
    assert http.get("/oidc/.well-known/openid-configuration").json()["dpop_signing_alg_values_supported"] == [
        "ES256",
        "RS256",
        "PS256",
        "EdDSA",
    ]
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "DPOP_ENABLED": False}
    assert "dpop_signing_alg_values_supported" not in http.get("/oidc/.well-known/openid-configuration").json()


def test_with_dpop_off_a_proof_is_ignored(rp, browser, http, holder, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "DPOP_ENABLED": False}
    code, verifier = flows.get_code(browser)
    assert redeem(http, code, verifier, "garbage").json()["token_type"] == "Bearer"


def test_registration_takes_dpop_bound_access_tokens(db, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_POLICY": "open"}
    body = {"redirect_uris": [flows.REDIRECT_URI], "dpop_bound_access_tokens": True}
    response = http.post("/oidc/register", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert Client.objects.get(client_id=response.json()["client_id"]).dpop_bound_access_tokens is True
    response = http.post("/oidc/register", {**body, "dpop_bound_access_tokens": "yes"}, content_type="application/json")
    assert response.json()["error_description"] == "dpop_bound_access_tokens must be true or false."


@pytest.mark.parametrize("token_format", ["opaque", "jwt"])
def test_client_credentials_tokens_are_bound(db, http, holder, token_format):
    flows.make_client("m2m", "s3cret", "--grant-type", "client_credentials", "--access-token-format", token_format)
    data = {"grant_type": "client_credentials"}
    response = http.post(
        "/oidc/token", data, HTTP_AUTHORIZATION=flows.basic("m2m"), HTTP_DPOP=holder.proof("POST", TOKEN_URL)
    ).json()
    assert response["token_type"] == "DPoP"
    answer = flows.introspect(http, response["access_token"], "m2m").json()
    assert answer["active"] is True and answer["cnf"] == {"jkt": holder.jkt} and answer["token_type"] == "DPoP"
    if token_format == "jwt":
        assert flows.verified_claims(http, response["access_token"])[0]["cnf"] == {"jkt": holder.jkt}
    bearer = flows.token_request(http, data, "m2m").json()
    assert bearer["token_type"] == "Bearer"
    assert "cnf" not in flows.introspect(http, bearer["access_token"], "m2m").json()


def test_a_client_credentials_client_that_requires_dpop(db, http, holder):
    flows.make_client("m2m", "s3cret", "--grant-type", "client_credentials", "--dpop")
    response = flows.token_request(http, {"grant_type": "client_credentials"}, "m2m")
    refused(response, "This client must send a DPoP proof")


def test_token_exchange_binds_the_issued_access_token(offline_rp, browser, http, holder):
    tokens = flows.offline_tokens(browser, http)
    data = {"grant_type": flows.EXCHANGE, "subject_token": tokens["access_token"], "subject_token_type": flows.AT_TYPE}
    body = http.post(
        "/oidc/token", data, HTTP_AUTHORIZATION=flows.basic(), HTTP_DPOP=holder.proof("POST", TOKEN_URL)
    ).json()
    assert body["issued_token_type"] == flows.AT_TYPE and body["token_type"] == "DPoP"
    assert flows.introspect(http, body["access_token"]).json()["cnf"] == {"jkt": holder.jkt}


def test_a_bound_subject_token_is_exchanged_only_with_a_proof_of_its_key(offline_rp, browser, http, holder):
    """Defect 206: stock exchanges a DPoP-bound access token sent without a proof (or with another key's)
    for a bearer token: whoever holds the token, not the key, strips its binding."""
    tokens = bound_tokens(browser, http, holder, scope=flows.OFFLINE_SCOPE, prompt="consent")
    data = {"grant_type": flows.EXCHANGE, "subject_token": tokens["access_token"], "subject_token_type": flows.AT_TYPE}
    refused(flows.token_request(http, data), "The subject token is bound to another DPoP key")
    stranger = Holder().proof("POST", TOKEN_URL)
    refused(
        http.post("/oidc/token", data, HTTP_AUTHORIZATION=flows.basic(), HTTP_DPOP=stranger),
        "The subject token is bound to another DPoP key",
    )
    body = http.post(
        "/oidc/token", data, HTTP_AUTHORIZATION=flows.basic(), HTTP_DPOP=holder.proof("POST", TOKEN_URL)
    ).json()
    assert body["issued_token_type"] == flows.AT_TYPE and body["token_type"] == "DPoP"
    assert flows.introspect(http, body["access_token"]).json()["cnf"] == {"jkt": holder.jkt}


def test_a_dpop_jkt_form_parameter_in_a_token_exchange_claims_nothing(offline_rp, browser, http, holder):
    """Defect 187: stock answers token_type DPoP for a token bound to nothing."""
    tokens = flows.offline_tokens(browser, http)
    body = flows.exchange(http, tokens["access_token"], dpop_jkt=holder.jkt).json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in flows.introspect(http, body["access_token"]).json()


@pytest.mark.parametrize(
    ("setting", "value", "error"),
    [
        ("DPOP_SIGNING_ALGS", ["HS256"], "oidc_provider.E080"),
        ("DPOP_SIGNING_ALGS", [], "oidc_provider.E080"),
        ("DPOP_SIGNING_ALGS", "ES256", "oidc_provider.E080"),
        ("DPOP_PROOF_LIFETIME", 0, "oidc_provider.E081"),
        ("DPOP_CLOCK_SKEW", -1, "oidc_provider.E081"),
        ("DPOP_PROOF_LIFETIME", "60", "oidc_provider.E081"),
    ],
)
def test_bad_dpop_settings_are_reported(settings, setting, value, error):
    from oidc_provider.checks import check_dpop

    assert check_dpop() == []
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, setting: value}
    assert [e.id for e in check_dpop()] == [error]


def test_a_dpop_token_with_a_token_in_the_body_too_is_refused(rp, browser, http, holder):
    token = bound_tokens(browser, http, holder)["access_token"]
    proof = holder.proof("POST", USERINFO_URL, token)
    response = http.post("/oidc/userinfo", {"access_token": token}, HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=proof)
    refused(response, "One DPoP access token in the Authorization header", 400, "invalid_request")
    response = http.get("/oidc/userinfo", HTTP_AUTHORIZATION="DPoP ", HTTP_DPOP=proof)
    refused(response, "One DPoP access token in the Authorization header", 400, "invalid_request")
    response = http.get("/oidc/userinfo", HTTP_AUTHORIZATION=f"DPoP {token}")  # no proof at all
    refused(response, "The request has no DPoP proof", 401)
