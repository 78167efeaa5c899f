"""Client metadata that is never accepted, by dynamic registration (RFC 7591), the admin form or
``createclient`` alike: one set of rules (oidc_provider/metadata.py). The tests run as production
does, with DEBUG off (http is accepted with DEBUG on, for development)."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient

from oidc_provider.models import Client
from oidc_provider.server import reset_server

pytestmark = pytest.mark.django_db

HTTPS_OR_LOOPBACK = "must be https (http only on a loopback host: 127.0.0.1, [::1] or localhost, RFC 8252 §7.3)."
PUBLIC_EXCHANGE = (
    "A public client cannot use client_credentials, urn:ietf:params:oauth:grant-type:token-exchange: "
    "it has no credentials."
)


@pytest.fixture(autouse=True)
def production(settings):
    settings.DEBUG = False
    reset_server()
    yield
    reset_server()


@pytest.fixture
def http():
    return HttpClient()


def register(http, **metadata):
    body = {"redirect_uris": ["https://rp.example/cb"], **metadata}
    return http.post("/oidc/register", json.dumps(body), content_type="application/json")


def refused(response, error, description):
    assert response.status_code == 400, response.content
    assert response.json() == {"error": error, "error_description": description}
    assert not Client.objects.exists()
    return True


def admin_errors(admin_client, **fields):
    data = {
        "client_id": "web",
        "is_active": "on",
        "redirect_uris": "https://rp.example/cb",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "scope": "openid",
        "token_endpoint_auth_method": "client_secret_basic",
        **fields,
    }
    response = admin_client.post("/admin/oidc_provider/client/add/", data)
    assert response.status_code == 200 and not Client.objects.exists()
    return response.context["adminform"].form.errors


def createclient_error(*args):
    with pytest.raises(CommandError) as caught:
        call_command("createclient", "--client-id", "x", *args, stdout=open("/dev/null", "w"))
    assert not Client.objects.exists()
    return str(caught.value)


# plain http outside loopback: a code or a logout redirect sent in the clear, or to whoever answers


def test_registration_refuses_a_plain_http_redirect_uri(http):
    assert refused(
        register(http, redirect_uris=["http://evil.example/cb"]),
        "invalid_redirect_uri",
        f"redirect_uris: http://evil.example/cb {HTTPS_OR_LOOPBACK}",
    )


def test_registration_refuses_a_plain_http_post_logout_redirect_uri(http):
    assert refused(
        register(http, post_logout_redirect_uris=["http://evil.example/bye"]),
        "invalid_client_metadata",
        f"post_logout_redirect_uris: http://evil.example/bye {HTTPS_OR_LOOPBACK}",
    )


def test_admin_refuses_plain_http_redirect_and_post_logout_uris(admin_client):
    errors = admin_errors(
        admin_client, redirect_uris="http://evil.example/cb", post_logout_redirect_uris="http://evil.example/bye"
    )
    assert errors["redirect_uris"] == [f"http://evil.example/cb {HTTPS_OR_LOOPBACK}"]
    assert errors["post_logout_redirect_uris"] == [f"http://evil.example/bye {HTTPS_OR_LOOPBACK}"]


def test_createclient_refuses_plain_http_redirect_and_post_logout_uris():
    assert (
        createclient_error("--redirect-uri", "http://evil.example/cb")
        == f"--redirect-uri: http://evil.example/cb {HTTPS_OR_LOOPBACK}"
    )
    assert createclient_error(
        "--redirect-uri", "https://rp.example/cb", "--post-logout-redirect-uri", "http://evil.example/bye"
    ) == (f"--post-logout-redirect-uri: http://evil.example/bye {HTTPS_OR_LOOPBACK}")


LOOPBACK = ["http://127.0.0.1:8400/cb", "http://[::1]:8400/cb", "http://localhost:8400/cb"]


def test_loopback_redirect_uris_stay_allowed_everywhere(http, admin_client):
    """RFC 8252 §7.3: a native app listens on a loopback port over plain http."""
    response = register(
        http, redirect_uris=LOOPBACK, post_logout_redirect_uris=LOOPBACK, token_endpoint_auth_method="none"
    )
    assert response.status_code == 201, response.content
    assert Client.objects.get().redirect_uris == LOOPBACK
    data = {
        "client_id": "web",
        "is_active": "on",
        "redirect_uris": "\n".join(LOOPBACK),
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "scope": "openid",
        "token_endpoint_auth_method": "none",
    }
    assert admin_client.post("/admin/oidc_provider/client/add/", data).status_code == 302
    call_command(
        "createclient",
        "--client-id",
        "cli",
        "--public",
        *[a for uri in LOOPBACK for a in ("--redirect-uri", uri)],
        stdout=open("/dev/null", "w"),
    )
    assert Client.objects.get(client_id="cli").redirect_uris == LOOPBACK


def test_loopback_lookalikes_are_not_loopback(http):
    assert refused(
        register(http, redirect_uris=["http://127.0.0.1.evil.example/cb"]),
        "invalid_redirect_uri",
        f"redirect_uris: http://127.0.0.1.evil.example/cb {HTTPS_OR_LOOPBACK}",
    )


@pytest.mark.parametrize("uri", ["http://127.0.0.1:8400/bc", "http://rp.example/bc"])
def test_a_plain_http_backchannel_logout_uri_is_refused_even_on_loopback(http, admin_client, uri):
    """The OP itself POSTs logout tokens there: no loopback exception."""
    assert refused(
        register(http, backchannel_logout_uri=uri),
        "invalid_client_metadata",
        f"backchannel_logout_uri: {uri} must be https.",
    )
    assert admin_errors(admin_client, backchannel_logout_uri=uri)["backchannel_logout_uri"] == [f"{uri} must be https."]


def test_a_plain_http_frontchannel_logout_uri_is_refused(http, admin_client):
    uri = "http://rp.example/fc"
    assert refused(
        register(http, frontchannel_logout_uri=uri),
        "invalid_client_metadata",
        f"frontchannel_logout_uri: {uri} {HTTPS_OR_LOOPBACK}",
    )
    assert admin_errors(
        admin_client, redirect_uris="", grant_types=["client_credentials"], frontchannel_logout_uri=uri
    )["frontchannel_logout_uri"] == [f"{uri} {HTTPS_OR_LOOPBACK}"]


# a user:password@ part: the host a person reads is not the host the URI names

USERINFO = "https://rp.example@127.0.0.1:9/x"  # loopback: the code before this fix fetched a jwks_uri at registration
NO_USERINFO = f"{USERINFO} must not contain a user name or password."


def test_registration_refuses_userinfo_in_a_redirect_uri(http):
    uri = "https://user:pass@rp.example/cb"
    assert refused(
        register(http, redirect_uris=[uri]),
        "invalid_redirect_uri",
        f"redirect_uris: {uri} must not contain a user name or password.",
    )


@pytest.mark.parametrize(
    "name",
    [
        "post_logout_redirect_uris",
        "jwks_uri",
        "backchannel_logout_uri",
        "frontchannel_logout_uri",
        "logo_uri",
        "client_uri",
        "policy_uri",
        "tos_uri",
    ],
)
def test_registration_refuses_userinfo_in_every_uri(http, name):
    value = [USERINFO] if name.endswith("_uris") else USERINFO
    assert refused(register(http, **{name: value}), "invalid_client_metadata", f"{name}: {NO_USERINFO}")


@pytest.mark.parametrize(
    "name",
    ["redirect_uris", "post_logout_redirect_uris", "jwks_uri", "backchannel_logout_uri", "frontchannel_logout_uri"],
)
def test_admin_refuses_userinfo_in_every_uri(admin_client, name):
    fields = {"token_endpoint_auth_method": "private_key_jwt"} if name == "jwks_uri" else {}
    assert admin_errors(admin_client, **fields, **{name: USERINFO})[name] == [NO_USERINFO]


@pytest.mark.parametrize("option", ["--redirect-uri", "--post-logout-redirect-uri", "--jwks-uri"])
def test_createclient_refuses_userinfo_in_every_uri(option):
    args = ["--redirect-uri", "https://rp.example/cb", "--token-endpoint-auth-method", "private_key_jwt"]
    message = createclient_error(*args, option, USERINFO)
    assert message == (NO_USERINFO if option == "--jwks-uri" else f"{option}: {NO_USERINFO}")


# grant types a client's authentication cannot back


@pytest.mark.parametrize("grant", ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"])
def test_a_public_client_cannot_register_a_confidential_grant(http, grant):
    response = register(http, token_endpoint_auth_method="none", grant_types=["authorization_code", grant])
    assert refused(
        response, "invalid_client_metadata", f"grant_types: A public client cannot use {grant}: it has no credentials."
    )


def test_the_same_rule_in_the_admin_and_createclient(admin_client):
    grants = ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]
    assert admin_errors(admin_client, token_endpoint_auth_method="none", grant_types=grants)["grant_types"] == [
        PUBLIC_EXCHANGE
    ]
    args = ["--public", "--grant-type", grants[0], "--grant-type", grants[1]]
    assert createclient_error(*args) == f"--grant-type: {PUBLIC_EXCHANGE}"


# a host that reads as another: a look-alike letter, a backslash, percent-encoding

LOOKALIKE = "https://\u0430pple.com/cb"  # a Cyrillic а: shown as "apple.com"
BACKSLASH = "https://evil.example\\apple.com/cb"  # browsers read \ as /: the host is evil.example


def test_registration_refuses_a_look_alike_host_and_asks_for_its_a_label(http):
    assert refused(
        register(http, redirect_uris=[LOOKALIKE]),
        "invalid_redirect_uri",
        f"redirect_uris: {LOOKALIKE}: write the host in its A-label form, xn--pple-43d.com.",
    )


def test_registration_refuses_a_backslash_that_hides_the_host(http):
    assert refused(
        register(http, redirect_uris=[BACKSLASH]),
        "invalid_redirect_uri",
        f"redirect_uris: {BACKSLASH} must not contain a backslash.",
    )


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("https://ev%69l.example/cb", "must not percent-encode its host."),
        ("https://xn--zz.example/cb", ": the host is not a valid domain name."),  # not punycode
        ("https://rp.example/\\evil.example", "must not contain a backslash."),  # anywhere in the URI
    ],
)
def test_registration_refuses_hosts_that_are_not_written_as_read(http, uri, problem):
    separator = "" if problem.startswith(":") else " "
    assert refused(
        register(http, post_logout_redirect_uris=[uri]),
        "invalid_client_metadata",
        f"post_logout_redirect_uris: {uri}{separator}{problem}",
    )


def test_an_a_label_host_is_accepted(http):
    response = register(http, redirect_uris=["https://xn--pple-43d.com/cb"])
    assert response.status_code == 201, response.content


def test_admin_and_createclient_refuse_a_look_alike_host(admin_client):
    problem = f"{LOOKALIKE}: write the host in its A-label form, xn--pple-43d.com."
    assert admin_errors(admin_client, redirect_uris=LOOKALIKE)["redirect_uris"] == [problem]
    assert (
        createclient_error("--redirect-uri", BACKSLASH) == f"--redirect-uri: {BACKSLASH} must not contain a backslash."
    )
