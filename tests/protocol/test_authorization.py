"""Authorization endpoint: bad requests, prompt, max_age, login_hint and consent (OIDC Core §3.1.2)."""

import time
from urllib.parse import urlencode

import pytest

from oidc_provider.models import Client, Consent
from tests import flows


def error_redirect(response):
    assert response.status_code == 302 and response["Location"].startswith(flows.REDIRECT_URI), response.content
    params = flows.query(response)
    assert params["iss"] == "http://testserver/oidc"  # RFC 9207
    return params


def error_page(response, title="This sign-in request cannot be completed"):
    assert response.status_code == 400 and not response.has_header("Location")
    assert f"<h1>{title}</h1>".encode() in response.content
    return response


@pytest.mark.parametrize(
    "override",
    [
        {"redirect_uri": "https://evil.example/cb"},
        {"redirect_uri": "https://rp.example/cb/extra"},
        {"redirect_uri": "https://rp.example/cb?x=1"},
        {"redirect_uri": None},
        {"client_id": "unknown"},
        {"client_id": None},
    ],
)
def test_unverifiable_redirect_shows_error_page_and_never_redirects(rp, browser, override):
    verifier, challenge = flows.pkce_pair()
    error_page(browser.get("/oidc/authorize", flows.auth_params(challenge, **override)))


@pytest.mark.parametrize(
    "override, message",
    [
        ({"client_id": "unknown"}, "The application that sent you here is not registered at this site."),
        ({"client_id": "unknown", "claims": "junk"}, "is not registered at this site."),
        ({"client_id": None}, "The application that sent you here did not say which application it is."),
        ({"redirect_uri": None}, "The application that sent you here did not say where to return to."),
        (
            {"redirect_uri": "https://evil.example/cb"},
            "The application that sent you here asked to return to an address it has not registered.",
        ),
        ({"redirect_uri": "https://rp.example/cb#x"}, "asked to return to an address it has not registered."),
    ],
)
def test_the_error_page_says_why(rp, browser, override, message):
    response = error_page(browser.get("/oidc/authorize", flows.auth_params("x" * 43, **override)))
    assert message.encode() in response.content


def test_a_repeated_parameter_is_named_on_the_error_page(rp, browser):
    params = flows.auth_params("x" * 43, redirect_uri="https://evil.example/cb")
    response = error_page(browser.get("/oidc/authorize?" + urlencode(params) + "&state=2"))
    assert "The sign-in request names the parameter “state” more than once.".encode() in response.content


@pytest.mark.parametrize("ui_locales", ["fr", "tlh fr-CA"])
def test_ui_locales_chooses_the_error_page_language(rp, browser, ui_locales):
    params = flows.auth_params("x" * 43, redirect_uri="https://evil.example/cb", ui_locales=ui_locales)
    response = error_page(browser.get("/oidc/authorize", params), "Cette demande de connexion ne peut pas aboutir")
    assert b'<html lang="fr">' in response.content


def test_inactive_client_gets_error_page(rp, browser):
    Client.objects.filter(client_id="rp1").update(is_active=False)
    response = error_page(browser.get("/oidc/authorize", flows.auth_params("x" * 43)))
    assert b"<p>The application that sent you here is not registered at this site.</p>" in response.content


@pytest.mark.parametrize(
    "name",
    [
        "state",
        "nonce",
        "scope",
        "claims",
        "acr_values",
        "ui_locales",
        "code_challenge",
        "client_id",
        "redirect_uri",
        "x\x00",
    ],
)
def test_a_nul_in_any_parameter_is_refused_before_anything_stores_it(rp, browser, name):
    """A NUL reached the grant's row (PostgreSQL raised: a 500) when consent was already given; it is
    refused on the error page before the request is read."""
    Client.objects.filter(client_id="rp1").update(skip_consent=True)
    params = flows.auth_params("x" * 43)
    params[name] = (params.get(name) or "x") + "\x00"
    response = error_page(browser.get("/oidc/authorize", params))
    assert b"The application sent a sign-in request this site cannot read." in response.content


