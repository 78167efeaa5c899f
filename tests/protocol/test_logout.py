"""Logout (OpenID Connect RP-Initiated, Back-Channel and Front-Channel Logout 1.0) through the OP's
views: every path that ends the OP session revokes its tokens and tells its clients."""

import time
from unittest import mock

import pytest
from cryptojwt.jwk.ec import new_ec_key
from cryptojwt.jwt import JWT
from cryptojwt.key_jar import KeyJar
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient

from oidc_provider.models import Client, OPSession, SessionNode
from oidc_provider.server import get_server
from tests import flows
from tests.page_parts import Element, error_page_log, page_parts

BCL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
BYE = "https://rp.example/bye"


@pytest.fixture
def rp(db):
    flows.make_client()
    Client.objects.filter(client_id="rp1").update(
        post_logout_redirect_uris=[BYE, "https://rp.example/bye2?x=1"],
        backchannel_logout_uri="https://rp.example/backchannel",
        backchannel_logout_session_required=True,
    )
    return "rp1"


@pytest.fixture
def fc_rp(db):
    """A second client that uses front-channel logout only."""
    flows.make_client("rp2", "s3cret2")
    Client.objects.filter(client_id="rp2").update(
        frontchannel_logout_uri="https://rp.example/frontchannel?app=2", frontchannel_logout_session_required=True
    )
    return "rp2"


@pytest.fixture
def end_session(django_capture_on_commit_callbacks):
    """GET /oidc/end_session as ``browser``; back-channel deliveries dispatch at commit as in production."""

    def call(browser, method="get", **params):
        with django_capture_on_commit_callbacks(execute=True):
            return getattr(browser, method)("/oidc/end_session", params)

    return call


def userinfo(http, tokens):
    return http.get("/oidc/userinfo", HTTP_AUTHORIZATION="Bearer " + tokens["access_token"])


def is_logged_in(browser):
    return "_auth_user_id" in browser.session


def asks_for_login(browser, client_id="rp1"):
    _, challenge = flows.pkce_pair()
    response = browser.get("/oidc/authorize", flows.auth_params(challenge, client_id=client_id))
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def assert_valid_logout_token(http, delivery, client_id, id_token):
    """Back-Channel Logout 1.0 §2.4 and §2.6, checked as an RP would."""
    claims, header = flows.verified_claims(http, delivery["logout_token"])
    assert header["typ"] == "logout+jwt"  # defect 79
    assert claims["iss"] == "http://testserver/oidc" and claims["aud"] == [client_id]
    assert claims["events"] == {BCL_EVENT: {}}
    id_claims = flows.jwt_claims(id_token)
    assert claims["sid"] == id_claims["sid"] and claims["sub"] == id_claims["sub"]
    assert "nonce" not in claims and claims["jti"]
    assert claims["iat"] <= time.time() + 5 and time.time() < claims["exp"] <= claims["iat"] + 120


# RP-initiated logout


def test_logout_with_a_hint_of_this_session_ends_everything(rp, browser, http, end_session, deliveries):
    tokens = flows.get_tokens(browser, http)
    response = end_session(browser, id_token_hint=tokens["id_token"], post_logout_redirect_uri=BYE, state="s-1")
    # no confirmation page: the hint belongs to the current OP session
    assert response.status_code == 302 and response["Location"] == f"{BYE}?state=s-1"
    assert not is_logged_in(browser)  # the Django session ended too
    assert userinfo(http, tokens).status_code == 401  # defect 6: the tokens are dead
    assert OPSession.objects.get().ended_at is not None
    grants = SessionNode.objects.filter(kind=SessionNode.GRANT)
    assert grants and all(node.revoked for node in grants)
    # defect 6: every token of the ended grants is revoked too, not only the grant
    issued = [token for node in grants for item in node.data["issued_token"] for token in item.values()]
    assert issued and all(token.get("revoked") for token in issued)
    [delivery] = deliveries
    assert delivery["client_id"] == "rp1" and delivery["uri"] == "https://rp.example/backchannel"
    assert_valid_logout_token(http, delivery, "rp1", tokens["id_token"])
    assert asks_for_login(browser)


def test_logout_endpoint_accepts_post(rp, browser, http, end_session):
    tokens = flows.get_tokens(browser, http)
    response = end_session(browser, method="post", id_token_hint=tokens["id_token"], post_logout_redirect_uri=BYE)
    assert response.status_code == 302 and response["Location"] == BYE
    assert not is_logged_in(browser)


