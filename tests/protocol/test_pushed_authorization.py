"""Pushed authorization requests (RFC 9126) in process: the PAR endpoint's client authentication and
checks, the request_uri at the authorization endpoint (single use, short-lived, the pusher's only),
``require_pushed_authorization_requests`` per client and for the OP, and what is kept at rest.

Every push is followed by ``reset_server()``: nothing of the push may live in process memory (what
another worker would see)."""

import datetime as dt
import json
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone

from oidc_provider import crypto
from oidc_provider.models import Client, PushedRequest
from oidc_provider.server import reset_server
from oidc_provider.storage import pushed_requests
from tests import flows
from tests.protocol.test_request_objects import HALF_SURROGATES, RSA, public_jwks, with_member

PREFIX = "urn:ietf:params:oauth:request_uri:"


def push(http, client_id="rp1", secret="s3cret", dpop=None, **overrides):
    verifier, challenge = flows.pkce_pair()
    data = {k: v for k, v in flows.auth_params(challenge, client_id=client_id, **overrides).items() if v is not None}
    headers = {"HTTP_AUTHORIZATION": flows.basic(client_id, secret)} if secret else {}
    if dpop is not None:
        headers["HTTP_DPOP"] = dpop
    response = http.post("/oidc/par", data, **headers)
    reset_server()
    return response, verifier


def pushed_uri(http, **kwargs):
    response, verifier = push(http, **kwargs)
    assert response.status_code == 201, response.content
    return response.json()["request_uri"], verifier


def front_channel(browser, request_uri, client_id="rp1", consent="allow", **extra):
    """GET /authorize with the request_uri, answering the consent page."""
    response = browser.get("/oidc/authorize", {"client_id": client_id, "request_uri": request_uri, **extra})
    if response.status_code == 302 and response["Location"].startswith("/oidc/consent"):
        key = flows.query(response)["k"]
        response = browser.post("/oidc/consent", {"k": key, "decision": consent})
    return response


def page_error(response):
    """The OAuth error code an error page shows (``error_page``)."""
    assert response.status_code == 400, response.content
    return response.context["error"], str(response.context["description"])


def test_a_pushed_request_completes_the_code_flow(rp, browser, http):
    response, verifier = push(http)
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["request_uri"].startswith(PREFIX) and body["expires_in"] == 60
    assert len(body["request_uri"]) - len(PREFIX) >= 43  # 256 bits, base64url
    answer = front_channel(browser, body["request_uri"])
    assert answer.status_code == 302, answer.content
    params = flows.query(answer)
    assert params["state"] == "st-1" and "code" in params
    tokens = flows.redeem(http, params["code"], verifier)
    assert tokens.status_code == 200, tokens.content
    assert flows.jwt_claims(tokens.json()["id_token"])["nonce"] == "n-1"


def test_a_pushed_parameter_named_as_idpyoidcs_verified_values_is_dropped(rp, browser, http):
    """Defect 202, pushed: the request_uri gives a code, not a 500."""
    Client.objects.filter(client_id="rp1").update(skip_consent=True)
    request_uri, _ = pushed_uri(http, __verified_it_token_hint="x")
    assert "code" in flows.query(front_channel(browser, request_uri))


@pytest.mark.parametrize("member", HALF_SURROGATES)
def test_a_pushed_object_with_half_a_surrogate_pair_is_refused_and_not_kept(rp, http, member):
    """PostgreSQL's jsonb refuses a lone surrogate (a 500 at the push), SQLite kept it for the
    authorization endpoint to fail on."""
    Client.objects.filter(client_id="rp1").update(jwks=public_jwks(RSA))
    pushed = {"client_id": "rp1", "request": with_member(member)}
    response = http.post("/oidc/par", pushed, HTTP_AUTHORIZATION=flows.basic())
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request_object",
        "error_description": "The request object holds text that is not valid Unicode",
    }
    assert not PushedRequest.objects.exists()


def test_other_query_parameters_are_ignored(rp, browser, http):
    """RFC 9126 §4: the pushed parameters are the request; a state or redirect_uri added in the
    browser's URL changes nothing."""
    request_uri, _ = pushed_uri(http)
    answer = front_channel(browser, request_uri, state="forged", redirect_uri="https://evil.example/cb")
    assert answer["Location"].startswith(flows.REDIRECT_URI + "?")
    assert flows.query(answer)["state"] == "st-1"


def test_a_request_uri_is_used_once(rp, browser, http):
    request_uri, _ = pushed_uri(http)
    assert "code" in flows.query(front_channel(browser, request_uri))
    assert page_error(front_channel(browser, request_uri)) == (
        "invalid_request_uri",
        "This sign-in request was already used. Go back to the application and start again.",
    )


