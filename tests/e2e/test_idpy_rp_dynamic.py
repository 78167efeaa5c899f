"""The walk of idpy's example RP (``example/flask_rp``): idpyoidc's ``RPHandler`` with no client of its
own discovers the OP, registers itself dynamically, signs the user in through the OP's login form,
reads userinfo and logs out through RP-initiated logout; its back-channel endpoint gets a logout
token that idpyoidc's own RP code accepts."""

from urllib.parse import parse_qs, urlsplit

import pytest
from cryptojwt.key_jar import KeyJar
from idpyoidc.client.oauth2.stand_alone_client import backchannel_logout
from idpyoidc.client.rp_handler import RPHandler

from tests.e2e.browser import TIMEOUT, authorize, lands_on_login, new_session

pytestmark = pytest.mark.live

SERVICES = {  # the services flask_rp configures
    name: {"class": f"idpyoidc.client.oidc.{module}", "kwargs": {}}
    for name, module in [
        ("discovery", "provider_info_discovery.ProviderInfoDiscovery"),
        ("registration", "registration.Registration"),
        ("authorization", "authorization.Authorization"),
        ("accesstoken", "access_token.AccessToken"),
        ("userinfo", "userinfo.UserInfo"),
        ("end_session", "end_session.EndSession"),
    ]
}


def dynamic_rp(base_url, http) -> RPHandler:
    """An RP configured for any issuer (the "" entry): nothing about the OP is known in advance."""
    config = {
        "client_type": "oidc",
        "preference": {
            "application_type": "web",
            "contacts": ["ops@rp.example"],
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "backchannel_logout_uri": f"{base_url}/bc_logout",
            "backchannel_logout_session_required": True,
        },
        "add_ons": {
            "pkce": {
                "function": "idpyoidc.client.oauth2.add_on.pkce.add_support",
                "kwargs": {"code_challenge_length": 64, "code_challenge_method": "S256"},
            }
        },
    }
    return RPHandler(
        base_url=base_url,
        client_configs={"": config},
        services=SERVICES,
        keyjar=KeyJar(),
        httpc=http.request,
        httpc_params={"timeout": TIMEOUT},
    )


def test_discovery_registration_login_userinfo_logout(op_server, op_user, rp_server):
    http = new_session()  # the RP's back channel; rejects 5xx
    calls = []
    http.hooks["response"].append(
        lambda response, **kwargs: calls.append((response.request.method, response.url, response.status_code))
    )
    rph = dynamic_rp(rp_server.url, http)

    url = rph.begin(issuer_id=op_server.issuer)
    assert calls[:2] == [
        ("GET", f"{op_server.issuer}/.well-known/openid-configuration", 200),
        ("POST", f"{op_server.issuer}/register", 201),
    ]
    client = rph.issuer2rp[op_server.issuer]
    registration = client.get_context().registration_response
    assert registration["backchannel_logout_uri"] == f"{rp_server.url}/bc_logout"
    assert "client_secret" in registration and registration["client_secret_expires_at"] == 0

    browser = new_session()
    redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
    assert lands_on_login(new_session(), url)  # the OP's own login form
    response = authorize(browser, url, redirect_uri, op_user.username, op_user.password)
    result = rph.finalize(op_server.issuer, response)
    assert "error" not in result, result
    assert result["userinfo"]["email"] == op_user.email and result["userinfo"]["sub"] == result["id_token"]["sub"]
    assert result["id_token"]["sid"]

    logout = rph.logout(state=result["state"])
    ended = browser.get(logout["url"], allow_redirects=False)
    # idpyoidc's RP cannot register a post_logout_redirect_uri through its configuration, so the
    # one it sends is not registered and is not followed: the OP's own signed-out page is shown
    assert ended.status_code == 200 and "You are signed out" in ended.text
    userinfo = new_session().get(f"{op_server.issuer}/userinfo", headers={"Authorization": f"Bearer {result['token']}"})
    assert userinfo.status_code == 401

    delivered = rp_server.wait_for("/bc_logout", timeout=10)
    assert (
        backchannel_logout(client, request_args={"logout_token": delivered["form"]["logout_token"][0]})
        == result["state"]
    )

    again = rph.begin(issuer_id=op_server.issuer)
    assert lands_on_login(browser, again)  # single logout ended the OP session: the password is asked again