def test_end_session_takes_a_posted_hint_without_a_csrf_token(rp, user, http, end_session):
    """RP-Initiated Logout 1.0 §2: an RP may POST the hint (keeping it out of URLs and access logs);
    its form comes from the RP's origin, so it carries no CSRF token of the OP's."""
    Client.objects.filter(client_id="rp1").update(skip_consent=True)  # no consent form to post
    browser = HttpClient(enforce_csrf_checks=True)
    browser.login(username="alice", password="pw")
    tokens = flows.get_tokens(browser, http)
    response = end_session(
        browser, method="post", id_token_hint=tokens["id_token"], post_logout_redirect_uri=BYE, state="s-2"
    )
    assert response.status_code == 302 and response["Location"] == f"{BYE}?state=s-2"
    assert not is_logged_in(browser) and userinfo(http, tokens).status_code == 401


def test_expired_hint_is_accepted(rp, browser, http, end_session):
    """RP-Initiated Logout 1.0 §2: the OP accepts an expired ID token as id_token_hint."""
    tokens = flows.get_tokens(browser, http)
    claims = flows.jwt_claims(tokens["id_token"])
    payload = {k: v for k, v in claims.items() if k not in ("iss", "aud", "iat", "exp")}
    signer = JWT(get_server().keyjar, iss=claims["iss"], lifetime=60, sign_alg="RS256")
    expired = signer.pack(payload=payload, recv="rp1", iat=int(time.time()) - 3600)
    assert flows.jwt_claims(expired)["exp"] < time.time()
    response = end_session(browser, id_token_hint=expired, post_logout_redirect_uri=BYE)
    assert response.status_code == 302 and response["Location"] == BYE
    assert userinfo(http, tokens).status_code == 401


def test_second_registered_post_logout_redirect_uri_is_followed(rp, browser, http, end_session):
    """Defect 5: idpyoidc knew the first registered URI only."""
    tokens = flows.get_tokens(browser, http)
    response = end_session(
        browser, id_token_hint=tokens["id_token"], post_logout_redirect_uri="https://rp.example/bye2?x=1"
    )
    assert response["Location"] == "https://rp.example/bye2?x=1"


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/bye",
        f"{BYE}/",
        f"{BYE}?x=1",
        "https://rp.example/bye2",
        f"{BYE}#f",
        # simple string comparison: no unquoting, no case folding, no query as a set
        "https://rp.example/by%65",
        "HTTPS://rp.example/bye",
        "https://RP.example/bye",
        "https://rp.example/bye2?x=%31",
        "https://rp.example/bye2?x=1&x=1",
    ],
)
def test_unregistered_post_logout_redirect_uri_is_not_followed(rp, browser, http, end_session, deliveries, uri):
    tokens = flows.get_tokens(browser, http)
    response = end_session(browser, id_token_hint=tokens["id_token"], post_logout_redirect_uri=uri, state="s-1")
    assert response.status_code == 200 and "Location" not in response
    assert "evil.example" not in response.content.decode()
    goes_home(response, "You are signed out")
    # the logout itself happened
    assert not is_logged_in(browser) and userinfo(http, tokens).status_code == 401 and len(deliveries) == 1


def test_post_logout_redirect_uri_without_any_client_is_not_followed(db, http):
    response = http.get("/oidc/end_session", {"post_logout_redirect_uri": BYE})
    assert response.status_code == 200 and "Location" not in response
    goes_home(response, "You are signed out")


def test_client_id_without_hint_verifies_the_redirect(rp, http):
    """Defect 37: the stock request refused post_logout_redirect_uri without id_token_hint."""
    response = http.get("/oidc/end_session", {"client_id": "rp1", "post_logout_redirect_uri": BYE, "state": "s"})
    assert response.status_code == 302 and response["Location"] == f"{BYE}?state=s"


def test_a_parameter_named_as_the_verified_hint_is_ignored(rp, browser, http):
    """Defect 202: ``__verified_id_token_hint`` is where idpyoidc keeps the hint it verified; a
    client's string of that name raised TypeError (a 500). It is dropped: no hint, so the anonymous
    browser goes back and the signed-in user is asked."""
    params = {"__verified_id_token_hint": "x", "client_id": "rp1", "post_logout_redirect_uri": BYE, "state": "s"}
    response = http.get("/oidc/end_session", params)
    assert response.status_code == 302 and response["Location"] == f"{BYE}?state=s"
    response = browser.get("/oidc/end_session", params)
    assert response.status_code == 200 and is_logged_in(browser)


def test_client_id_must_match_the_hint(rp, fc_rp, browser, http, end_session, caplog):
    tokens = flows.get_tokens(browser, http)
    response = end_session(browser, id_token_hint=tokens["id_token"], client_id="rp2")
    assert error_page_log(response, caplog).endswith(
        ": error=invalid_request client_id=rp2 path=/oidc/end_session "
        'description="client_id is not the audience of id_token_hint."'
    )
    assert page_parts(response).text.startswith(
        "This sign-out request cannot be completed client_id is not the audience of id_token_hint."
    )
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    assert is_logged_in(browser) and userinfo(http, tokens).status_code == 200