def test_an_expired_request_uri_is_refused(rp, browser, http):
    request_uri, _ = pushed_uri(http)
    PushedRequest.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    error, _ = page_error(front_channel(browser, request_uri))
    assert error == "invalid_request_uri"
    assert PushedRequest.objects.get().consumed is False  # nothing spent


def test_an_unknown_request_uri_is_refused(rp, browser):
    for request_uri in (PREFIX + "x" * 43, PREFIX + "y" * 500):
        assert page_error(front_channel(browser, request_uri)) == (
            "invalid_request_uri",
            "This sign-in request is unknown here. Go back to the application and start again.",
        )


def test_another_clients_request_uri_is_refused_and_stays_usable(rp, browser, http):
    """RFC 9126 §4: the client_id of the front channel must be the pusher's. Refused as unknown
    (nothing tells rp2 that rp1's exists), and not spent: rp1 can still use it."""
    flows.make_client("rp2", "s3cret2")
    request_uri, _ = pushed_uri(http)
    assert page_error(front_channel(browser, request_uri, client_id="rp2"))[0] == "invalid_request_uri"
    assert "code" in flows.query(front_channel(browser, request_uri))


def test_a_front_channel_request_without_client_id_is_refused(rp, browser, http):
    request_uri, _ = pushed_uri(http)
    response = browser.get("/oidc/authorize", {"request_uri": request_uri})
    assert page_error(response)[0] == "invalid_request"


def test_only_a_keyed_digest_of_the_request_uri_is_kept(db, http):
    """Defects 152, 159: the row holds a keyed hash of the random part, and none of the client's
    credentials (client_secret_post here)."""
    flows.make_client("rp1", "s3cret", "--token-endpoint-auth-method", "client_secret_post")
    verifier, challenge = flows.pkce_pair()
    data = {**flows.auth_params(challenge), "client_secret": "s3cret"}
    response = http.post("/oidc/par", data)
    assert response.status_code == 201, response.content
    random_part = response.json()["request_uri"][len(PREFIX) :]
    row = PushedRequest.objects.get()
    assert row.digest == crypto.hash_token(random_part, pushed_requests.PURPOSE)
    assert random_part not in json.dumps(row.parameters) + row.digest
    assert "client_secret" not in row.parameters and "authenticated" not in row.parameters
    assert row.client_id == "rp1" and row.parameters["state"] == "st-1"


# The push: client authentication as at the token endpoint, the authorization request's rules.


def test_a_push_with_a_wrong_secret_is_refused(rp, http):
    response, _ = push(http, secret="wrong")
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "Client authentication failed"}
    assert not PushedRequest.objects.exists()


def test_a_confidential_client_cannot_push_with_its_client_id_alone(rp, http):
    response, _ = push(http, secret=None)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_a_public_client_pushes_with_its_client_id(db, browser, http):
    """RFC 9126 §2: a public client pushes too (it authenticates at the token endpoint with its
    client_id alone); its PKCE stays required."""
    call_command(
        "createclient",
        "--client-id",
        "spa",
        "--redirect-uri",
        flows.REDIRECT_URI,
        "--public",
        stdout=open("/dev/null", "w"),
    )
    response, verifier = push(http, client_id="spa", secret=None)
    assert response.status_code == 201, response.content
    code = flows.query(front_channel(browser, response.json()["request_uri"], client_id="spa"))["code"]
    tokens = http.post(
        "/oidc/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flows.REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": "spa",
        },
    )
    assert tokens.status_code == 200, tokens.content
    response, _ = push(http, client_id="spa", secret=None, code_challenge=None, code_challenge_method=None)
    assert response.json() == {"error": "invalid_request", "error_description": "Missing required code_challenge"}


def test_the_body_client_id_must_be_the_authenticated_one(rp, http):
    flows.make_client("rp2", "s3cret2")
    verifier, challenge = flows.pkce_pair()
    response = http.post(
        "/oidc/par", flows.auth_params(challenge, client_id="rp2"), HTTP_AUTHORIZATION=flows.basic("rp1", "s3cret")
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "client_id does not match the authenticated client",
    }


def test_an_unregistered_redirect_uri_is_refused_at_push(rp, http):
    response, _ = push(http, redirect_uri="https://rp.example/cb?x=1")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "redirect_uri is not registered for this client",
    }
    assert not PushedRequest.objects.exists()


def test_missing_pkce_is_refused_at_push_when_the_client_requires_it(db, http):
    flows.make_client("rp1", "s3cret", "--require-pkce")
    response, _ = push(http, code_challenge=None, code_challenge_method=None)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "Missing required code_challenge"}