@pytest.mark.parametrize("name", ["__verified_it_token_hint", "verified_id_token_hint"])
@pytest.mark.parametrize("skip_consent", [True, False])
def test_a_parameter_named_as_idpyoidcs_verified_values_is_ignored(rp, browser, skip_consent, name):
    """Defect 202: idpyoidc reads what it verified from the request under ``__verified_*`` names; a
    client's ``__verified_it_token_hint=x`` (or ``verified_id_token_hint=x``, where the request
    message keeps the hint) was read as a verified token and raised AttributeError (a 500) once the
    user had consented. Unknown parameters are ignored (RFC 6749 §3.1)."""
    Client.objects.filter(client_id="rp1").update(skip_consent=skip_consent)
    code, _ = flows.get_code(browser, **{name: "x"})
    assert code


def test_repeated_parameter_is_invalid_request_at_the_verified_redirect(rp, browser):
    params = flows.auth_params("x" * 43)
    params["scope"] = ["openid", "openid email"]
    assert error_redirect(browser.get("/oidc/authorize", params))["error"] == "invalid_request"


def test_repeated_redirect_uri_shows_error_page(rp, browser):
    params = flows.auth_params("x" * 43)
    params["redirect_uri"] = [flows.REDIRECT_URI, "https://evil.example/cb"]
    error_page(browser.get("/oidc/authorize", params))


@pytest.mark.parametrize(
    "override, error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "phone"}, "invalid_scope"),  # plain OAuth 2.0 (no openid), no scope the client may have
        ({"scope": None}, "invalid_request"),
    ],
)
def test_bad_requests_are_redirected_with_the_error(rp, browser, override, error):
    params = error_redirect(browser.get("/oidc/authorize", flows.auth_params("x" * 43, **override)))
    assert params["error"] == error and params["state"] == "st-1"


def test_prompt_none_without_login_is_login_required(rp, http):
    params = error_redirect(http.get("/oidc/authorize", flows.auth_params("x" * 43, prompt="none")))
    assert params["error"] == "login_required" and params["state"] == "st-1"


def test_prompt_none_without_consent_is_consent_required(rp, browser):
    params = error_redirect(browser.get("/oidc/authorize", flows.auth_params("x" * 43, prompt="none")))
    assert params["error"] == "consent_required"


def test_prompt_none_with_consent_issues_a_code_silently(rp, browser):
    flows.get_code(browser)
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1], prompt="none"))
    assert "code" in flows.query(response)


def test_prompt_none_combined_with_login_is_invalid_request(rp, browser):
    params = error_redirect(browser.get("/oidc/authorize", flows.auth_params("x" * 43, prompt="none login")))
    assert params["error"] == "invalid_request"


def test_consent_denied_is_access_denied(rp, browser):
    response = flows.authorize(browser, flows.pkce_pair()[1], consent="deny")
    params = error_redirect(response)
    assert params["error"] == "access_denied" and params["state"] == "st-1"
    assert not Consent.objects.exists()


def test_consent_is_remembered_per_scopes(rp, browser):
    flows.get_code(browser)
    assert Consent.objects.get().scopes == ["email", "openid", "profile"]
    # same or fewer scopes: no page
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1], scope="openid email"))
    assert "code" in flows.query(response)


def test_consent_asked_again_for_new_scopes(rp, browser):
    flows.get_code(browser, scope="openid")
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1]))
    assert response["Location"].startswith("/oidc/consent")


def test_expired_consent_is_asked_again(rp, browser):
    flows.get_code(browser)
    Consent.objects.update(expires_at="2000-01-01T00:00:00Z")
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1]))
    assert response["Location"].startswith("/oidc/consent")


def test_prompt_consent_always_asks(rp, browser):
    flows.get_code(browser)
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1], prompt="consent"))
    assert response["Location"].startswith("/oidc/consent")


def test_trusted_client_skips_consent(rp, browser):
    Client.objects.filter(client_id="rp1").update(skip_consent=True)
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1]))
    assert "code" in flows.query(response)


def test_consent_page_needs_a_pending_request(rp, browser):
    assert browser.post("/oidc/consent", {"k": "made-up", "decision": "allow"}).status_code == 400
    assert browser.get("/oidc/consent?k=made-up").status_code == 400