def forged_hints(tokens):
    """ID tokens the OP did not sign: a bad signature, alg none, and one signed by a client's own key
    with the client as issuer (a registered client's keys are in the OP's key jar too)."""
    header, payload, signature = tokens["id_token"].split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    claims = flows.jwt_claims(tokens["id_token"])
    none_token = JWT(KeyJar(), iss=claims["iss"], sign_alg="none").pack(
        payload={"sub": claims["sub"], "sid": claims["sid"]}, recv="rp1"
    )
    client_key = new_ec_key("P-256", kid="c1")
    client_keys = KeyJar()
    client_keys.add_keys("rp1", [client_key])
    get_server().keyjar.add_keys("rp1", [client_key])  # what registration with jwks does
    by_client = JWT(client_keys, iss="rp1", lifetime=600, sign_alg="ES256").pack(
        payload={"sub": claims["sub"], "sid": claims["sid"]}, recv="rp1", issuer_id="rp1"
    )
    return {
        "bad signature": f"{header}.{payload}.{flipped}",
        "alg none": none_token,
        "client-signed": by_client,
        "garbage": "not-a-jwt",
    }


@pytest.mark.parametrize("case", ["bad signature", "alg none", "client-signed", "garbage"])
def test_hint_not_signed_by_the_op_is_refused(rp, browser, http, end_session, case, caplog):
    tokens = flows.get_tokens(browser, http)
    caplog.clear()
    response = end_session(browser, id_token_hint=forged_hints(tokens)[case], post_logout_redirect_uri=BYE)
    assert error_page_log(response, caplog).endswith(
        ': error=invalid_request client_id="" path=/oidc/end_session '
        'description="id_token_hint is not an ID token of this provider"'
    )
    assert is_logged_in(browser) and userinfo(http, tokens).status_code == 200


def test_repeated_parameter_is_refused(rp, browser, end_session, caplog):
    response = browser.get("/oidc/end_session?state=a&state=b&client_id=rp1")
    assert error_page_log(response, caplog).endswith(
        ': error=invalid_request client_id=rp1 path=/oidc/end_session description="Repeated parameter: state"'
    )
    assert "Repeated parameter: state" in page_parts(response).text
    assert is_logged_in(browser)


def test_an_error_page_is_in_the_ui_locales_language(rp, browser, caplog):
    response = browser.get("/oidc/end_session?state=a&state=b&ui_locales=tlh+fr")
    error_page_log(response, caplog, home_text="Aller à la page d’accueil")
    assert '<html lang="fr">' in response.content.decode()


@pytest.mark.parametrize(
    ("params", "logged"),
    [({"client_id": "rp\x00"}, r"rp\x00"), ({"post_logout_redirect_uri": "https://rp.example/\x00"}, "rp1")],
)
def test_nul_bytes_are_refused(rp, browser, params, logged, caplog):
    response = browser.get("/oidc/end_session", {"client_id": "rp1", **params})
    assert error_page_log(response, caplog).endswith(
        f': error=invalid_request client_id={logged} path=/oidc/end_session description="Malformed request"'
    )


def test_not_logged_in_goes_straight_back(rp, browser, http, end_session):
    tokens = flows.get_tokens(browser, http)
    response = end_session(HttpClient(), id_token_hint=tokens["id_token"], post_logout_redirect_uri=BYE, state="x")
    assert response.status_code == 302 and response["Location"] == f"{BYE}?state=x"
    # another browser's hint ends nothing
    assert is_logged_in(browser) and userinfo(http, tokens).status_code == 200
    plain = HttpClient().get("/oidc/end_session")
    goes_home(plain, "You are signed out")
    assert "Your session at this site has ended" not in page_parts(plain).text  # there was none


# RFC 9700 §4.11.2: a client that registered itself is not redirected to unasked


def self_registered(client_id="rp1"):
    Client.objects.filter(client_id=client_id).update(registered_via="registration")


UNVETTED_WARNING = (
    "The application asks to take you to rp.example, a site this provider has not vetted. "
    "Continue only if you expected to go there."
)


def continue_page(response, target, outcome="You are signed out", link="Continue to rp.example"):
    """A result page with one link to ``target``, its host named with a warning, and nothing that
    follows it."""
    page = response.content.decode()
    assert response.status_code == 200 and "Location" not in response
    parts = page_parts(response)
    assert parts.by_id["outcome"] == Element("h1", {"id": "outcome"}, outcome)
    assert parts.by_id["continue"] == Element("a", {"id": "continue", "class": "button primary", "href": target}, link)
    assert "home" not in parts.by_id and UNVETTED_WARNING in parts.text
    assert "<strong>rp.example</strong>" in page and "<script" not in page and "http-equiv" not in page
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"