def test_an_unsupported_response_type_is_refused_at_push(rp, http):
    response, _ = push(http, response_type="token")
    assert response.json()["error"] == "unsupported_response_type"


def test_a_malformed_claims_parameter_is_refused_at_push(rp, http):
    response, _ = push(http, claims='{"userinfo": {"email": 5}}')
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_request_uri_inside_a_push_is_refused(rp, http):
    """RFC 9126 §2.1; defect 155: stock would redeem (or fetch) it at push time."""
    request_uri, _ = pushed_uri(http)
    response, _ = push(http, request_uri=request_uri)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "request_uri must not be pushed (RFC 9126 §2.1)",
    }
    assert PushedRequest.objects.filter(consumed=False).count() == 1


def test_a_request_object_inside_a_push_is_verified_as_at_the_authorization_endpoint(rp, http):
    """Defect 156: a pushed ``request`` is checked by the request-object rules (RFC 9126 §3), so an
    unsigned one is refused as it would be at ``/authorize``."""
    response, _ = push(http, request="eyJhbGciOiJub25lIn0.eyJzdGF0ZSI6ImZvcmdlZCJ9.")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request_object",
        "error_description": "Unsigned request objects are not accepted",
    }
    assert not PushedRequest.objects.exists()


def test_a_request_object_inside_a_push_is_refused_while_request_objects_are_off(rp, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REQUEST_OBJECTS": False}
    response, _ = push(http, request="eyJhbGciOiJub25lIn0.eyJzdGF0ZSI6ImZvcmdlZCJ9.")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The request parameter is not supported",
    }


def test_an_oversized_push_is_refused(rp, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "MAX_REQUEST_BODY": 1024}
    response, _ = push(http, state="s" * 2000)
    assert response.status_code == 413
    assert response.json() == {"error": "invalid_request", "error_description": "Request body too large"}


def test_a_nul_in_a_push_is_refused(rp, http):
    response, _ = push(http, state="a\x00b")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_the_par_endpoint_takes_post_only(rp, http):
    assert http.get("/oidc/par").status_code == 405


# Requiring pushed requests.


def test_a_client_that_requires_par_cannot_send_a_plain_request(db, browser, http):
    flows.make_client("rp1", "s3cret", "--require-pushed-authorization-requests")
    verifier, challenge = flows.pkce_pair()
    response = browser.get("/oidc/authorize", flows.auth_params(challenge))
    assert response.status_code == 302
    assert flows.query(response) == {
        "error": "invalid_request",
        "error_description": "This client must use pushed authorization requests (RFC 9126 §6)",
        "state": "st-1",
        "iss": "http://testserver/oidc",
    }
    request_uri, _ = pushed_uri(http)
    assert "code" in flows.query(front_channel(browser, request_uri))


def test_the_op_can_require_par_for_every_client(rp, browser, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True}
    verifier, challenge = flows.pkce_pair()
    response = browser.get("/oidc/authorize", flows.auth_params(challenge))
    assert flows.query(response)["error_description"] == (
        "This server requires pushed authorization requests (RFC 9126 §5)"
    )
    request_uri, _ = pushed_uri(http)
    assert "code" in flows.query(front_channel(browser, request_uri))
    discovery = http.get("/oidc/.well-known/openid-configuration").json()
    assert discovery["require_pushed_authorization_requests"] is True


def test_discovery_advertises_par(rp, http):
    discovery = http.get("/oidc/.well-known/openid-configuration").json()
    assert discovery["pushed_authorization_request_endpoint"] == "http://testserver/oidc/par"
    assert discovery["require_pushed_authorization_requests"] is False


def test_par_can_be_turned_off(rp, browser, http, settings):
    enabled = http.get("/oidc/.well-known/openid-configuration").json()
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "PAR_ENABLED": False}
    discovery = http.get("/oidc/.well-known/openid-configuration").json()
    assert set(enabled) - set(discovery) == {
        "pushed_authorization_request_endpoint",
        "require_pushed_authorization_requests",
    }
    assert {k: v for k, v in enabled.items() if k in discovery} == discovery
    response, _ = push(http)
    assert response.status_code == 404


# Login in the middle: the request_uri is spent at the first request, the request waits in the session.