def test_consent_page_is_never_cached(rp, browser):
    response = browser.get(browser.get("/oidc/authorize", flows.auth_params("x" * 43))["Location"])
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("removal", ["deleted", "deactivated"])
def test_client_removed_while_the_consent_page_is_open_gets_the_error_page(rp, browser, method, removal):
    """A client removed between the redirect to consent and the consent page or its answer was a 500
    (the consent view read the client with ``Client.objects.get``)."""
    key = flows.query(browser.get("/oidc/authorize", flows.auth_params("x" * 43)))["k"]
    clients = Client.objects.filter(client_id="rp1")
    clients.delete() if removal == "deleted" else clients.update(is_active=False)
    if method == "get":
        response = browser.get("/oidc/consent", {"k": key})
    else:
        response = browser.post("/oidc/consent", {"k": key, "decision": "allow"})
    error_page(response)
    assert b"<p>The application is no longer registered here.</p>" in response.content


@pytest.mark.parametrize("answer", [None, "allow", "deny"])
def test_a_redirect_uri_removed_while_the_consent_page_is_open_is_sent_nothing(rp, browser, answer):
    """The consent page's answer (even a denial) went to the redirect_uri the request named, although
    the administrator had removed it from the client meanwhile."""
    key = flows.query(browser.get("/oidc/authorize", flows.auth_params("x" * 43)))["k"]
    Client.objects.filter(client_id="rp1").update(redirect_uris=["https://rp.example/other"])
    if answer is None:
        response = browser.get("/oidc/consent", {"k": key})
    else:
        response = browser.post("/oidc/consent", {"k": key, "decision": answer})
    error_page(response)
    assert b"registration has changed since this sign-in began" in response.content


def test_a_redirect_uri_removed_while_the_user_logs_in_is_sent_nothing(rp, browser):
    flows.get_code(browser)  # consent given
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, prompt="login"))
    resume = flows.query(response)["next"]
    Client.objects.filter(client_id="rp1").update(redirect_uris=["https://rp.example/other"])
    browser.post("/accounts/login/", {"username": "alice", "password": "pw", "next": resume})
    response = error_page(browser.get(resume))
    assert b"registration has changed since this sign-in began" in response.content


def test_consent_form_is_csrf_protected(rp, user):
    from django.test import Client as HttpClient

    browser = HttpClient(enforce_csrf_checks=True)
    browser.login(username="alice", password="pw")
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1]))
    key = flows.query(response)["k"]
    assert browser.post("/oidc/consent", {"k": key, "decision": "allow"}).status_code == 403


def test_protocol_endpoints_take_posts_without_a_csrf_token(rp, user):
    """Clients and other sites' pages POST to the authorization and token endpoints without this site's
    CSRF token (``views.request.ProtocolView``); the consent form above keeps needing it."""
    from django.test import Client as HttpClient

    browser = HttpClient(enforce_csrf_checks=True)
    browser.login(username="alice", password="pw")
    response = browser.post("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1]))
    assert response.status_code == 302 and response["Location"].startswith("/oidc/consent?k=")
    response = HttpClient(enforce_csrf_checks=True).post(
        "/oidc/token",
        {"grant_type": "authorization_code", "code": "x"},
        HTTP_AUTHORIZATION=flows.basic("rp1", "s3cret"),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_prompt_login_asks_for_login_again_then_resumes(rp, browser):
    flows.get_code(browser)  # consent given
    verifier, challenge = flows.pkce_pair()
    response = browser.get("/oidc/authorize", flows.auth_params(challenge, prompt="login"))
    assert response["Location"].startswith("/accounts/login/")
    resume = flows.query(response)["next"]
    # coming back without logging in again does not count
    assert browser.get(resume)["Location"].startswith("/accounts/login/")
    response = browser.get("/oidc/authorize", flows.auth_params(challenge, prompt="login"))
    resume = flows.query(response)["next"]
    browser.post("/accounts/login/", {"username": "alice", "password": "pw", "next": resume})
    done = browser.get(resume)  # defect 14: `login` stripped, no loop
    assert "code" in flows.query(done)
    code = flows.query(done)["code"]
    from django.test import Client as HttpClient

    tokens = flows.redeem(HttpClient(), code, verifier).json()
    assert flows.jwt_claims(tokens["id_token"])["auth_time"] >= int(time.time()) - 5


def test_max_age_exceeded_asks_for_login(rp, browser):
    flows.get_code(browser)
    session = browser.session
    session["oidc_provider.auth_time"] = int(time.time()) - 600
    session.save()
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1], max_age="60"))
    assert response["Location"].startswith("/accounts/login/")
    params = error_redirect(browser.get("/oidc/authorize", flows.auth_params("x" * 43, max_age="60", prompt="none")))
    assert params["error"] == "login_required"