def goes_home(response, outcome, home="/"):
    """A result page whose only next step is the site's home page."""
    assert response.status_code == 200 and "Location" not in response
    parts = page_parts(response)
    assert parts.by_id["outcome"] == Element("h1", {"id": "outcome"}, outcome)
    assert parts.by_id["home"] == Element(
        "a", {"id": "home", "class": "button primary", "href": home}, "Go to the home page"
    )
    assert "continue" not in parts.by_id and "<script" not in response.content.decode()
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"


def test_logout_of_a_self_registered_client_shows_where_it_goes(rp, browser, http, end_session):
    self_registered()
    tokens = flows.get_tokens(browser, http)
    response = end_session(browser, id_token_hint=tokens["id_token"], post_logout_redirect_uri=BYE, state="s-1")
    continue_page(response, f"{BYE}?state=s-1")
    assert not is_logged_in(browser) and userinfo(http, tokens).status_code == 401  # the logout itself happened


def test_confirmed_logout_of_a_self_registered_client_shows_where_it_goes(rp, browser, http):
    self_registered()
    flows.get_tokens(browser, http)
    form = confirm_form(browser.get("/oidc/end_session", {"client_id": "rp1", "post_logout_redirect_uri": BYE}))
    continue_page(browser.post("/oidc/end_session/confirm", {**form, "decision": "logout"}), BYE)
    assert not is_logged_in(browser)


def test_front_channel_logout_does_not_continue_to_a_self_registered_client(rp, fc_rp, browser, http, end_session):
    self_registered()
    back = flows.get_tokens(browser, http)
    flows.get_tokens(browser, http, client_id="rp2", secret="s3cret2")
    response = end_session(browser, id_token_hint=back["id_token"], post_logout_redirect_uri=BYE)
    continue_page(response, BYE)
    assert '<iframe src="https://rp.example/frontchannel?' in response.content.decode()  # rp2 is still told


def test_anonymous_logout_of_a_self_registered_client_shows_where_it_goes(rp, http):
    self_registered()
    continue_page(http.get("/oidc/end_session", {"client_id": "rp1", "post_logout_redirect_uri": BYE}), BYE)


def test_trusted_self_registered_client_is_redirected_to_after_logout(rp, http):
    Client.objects.filter(client_id="rp1").update(registered_via="registration", skip_consent=True)
    response = http.get("/oidc/end_session", {"client_id": "rp1", "post_logout_redirect_uri": BYE})
    assert response.status_code == 302 and response["Location"] == BYE


# the confirmation page


def confirm_form(response):
    page = response.content.decode()
    assert response.status_code == 200 and "Sign out?" in page
    assert 'method="post" action="/oidc/end_session/confirm"' in page and "csrfmiddlewaretoken" in page
    return {"pending": page.split('name="pending" value="', 1)[1].split('"', 1)[0]}


def test_without_a_hint_the_user_is_asked(rp, browser, http, django_capture_on_commit_callbacks, deliveries):
    tokens = flows.get_tokens(browser, http)
    form = confirm_form(browser.get("/oidc/end_session", {"client_id": "rp1", "post_logout_redirect_uri": BYE}))
    assert is_logged_in(browser)  # nothing happened yet
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/oidc/end_session/confirm", {**form, "decision": "logout"})
    assert response.status_code == 302 and response["Location"] == BYE
    assert not is_logged_in(browser) and userinfo(http, tokens).status_code == 401 and len(deliveries) == 1


def test_the_user_may_stay_signed_in(rp, browser, http, deliveries):
    tokens = flows.get_tokens(browser, http)
    form = confirm_form(browser.get("/oidc/end_session"))
    response = browser.post("/oidc/end_session/confirm", {**form, "decision": "stay"})
    goes_home(response, "You are still signed in")
    assert "Nothing was changed: you are signed in as alice" in page_parts(response).text
    assert is_logged_in(browser) and userinfo(http, tokens).status_code == 200 and deliveries == []


def test_staying_signed_in_offers_the_way_back_to_the_application(rp, browser, http, deliveries):
    """RP-Initiated Logout 1.0 §3 redirects after a logout; after none, the application's verified
    post_logout_redirect_uri (with its state) is a link back, and nothing claims a logout."""
    tokens = flows.get_tokens(browser, http)
    params = {"client_id": "rp1", "post_logout_redirect_uri": BYE, "state": "s-1"}
    form = confirm_form(browser.get("/oidc/end_session", params))
    response = browser.post("/oidc/end_session/confirm", {**form, "decision": "stay"})
    assert response.status_code == 200 and "Location" not in response
    parts = page_parts(response)
    assert parts.by_id["outcome"] == Element("h1", {"id": "outcome"}, "You are still signed in")
    link = {"id": "continue", "class": "button primary", "href": f"{BYE}?state=s-1"}
    assert parts.by_id["continue"] == Element("a", link, "Back to rp.example")
    assert "home" not in parts.by_id and "signed out" not in parts.text and "not vetted" not in parts.text
    assert "<script" not in response.content.decode() and "http-equiv" not in response.content.decode()
    assert is_logged_in(browser) and userinfo(http, tokens).status_code == 200 and deliveries == []


