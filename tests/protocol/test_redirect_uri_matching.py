"""Exact redirect_uri matching (RFC 9700 §4.1.3, OIDC Core §3.1.2.1; defect 60): the authorization
endpoint accepts only a registered redirect_uri, compared as a plain string, and never redirects
an error to anything else."""

import pytest

from tests import flows

REGISTERED = "https://rp.example/cb?a=1&b=x%2Fy"


@pytest.fixture
def rp_with_query(db):
    """rp1 whose only redirect_uri has a query (stock idpyoidc stops at the first registered URI
    with the same base, so one with and one without a query cannot both be used)."""
    from django.core.management import call_command

    call_command(
        "createclient",
        "--client-id",
        "rp1",
        "--client-secret",
        "s3cret",
        "--redirect-uri",
        REGISTERED,
        "--scope",
        "openid profile email",
        stdout=open("/dev/null", "w"),
    )
    return "rp1"


def assert_refused(response):
    """An error page, never a redirect: the URI is not a verified one."""
    assert response.status_code == 400 and not response.has_header("Location"), response.get("Location")
    assert b"cannot be completed" in response.content


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://rp.example/cb/",  # trailing slash
        "https://rp.example/CB",  # case of the path
        "HTTPS://rp.example/cb",  # case of the scheme
        "https://RP.example/cb",  # case of the host
        "https://rp.example:443/cb",  # explicit default port
        "https://rp%2Eexample/cb",  # percent-encoded host
        "https://rp.example/%63b",  # percent-encoded path character
        "https://rp.example/cb%3Fx=1",  # encoded query separator
        "https://rp.example/cb?",  # empty query
        "https://rp.example/cb?x=1",  # added query
        "https://rp.example/cb#",  # empty fragment
        "https://evil@rp.example/cb",  # userinfo
        "https://rp.example@evil.example/cb",  # userinfo that names the RP
        "https://rp.example/cb/../cb",  # dot segments
        "https://rp.example/./cb",
        "https://rp.example/cb ",  # trailing space
        "https://rp.example//cb",
    ],
)
def test_a_variant_of_the_registered_uri_is_refused(rp, browser, redirect_uri):
    assert_refused(browser.get("/oidc/authorize", flows.auth_params("x" * 43, redirect_uri=redirect_uri)))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://rp.example/cb?b=x%2Fy&a=1",  # reordered query
        "https://rp.example/cb?a=1&b=x/y",  # decoded query value
        "https://rp.example/cb?a=1&b=x%2fy",  # other case of the percent-encoding
        "https://rp.example/cb?a=1&b=x%2Fy&c=3",  # added query parameter
        "https://rp.example/cb?a=1&a=1&b=x%2Fy",  # repeated query parameter
        "https://rp.example/cb?a=1",  # a registered parameter missing
        "https://rp.example/cb",
        "https%3A%2F%2Frp.example%2Fcb%3Fa%3D1%26b%3Dx%252Fy",  # the whole URI encoded once more
    ],
)
def test_a_variant_of_a_registered_query_is_refused(rp_with_query, browser, redirect_uri):
    assert_refused(browser.get("/oidc/authorize", flows.auth_params("x" * 43, redirect_uri=redirect_uri)))


def test_the_exact_registered_uri_with_a_query_works(rp_with_query, browser, http):
    verifier, challenge = flows.pkce_pair()
    response = flows.authorize(browser, challenge, redirect_uri=REGISTERED)
    assert response.status_code == 302 and response["Location"].startswith(REGISTERED + "&"), response["Location"]
    code = flows.query(response)["code"]
    tokens = flows.redeem(http, code, verifier, redirect_uri=REGISTERED)
    assert tokens.status_code == 200, tokens.content


def test_an_error_goes_only_to_the_exact_registered_uri(rp_with_query, browser):
    params = flows.auth_params("x" * 43, redirect_uri=REGISTERED, response_type="token")
    response = browser.get("/oidc/authorize", params)
    assert response.status_code == 302 and response["Location"].startswith(REGISTERED + "&error=")
    params["redirect_uri"] = "https://rp.example/cb?b=x%2Fy&a=1"
    assert_refused(browser.get("/oidc/authorize", params))


def test_the_registered_uri_works(rp, browser):
    _, challenge = flows.pkce_pair()
    assert flows.query(flows.authorize(browser, challenge))["code"]