def test_max_age_within_limit_reports_auth_time(rp, browser):
    from django.test import Client as HttpClient

    code, verifier = flows.get_code(browser, max_age="3600")
    claims = flows.jwt_claims(flows.redeem(HttpClient(), code, verifier).json()["id_token"])
    assert claims["auth_time"] <= int(time.time())


def test_login_hint_for_another_user_asks_for_login(rp, browser):
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, login_hint="bob@example.com"))
    assert response["Location"].startswith("/accounts/login/")
    assert "login_hint=bob%40example.com" in response["Location"]


def test_login_hint_matching_current_user_goes_on(rp, browser):
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43, login_hint="alice@example.com"))
    assert response["Location"].startswith("/oidc/consent")


@pytest.fixture
def alices_id_token(rp, browser, http):
    return flows.get_tokens(browser, http)["id_token"]


def test_id_token_hint_of_the_current_user_goes_on_silently(rp, browser, http, alices_id_token):
    """Defect 17: idpyoidc never looked at id_token_hint (a misspelt claim name)."""
    code, verifier = flows.get_code(browser, prompt="none", id_token_hint=alices_id_token)
    assert flows.redeem(http, code, verifier).status_code == 200
    # through a new login, the stored request keeps its verified hint
    _, challenge = flows.pkce_pair()
    asked = browser.get("/oidc/authorize", flows.auth_params(challenge, prompt="login", id_token_hint=alices_id_token))
    resume = flows.query(asked)["next"]
    browser.post("/accounts/login/", {"username": "alice", "password": "pw", "next": resume})
    assert browser.get(resume)["Location"].startswith(flows.REDIRECT_URI)


def test_id_token_hint_of_another_user_asks_for_login(rp, browser, http, alices_id_token, django_user_model):
    from django.test import Client as HttpClient

    django_user_model.objects.create_user("bob", "bob@example.com", "pw")
    bob = HttpClient()
    bob.login(username="bob", password="pw")
    _, challenge = flows.pkce_pair()
    silent = bob.get("/oidc/authorize", flows.auth_params(challenge, prompt="none", id_token_hint=alices_id_token))
    assert error_redirect(silent)["error"] == "login_required"
    asked = bob.get("/oidc/authorize", flows.auth_params(challenge, id_token_hint=alices_id_token))
    assert asked["Location"].startswith("/accounts/login/")


def test_id_token_hint_not_issued_by_the_op_asks_for_login(rp, browser, alices_id_token):
    from cryptojwt.jwk.ec import new_ec_key
    from cryptojwt.jwt import JWT
    from cryptojwt.key_jar import KeyJar

    from oidc_provider.models import Client

    key = new_ec_key("P-256", kid="rp-key")
    Client.objects.filter(client_id="rp1").update(jwks={"keys": [key.serialize()]})  # the client's registered keys
    client_keys = KeyJar()
    client_keys.add_keys("rp1", [key])
    claims = flows.jwt_claims(alices_id_token)
    forged = JWT(client_keys, iss="rp1", lifetime=600, sign_alg="ES256").pack(
        payload={"sub": claims["sub"], "sid": claims["sid"]}, recv="rp1", issuer_id="rp1"
    )
    _, challenge = flows.pkce_pair()
    response = browser.get("/oidc/authorize", flows.auth_params(challenge, prompt="none", id_token_hint=forged))
    assert error_redirect(response)["error"] == "login_required"


def test_form_post_response_mode(rp, browser):
    flows.get_code(browser)
    response = browser.get("/oidc/authorize", flows.auth_params(flows.pkce_pair()[1], response_mode="form_post"))
    assert response.status_code == 200
    assert b'action="https://rp.example/cb"' in response.content and b'name="code"' in response.content