def test_staying_signed_in_names_a_self_registered_clients_host_with_a_warning(rp, browser, http):
    self_registered()
    flows.get_tokens(browser, http)
    form = confirm_form(browser.get("/oidc/end_session", {"client_id": "rp1", "post_logout_redirect_uri": BYE}))
    response = browser.post("/oidc/end_session/confirm", {**form, "decision": "stay"})
    continue_page(response, BYE, outcome="You are still signed in", link="Back to rp.example")
    assert is_logged_in(browser)


def test_an_unregistered_uri_is_not_offered_after_staying(rp, browser, http):
    flows.get_tokens(browser, http)
    params = {"client_id": "rp1", "post_logout_redirect_uri": "https://evil.example/bye"}
    response = browser.post(
        "/oidc/end_session/confirm", {**confirm_form(browser.get("/oidc/end_session", params)), "decision": "stay"}
    )
    goes_home(response, "You are still signed in")
    assert "evil.example" not in response.content.decode()


@pytest.mark.parametrize(
    ("home", "href"), [("https://www.example.com/", "https://www.example.com/"), ("login", "/accounts/login/")]
)
def test_home_url_is_the_setting(rp, browser, settings, caplog, home, href):
    """``HOME_URL``: a URL, or a URL pattern's name as ``resolve_url`` takes it."""
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "HOME_URL": home}
    error_page_log(browser.get("/oidc/end_session?state=a&state=b"), caplog, home=href)
    form = confirm_form(browser.get("/oidc/end_session"))
    goes_home(browser.post("/oidc/end_session/confirm", {**form, "decision": "stay"}), "You are still signed in", href)
    goes_home(HttpClient().get("/oidc/end_session"), "You are signed out", href)


@pytest.mark.parametrize("decision", ["stay", "logout"])
def test_a_confirmation_after_signing_out_elsewhere_says_signed_out(rp, browser, http, decision):
    """Signed out in another tab meanwhile: "still signed in" would be untrue whatever is pressed;
    the client is vetted and no front-channel page has to load, so the browser goes back to it."""
    flows.get_tokens(browser, http)
    form = confirm_form(browser.get("/oidc/end_session", {"client_id": "rp1", "post_logout_redirect_uri": BYE}))
    browser.post("/accounts/logout/")
    response = browser.post("/oidc/end_session/confirm", {**form, "decision": decision})
    assert response.status_code == 302 and response["Location"] == BYE


def test_signed_out_page_says_the_session_ended(rp, browser, http):
    flows.get_tokens(browser, http)
    form = confirm_form(browser.get("/oidc/end_session"))
    response = browser.post("/oidc/end_session/confirm", {**form, "decision": "logout"})
    goes_home(response, "You are signed out")
    assert (
        "Your session at this site has ended, and the applications you signed in to from here are told to end theirs."
        in page_parts(response).text
    )


def test_hint_of_another_browser_asks_and_ends_only_this_browser(
    rp, browser, http, django_capture_on_commit_callbacks, deliveries
):
    """Defect 39: idpyoidc's logout_all_clients ended the user's sessions in every browser."""
    elsewhere = flows.get_tokens(browser, http)
    other = HttpClient()
    other.login(username="alice", password="pw")
    here = flows.get_tokens(other, http)
    form = confirm_form(other.get("/oidc/end_session", {"id_token_hint": elsewhere["id_token"]}))
    with django_capture_on_commit_callbacks(execute=True):
        other.post("/oidc/end_session/confirm", {**form, "decision": "logout"})
    assert userinfo(http, here).status_code == 401 and not is_logged_in(other)
    assert userinfo(http, elsewhere).status_code == 200 and is_logged_in(browser)
    assert [d["client_id"] for d in deliveries] == ["rp1"]
    assert flows.jwt_claims(deliveries[0]["logout_token"])["sid"] == flows.jwt_claims(here["id_token"])["sid"]


def test_confirmation_is_csrf_protected(rp, user):
    browser = HttpClient(enforce_csrf_checks=True)
    browser.login(username="alice", password="pw")
    form = confirm_form(browser.get("/oidc/end_session"))
    assert browser.post("/oidc/end_session/confirm", {**form, "decision": "logout"}).status_code == 403
    assert is_logged_in(browser)