def test_a_login_in_the_middle_completes_the_pushed_request(rp, user, http):
    browser = HttpClient()
    request_uri, verifier = pushed_uri(http)
    response = browser.get("/oidc/authorize", {"client_id": "rp1", "request_uri": request_uri})
    assert response.status_code == 302 and "/login" in response["Location"]
    assert PushedRequest.objects.get().consumed  # spent already
    assert browser.login(username="alice", password="pw")
    resume = response["Location"].split("next=")[1].split("&")[0]
    from urllib.parse import unquote

    response = browser.get(unquote(resume))
    assert response.status_code == 302 and response["Location"].startswith("/oidc/consent")
    response = browser.post("/oidc/consent", {"k": flows.query(response)["k"], "decision": "allow"})
    params = flows.query(response)
    assert params["state"] == "st-1"
    assert flows.redeem(http, params["code"], verifier).status_code == 200


# Racing workers: one winner.


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the in-memory SQLite test database refuses concurrent writers at once; the e2e race runs on both",
)
@pytest.mark.django_db(transaction=True)
def test_two_redemptions_racing_get_one_winner():
    flows.make_client()
    uri = pushed_requests.store("rp1", {"client_id": "rp1"}, 60)
    results, barrier = [], threading.Barrier(8)

    def redeem():
        barrier.wait()
        try:
            results.append(pushed_requests.redeem(uri, "rp1"))
        except pushed_requests.Unredeemable as err:
            results.append(err.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count({"client_id": "rp1"}) == 1
    assert results.count("used") == 7


# clearexpired


def test_clearexpired_removes_expired_pushed_requests(rp, http):
    pushed_uri(http)
    pushed_uri(http)
    PushedRequest.objects.filter(pk=PushedRequest.objects.first().pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    call_command("clearexpired", stdout=open("/dev/null", "w"))
    assert PushedRequest.objects.count() == 1


# Client metadata


def test_registration_takes_require_pushed_authorization_requests(db, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_POLICY": "open"}
    body = {"redirect_uris": [flows.REDIRECT_URI], "require_pushed_authorization_requests": True}
    response = http.post("/oidc/register", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["require_pushed_authorization_requests"] is True
    assert Client.objects.get(client_id=response.json()["client_id"]).require_pushed_authorization_requests
    body["require_pushed_authorization_requests"] = "yes"
    response = http.post("/oidc/register", json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"


@pytest.mark.parametrize(
    "values, check_id",
    [
        ({"PAR_LIFETIME": 4}, "oidc_provider.E150"),
        ({"PAR_LIFETIME": 601}, "oidc_provider.E150"),
        ({"PAR_LIFETIME": "60"}, "oidc_provider.E150"),
        ({"PAR_ENABLED": "yes"}, "oidc_provider.E151"),
        ({"PAR_ENABLED": False, "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True}, "oidc_provider.E152"),
        ({"PAR_RATE_LIMIT": (0, 60)}, "oidc_provider.E031"),
    ],
)
def test_bad_par_settings_are_reported(settings, values, check_id):
    from oidc_provider.checks import check_settings

    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, **values}
    assert check_id in [error.id for error in check_settings()]


def test_client_secret_post_may_repeat_the_same_client_id(db, http):
    """The authorization request's client_id and client_secret_post's: one value, accepted; two
    different values are refused as any repeated parameter is."""
    flows.make_client("rp1", "s3cret", "--token-endpoint-auth-method", "client_secret_post")
    verifier, challenge = flows.pkce_pair()
    body = "&".join(f"{k}={v}" for k, v in flows.auth_params(challenge).items())
    response = http.post(
        "/oidc/par", body + "&client_id=rp1&client_secret=s3cret", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 201, response.content
    response = http.post(
        "/oidc/par", body + "&client_id=rp2&client_secret=s3cret", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "Repeated parameter: client_id"}


def test_a_malformed_front_channel_request_is_refused(rp, browser, http):
    request_uri, _ = pushed_uri(http)
    for query in (
        {"client_id": "rp1\x00", "request_uri": request_uri},
        {"client_id": ["rp1", "rp1"], "request_uri": request_uri},
        {"client_id": "rp1", "request_uri": [request_uri, request_uri]},
    ):
        assert page_error(browser.get("/oidc/authorize", query)) == (
            "invalid_request",
            "The application sent a sign-in request this site cannot read.",
        )
    assert "code" in flows.query(front_channel(browser, request_uri))  # none of them spent it


# Limits, as at the token endpoint


def test_failed_pushes_count_against_the_failure_limit(rp, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "CLIENT_AUTHN_FAILURE_LIMIT": (2, 60)}
    for _ in range(2):
        assert push(http, secret="wrong")[0].status_code == 401
    response, _ = push(http, secret="wrong")
    assert response.status_code == 429 and response.json()["error"] == "temporarily_unavailable"
    assert push(http)[0].status_code == 201  # a correct authentication is always served


def test_pushes_per_client_are_limited(rp, http, settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "PAR_RATE_LIMIT": (2, 60)}
    for _ in range(2):
        assert push(http)[0].status_code == 201
    response, _ = push(http)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert PushedRequest.objects.count() == 2


def test_a_push_logs_neither_the_secret_nor_the_request_uri(db, browser, http, caplog):
    """A client_secret_post push and its redemption, logged at DEBUG everywhere: neither the secret
    nor the request_uri (a bearer reference to the request, RFC 9126 §7.1) reaches a record."""
    import logging

    for name in ("", "django", "django.request", "idpyoidc", "cryptojwt", "oidc_provider"):
        caplog.set_level(logging.DEBUG, logger=name)
    secret = "par-client-secret-4c1e9a7b"
    flows.make_client("rp1", secret, "--token-endpoint-auth-method", "client_secret_post")
    verifier, challenge = flows.pkce_pair()
    response = http.post("/oidc/par", {**flows.auth_params(challenge), "client_secret": secret})
    assert response.status_code == 201, response.content
    request_uri = response.json()["request_uri"]
    assert "code" in flows.query(front_channel(browser, request_uri))
    assert page_error(front_channel(browser, request_uri))[0] == "invalid_request_uri"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert secret not in logged
    assert request_uri[len(PREFIX) :] not in logged


# --- DPoP at the push (RFC 9449 §10.1) -----------------------------------------------------------------


def test_a_dpop_proof_at_the_push_binds_the_code_to_its_key(rp, browser, http):
    from tests.dpop_proofs import Holder
    from tests.protocol.test_dpop import TOKEN_URL, redeem

    holder = Holder()
    request_uri, verifier = pushed_uri(http, dpop=holder.proof("POST", "http://testserver/oidc/par"))
    code = flows.query(front_channel(browser, request_uri))["code"]
    description = "The DPoP proof's key is not the dpop_jkt of the authorization request"
    assert redeem(http, code, verifier).json()["error_description"] == description
    assert redeem(http, code, verifier, Holder().proof("POST", TOKEN_URL)).json()["error_description"] == description
    tokens = redeem(http, code, verifier, holder.proof("POST", TOKEN_URL)).json()
    assert tokens["token_type"] == "DPoP"
    assert flows.introspect(http, tokens["access_token"]).json()["cnf"] == {"jkt": holder.jkt}


def test_a_push_whose_proof_and_dpop_jkt_name_other_keys_is_refused(rp, http):
    from tests.dpop_proofs import Holder

    holder = Holder()
    response, _ = push(http, dpop=holder.proof("POST", "http://testserver/oidc/par"), dpop_jkt=Holder().jkt)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_dpop_proof",
        "error_description": "The DPoP proof's key is not the request's dpop_jkt",
    }
    agreeing, _ = push(http, dpop=holder.proof("POST", "http://testserver/oidc/par"), dpop_jkt=holder.jkt)
    assert agreeing.status_code == 201, agreeing.content
    assert PushedRequest.objects.filter(consumed=False).count() == 1


def test_a_proof_for_the_token_endpoint_is_refused_at_the_push(rp, http):
    from tests.dpop_proofs import Holder
    from tests.protocol.test_dpop import TOKEN_URL

    response, _ = push(http, dpop=Holder().proof("POST", TOKEN_URL))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_dpop_proof",
        "error_description": "The DPoP proof's htu does not match the request's URL",
    }
    assert not PushedRequest.objects.exists()


def test_a_pushed_request_objects_dpop_jkt_must_be_the_proofs_key(rp, http):
    """RFC 9449 §10.1 with RFC 9126 §3: the proof's key binds the code although only the object's
    parameters are kept; an object naming another key is refused."""
    from tests.dpop_proofs import Holder
    from tests.protocol.test_request_objects import EC, RSA, public_jwks, signed

    Client.objects.filter(client_id="rp1").update(jwks=public_jwks(RSA, EC))
    holder, par_url = Holder(), "http://testserver/oidc/par"
    headers = {"HTTP_AUTHORIZATION": flows.basic("rp1", "s3cret")}
    refused = http.post(
        "/oidc/par",
        {"client_id": "rp1", "request": signed(dpop_jkt=Holder().jkt)},
        HTTP_DPOP=holder.proof("POST", par_url),
        **headers,
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_dpop_proof",
        "error_description": "The DPoP proof's key is not the request's dpop_jkt",
    }
    kept = http.post(
        "/oidc/par", {"client_id": "rp1", "request": signed()}, HTTP_DPOP=holder.proof("POST", par_url), **headers
    )
    assert kept.status_code == 201, kept.content
    assert PushedRequest.objects.get().parameters["dpop_jkt"] == holder.jkt