def test_expired_pending_request_shows_error_page(rp, browser, settings):
    response = browser.get("/oidc/authorize", flows.auth_params("x" * 43))
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "PENDING_REQUEST_LIFETIME": -1}
    assert browser.get(response["Location"]).status_code == 400


def test_op_pages_cannot_be_framed(rp, browser, settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "clickjacking" not in m]  # not the site's doing
    consent = browser.get(browser.get("/oidc/authorize", flows.auth_params("x" * 43))["Location"])
    error = browser.get("/oidc/authorize", {"client_id": "nope"})
    for response in (consent, error):
        assert response["X-Frame-Options"] == "DENY"
        assert response["Content-Security-Policy"] == "frame-ancestors 'none'"


@pytest.mark.parametrize("prompt", [None, "login"])
def test_setup_auth_makes_the_session_the_stock_method_makes(rp, user, prompt):
    """Speed rewrite (idpy/authorization.py ``setup_auth``): a signed-in request gets the session idpyoidc's
    ``setup_auth`` makes, without URL-encoding the request for a login page; ``prompt=login`` (and any
    other case) is the stock method's: the login asked for."""
    from unittest import mock

    from idpyoidc.server.oauth2 import authorization as stock

    from oidc_provider.storage.unit_of_work import GRANTS, unit_of_work
    from oidc_provider.views.authorization import authorization_endpoint

    endpoint = authorization_endpoint()
    parsed = endpoint.parse_request(flows.auth_params(flows.pkce_pair()[1], prompt=prompt))
    cinfo = endpoint.upstream_get("context").cdb["rp1"]
    authn = {"uid": str(user.pk), "authn_time": int(time.time()) - 5}
    with unit_of_work(GRANTS), mock.patch.object(stock, "authn_args_gather", wraps=stock.authn_args_gather) as gather:
        ours = endpoint.setup_auth(parsed, flows.REDIRECT_URI, cinfo, [], authn=authn)
        assert gather.call_count == (1 if prompt else 0)
        theirs = stock.Authorization.setup_auth(endpoint, parsed, flows.REDIRECT_URI, cinfo, [], authn=authn)
        if prompt:
            assert ours.keys() == theirs.keys() == {"function", "args"} and ours["args"] == theirs["args"]
            return
        assert ours.keys() == theirs.keys() == {"session_id", "identity", "user"}
        assert (
            (ours["identity"], ours["user"])
            == (theirs["identity"], theirs["user"])
            == ({"uid": str(user.pk)}, str(user.pk))
        )
        manager = endpoint.upstream_get("context").session_manager
        mine, stocks = manager[ours["session_id"]], manager[theirs["session_id"]]
        assert mine is not stocks
        different = ("id", "issued_at", "expires_at", "authentication_event")
        assert {k: v for k, v in vars(mine).items() if k not in different} == {
            k: v for k, v in vars(stocks).items() if k not in different
        }
        event, stock_event = mine.authentication_event.to_dict(), stocks.authentication_event.to_dict()
        assert abs(event.pop("valid_until") - stock_event.pop("valid_until")) <= 1 and event == stock_event


def test_each_step_after_parsing_runs_once(rp):
    """Defect 207: idpyoidc's OIDC endpoint listed ``_do_request_uri`` and ``_post_parse_request`` twice,
    so every authorization request was checked twice over (the redirect URI matched twice, and so on)."""
    from unittest import mock

    from oidc_provider.idpy import authorization
    from oidc_provider.views.authorization import authorization_endpoint

    endpoint = authorization.Authorization(mock.Mock())
    steps = [step.__func__ for step in endpoint.post_parse_request]
    assert steps == [authorization.Authorization._do_request_uri, authorization.Authorization._post_parse_request]
    with mock.patch.object(
        authorization, "registered_redirect_uri", wraps=authorization.registered_redirect_uri
    ) as check:
        parsed = authorization_endpoint().parse_request(flows.auth_params(flows.pkce_pair()[1]))
    assert "error" not in parsed and check.call_count == 1