def test_tampered_confirmation_is_refused(rp, browser, caplog):
    response = browser.post("/oidc/end_session/confirm", {"pending": "forged", "decision": "logout"})
    expired = "This sign-out request has expired. Go back to the application and start again."
    assert error_page_log(response, caplog).endswith(
        f': error=invalid_request client_id="" path=/oidc/end_session/confirm description="{expired}"'
    )
    assert expired in page_parts(response).text
    assert is_logged_in(browser)


def test_confirmation_takes_post_only(rp, browser):
    assert browser.get("/oidc/end_session/confirm").status_code == 405


def test_ui_locales_picks_the_page_language(rp, browser):
    response = browser.get("/oidc/end_session", {"ui_locales": "tlh fr-CA de"})
    assert '<html lang="fr">' in response.content.decode()


def test_logout_pages_are_not_cached_or_framed(rp, browser, http, end_session):
    confirm = browser.get("/oidc/end_session")
    tokens = flows.get_tokens(browser, http)
    done = end_session(browser, id_token_hint=tokens["id_token"])
    for response in (confirm, done):
        assert response.status_code == 200
        assert response["X-Frame-Options"] == "DENY" and response["Cache-Control"] == "no-store"


# front-channel logout


def test_signed_out_page_loads_each_front_channel_uri_then_continues(rp, fc_rp, browser, http, end_session, deliveries):
    back = flows.get_tokens(browser, http)
    front = flows.get_tokens(browser, http, client_id="rp2", secret="s3cret2")
    response = end_session(browser, id_token_hint=back["id_token"], post_logout_redirect_uri=BYE, state="s")
    assert response.status_code == 200
    page = response.content.decode()
    sid = flows.jwt_claims(front["id_token"])["sid"]
    from urllib.parse import urlencode

    iframe = "https://rp.example/frontchannel?" + urlencode({"app": "2", "iss": "http://testserver/oidc", "sid": sid})
    # sandboxed: the application's page runs its script with its cookies, but cannot navigate this page
    src = iframe.replace("&", "&amp;")
    assert f'<iframe src="{src}" hidden title="sign-out" sandbox="allow-scripts allow-same-origin">' in page
    link = {"id": "continue", "class": "button primary", "href": f"{BYE}?state=s"}
    assert page_parts(response).by_id["continue"] == Element("a", link, "Continue to rp.example")
    assert 'document.getElementById("continue").href' in page and "not vetted" not in page  # continues by itself
    assert userinfo(http, front).status_code == 401 and userinfo(http, back).status_code == 401
    assert [d["client_id"] for d in deliveries] == ["rp1"]  # rp2 registered no back-channel URI


def test_front_channel_uri_is_escaped(rp, browser, http, end_session):
    """Defect 38: the stock iframe was formatted without escaping the client's URI."""
    Client.objects.filter(client_id="rp1").update(
        frontchannel_logout_uri='https://rp.example/fc?a="><script>x()</script>'
    )
    tokens = flows.get_tokens(browser, http)
    page = end_session(browser, id_token_hint=tokens["id_token"]).content.decode()
    assert "<script>x()" not in page and "&quot;&gt;&lt;script&gt;x()" in page


def test_without_session_required_the_uri_is_loaded_as_registered(fc_rp, browser, http, end_session):
    Client.objects.filter(client_id="rp2").update(frontchannel_logout_session_required=False)
    tokens = flows.get_tokens(browser, http, client_id="rp2", secret="s3cret2")
    page = end_session(browser, id_token_hint=tokens["id_token"]).content.decode()
    assert '<iframe src="https://rp.example/frontchannel?app=2"' in page


# back-channel details


def test_logout_token_carries_the_current_grants_sid(rp, user, http, end_session, deliveries):
    """Defect 39: idpyoidc took the first grant with an ID token, a revoked one of an earlier login as readily."""
    browser = HttpClient()
    for _ in range(2):
        browser.login(username="alice", password="pw")
        tokens = flows.get_tokens(browser, http)
        deliveries.clear()
        end_session(browser, id_token_hint=tokens["id_token"])
        [delivery] = deliveries
        assert flows.jwt_claims(delivery["logout_token"])["sid"] == flows.jwt_claims(tokens["id_token"])["sid"]


def test_after_refreshes_the_logout_token_carries_the_sid_of_each_id_token(
    offline_rp, browser, http, end_session, deliveries
):
    """A grant's row keeps one of its ID tokens, for the sid (idpy.token_pruning), and a refresh leaves
    the row as it was: every ID token of a grant carries the sid its code did, the refreshed ones too."""
    Client.objects.filter(client_id="rp1").update(backchannel_logout_uri="https://rp.example/backchannel")
    tokens = flows.offline_tokens(browser, http)
    id_tokens, refresh_token = [tokens["id_token"]], tokens["refresh_token"]
    for _ in range(2):
        refreshed = flows.refresh(http, refresh_token).json()
        id_tokens.append(refreshed["id_token"])
        refresh_token = refreshed["refresh_token"]
    assert len({flows.jwt_claims(t)["sid"] for t in id_tokens}) == 1
    assert len({flows.jwt_claims(t)["jti"] for t in id_tokens}) == 3  # three ID tokens, one sid
    end_session(browser, id_token_hint=id_tokens[-1])
    [delivery] = deliveries
    assert_valid_logout_token(http, delivery, "rp1", id_tokens[-1])


def test_each_grant_of_the_session_is_notified(rp, browser, http, end_session, deliveries):
    first = flows.get_tokens(browser, http)
    second = flows.get_tokens(browser, http)
    end_session(browser, id_token_hint=second["id_token"])
    sids = sorted(flows.jwt_claims(d["logout_token"])["sid"] for d in deliveries)
    assert sids == sorted(flows.jwt_claims(t["id_token"])["sid"] for t in (first, second))


def test_client_that_never_got_an_id_token_is_not_notified(rp, browser, http, end_session, deliveries):
    flows.get_code(browser)  # authorized, code never redeemed: the RP has no session to end
    end_session(browser)  # no hint: asks first
    assert deliveries == [] and is_logged_in(browser)
    form = confirm_form(browser.get("/oidc/end_session"))
    browser.post("/oidc/end_session/confirm", {**form, "decision": "logout"})
    assert deliveries == []


# every way out of the site ends the OP session


def test_the_sites_own_logout_view_ends_the_op_session(
    rp, browser, http, django_capture_on_commit_callbacks, deliveries
):
    tokens = flows.get_tokens(browser, http)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/accounts/logout/")
    assert response.status_code == 200 and not is_logged_in(browser)
    assert userinfo(http, tokens).status_code == 401
    assert OPSession.objects.get().ended_at is not None
    [delivery] = deliveries
    assert_valid_logout_token(http, delivery, "rp1", tokens["id_token"])


def test_logout_of_a_site_session_that_never_used_the_op(db, user):
    browser = HttpClient()
    browser.login(username="alice", password="pw")
    response = browser.post("/accounts/logout/")
    assert response.status_code == 200 and not OPSession.objects.exists()


def test_admin_revoke_ends_the_op_session(rp, browser, http, django_capture_on_commit_callbacks, deliveries):
    tokens = flows.get_tokens(browser, http)
    admin = HttpClient()
    admin.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    root = SessionNode.objects.get(kind=SessionNode.USER)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/admin/oidc_provider/sessionnode/", {"action": "revoke", "_selected_action": [root.pk]})
    assert userinfo(http, tokens).status_code == 401
    assert [d["client_id"] for d in deliveries] == ["rp1"]
    # the browser's Django session is still there, but its OP session ended: sign in again
    assert is_logged_in(browser)
    assert asks_for_login(browser) and not is_logged_in(browser)


def test_admin_revoke_of_one_grant_ends_its_op_session(rp, fc_rp, browser, http):
    first = flows.get_tokens(browser, http)
    second = flows.get_tokens(browser, http, client_id="rp2", secret="s3cret2")
    admin = HttpClient()
    admin.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    grant = SessionNode.objects.get(kind=SessionNode.GRANT, client_id="rp1")
    admin.post("/admin/oidc_provider/sessionnode/", {"action": "revoke", "_selected_action": [grant.pk]})
    assert userinfo(http, first).status_code == 401 and userinfo(http, second).status_code == 401
    assert asks_for_login(browser, "rp2")


def test_first_authorizations_of_one_login_at_once_make_one_op_session(rp, user):
    """Two first authorizations of one login, each reading the Django session before the other wrote
    the OP session's key into it (single sign-on in two tabs at once): one OP session, not two."""
    from importlib import import_module

    from django.conf import settings
    from django.test import RequestFactory

    from oidc_provider.logout import op_session_key

    browser = HttpClient()
    browser.login(username="alice", password="pw")
    store = import_module(settings.SESSION_ENGINE).SessionStore
    requests = []
    for _ in range(2):
        request = RequestFactory().get("/oidc/authorize")
        request.session, request.user = store(browser.session.session_key), user
        requests.append(request)
    assert len({op_session_key(request) for request in requests}) == 1
    assert OPSession.objects.count() == 1


def test_op_session_ending_during_the_request_refuses_the_grant(rp, browser, http):
    """The end commits after the request began and before its grant is written (the race with
    ``end_op_sessions``): no grant is made in the ended session, and the user signs in again."""
    from oidc_provider.views import authorization

    flows.get_tokens(browser, http)
    grants = SessionNode.objects.filter(kind=SessionNode.GRANT).count()
    real_auth_time = authorization.auth_time

    def ended_meanwhile(request):
        OPSession.objects.update(ended_at="2030-01-01T00:00:00Z")
        return real_auth_time(request)

    with mock.patch.object(authorization, "auth_time", ended_meanwhile):
        assert asks_for_login(browser)
    assert SessionNode.objects.filter(kind=SessionNode.GRANT).count() == grants
    assert not is_logged_in(browser)


def test_op_session_gone_means_signing_in_again(rp, browser, http):
    """``clearexpired`` deletes ended OP sessions; a browser still holding such a key gets no grant."""
    flows.get_tokens(browser, http)
    grants = SessionNode.objects.filter(kind=SessionNode.GRANT).count()
    OPSession.objects.all().delete()
    assert asks_for_login(browser) and not is_logged_in(browser)
    assert SessionNode.objects.filter(kind=SessionNode.GRANT).count() == grants


@pytest.mark.parametrize("end", ["ended", "removed"])
def test_consent_is_not_asked_in_an_ended_op_session(rp, browser, http, end):
    flows.get_tokens(browser, http)
    if end == "ended":
        OPSession.objects.update(ended_at="2030-01-01T00:00:00Z")
    else:  # by clearexpired, while the browser still holds its key
        OPSession.objects.all().delete()
    _, challenge = flows.pkce_pair()
    response = browser.get("/oidc/authorize", flows.auth_params(challenge, prompt="consent"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not is_logged_in(browser)


def test_prompt_none_after_the_admin_ended_the_session_is_login_required(rp, browser, http):
    flows.get_tokens(browser, http)
    OPSession.objects.update(ended_at="2030-01-01T00:00:00Z")
    _, challenge = flows.pkce_pair()
    response = browser.get("/oidc/authorize", flows.auth_params(challenge, prompt="none"))
    assert flows.query(response)["error"] == "login_required"


# single sign-on


def test_a_second_client_does_not_ask_for_the_password(rp, fc_rp, user, http):
    browser = HttpClient()
    _, challenge = flows.pkce_pair()
    first = browser.get("/oidc/authorize", flows.auth_params(challenge))
    assert first["Location"].startswith("/accounts/login/")
    browser.post("/accounts/login/", {"username": "alice", "password": "pw", "next": flows.query(first)["next"]})
    flows.get_tokens(browser, http)
    second = browser.get("/oidc/authorize", flows.auth_params(challenge, client_id="rp2"))
    assert second["Location"].startswith("/oidc/consent")  # consent for the new client, no login
    tokens = flows.get_tokens(browser, http, client_id="rp2", secret="s3cret2")
    assert flows.jwt_claims(tokens["id_token"])["sub"] == userinfo(http, tokens).json()["sub"]
    assert OPSession.objects.count() == 1  # one sign-in, two clients


# discovery


def test_discovery_advertises_logout(db, http):
    """Defect 77: idpyoidc advertised the RP's *_session_required names instead of the OP's."""
    discovery = http.get("/oidc/.well-known/openid-configuration").json()
    assert discovery["end_session_endpoint"] == "http://testserver/oidc/end_session"
    for name in (
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
        "frontchannel_logout_supported",
        "frontchannel_logout_session_supported",
    ):
        assert discovery[name] is True, name
    assert "backchannel_logout_session_required" not in discovery
    assert "frontchannel_logout_session_required" not in discovery
    assert "check_session_iframe" not in discovery


def test_an_id_token_hint_signed_by_a_client_is_refused(rp, browser, http):
    """The key jar verifies a JWT with the keys of whoever its ``iss`` names, a client included: a hint a
    client signed itself (any ``sid``, any ``aud``) is no ID token of this OP's (``idpy.end_session``)."""
    import json
    import time

    from cryptojwt.jwk.ec import new_ec_key
    from cryptojwt.jws.jws import JWS

    from oidc_provider.storage.keys import public_jwk

    key = new_ec_key("P-256", kid="rp-key", use="sig")
    Client.objects.filter(client_id="rp1").update(jwks={"keys": [public_jwk(key.serialize(private=True))]})
    tokens = flows.get_tokens(browser, http)
    sid = flows.jwt_claims(tokens["id_token"])["sid"]
    now = int(time.time())
    forged = JWS(
        json.dumps({"iss": "rp1", "sub": "x", "aud": ["rp1"], "sid": sid, "iat": now, "exp": now + 60}),
        alg="ES256",
        kid=key.kid,
    ).sign_compact([key])
    response = browser.get("/oidc/end_session", {"id_token_hint": forged, "post_logout_redirect_uri": BYE})
    assert response.status_code == 400 and b"id_token_hint is not an ID token of this provider" in response.content
    assert is_logged_in(browser)
