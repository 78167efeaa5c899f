"""Set up our OP for the benchmark: user, trusted client, codes minted through the authorization
endpoint with a logged-in session (our own code path), tokens through the token endpoint.

Usage: ``setup_peer.py POOL`` (codes and refresh tokens to pre-mint) [``--grow``].
"""

import json
import sys
from urllib.parse import parse_qs, urlsplit

import django

django.setup()

import bench_common as bc  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client as Browser  # noqa: E402

PREFIX = "/oidc"


def mint_codes(browsers, client_id, count, scope=bc.SCOPE):
    """``count`` codes from the authorization endpoint, the logged-in ``browsers`` taking turns."""
    codes = []
    for i in range(count):
        browser = browsers[i % len(browsers)]
        response = browser.get(f"{PREFIX}/authorize?{bc.authorize_query(client_id, state=str(i), scope=scope)}")
        location = response.get("Location", "")
        code = parse_qs(urlsplit(location).query).get("code")
        if response.status_code != 302 or not code:
            raise SystemExit(
                f"authorize did not redirect with a code: {response.status_code} {location or response.content[:300]}"
            )
        codes.append(code[0])
    return codes


def redeem(browser, client_id, secret, code):
    response = browser.post(
        f"{PREFIX}/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": bc.REDIRECT_URI,
            "code_verifier": bc.CODE_VERIFIER,
        },
        HTTP_AUTHORIZATION=bc.basic_auth(client_id, secret),
    )
    if response.status_code != 200:
        raise SystemExit(f"token endpoint: {response.status_code} {response.content[:300]}")
    return response.json()


def create_client(client_id, secret, *extra):
    # --client-secret=…: a random secret may start with "-", which argparse would take for an option
    call_command(
        "createclient",
        "--client-id",
        client_id,
        f"--client-secret={secret}",
        "--redirect-uri",
        bc.REDIRECT_URI,
        "--skip-consent",
        *extra,
        stdout=open("/dev/null", "w"),
    )


def main():
    pool = int(sys.argv[1])
    bc.migrate()
    users = bc.create_users()
    browser = Browser()
    discovery = browser.get(f"{PREFIX}/.well-known/openid-configuration")
    config = json.loads(discovery.content)
    grant_types = config.get("grant_types_supported", [])
    unavailable = {}

    secret = bc.new_secret()
    extra = ["--grant-type", "authorization_code"]
    offline = "refresh_token" in grant_types and "offline_access" in config.get("scopes_supported", [])
    if offline:
        extra += ["--grant-type", "refresh_token"]
    create_client("bench-client", secret, *extra)

    browsers = []
    for key in bc.logged_in_sessions(users):
        browsers.append(Browser())
        browsers[-1].cookies["sessionid"] = key
    codes = mint_codes(browsers, "bench-client", pool)
    access_token = redeem(browser, "bench-client", secret, mint_codes(browsers, "bench-client", 1)[0])["access_token"]
    access_tokens = [
        redeem(browser, "bench-client", secret, code)["access_token"]
        for code in mint_codes(browsers, "bench-client", bc.LIVE_TOKENS)
    ]

    refresh_tokens, chain_tokens = [], []
    if offline:
        for code in mint_codes(browsers, "bench-client", pool + bc.CHAINS, scope=bc.SCOPE + " offline_access"):
            refresh_tokens.append(redeem(browser, "bench-client", secret, code).get("refresh_token"))
        refresh_tokens = [t for t in refresh_tokens if t]
        refresh_tokens, chain_tokens = refresh_tokens[bc.CHAINS :], refresh_tokens[: bc.CHAINS]
    if not refresh_tokens:
        unavailable["refresh"] = "not yet available (no refresh_token grant)"

    cc = None
    if "client_credentials" in grant_types:
        cc = {"client_id": "bench-cc", "client_secret": bc.new_secret()}
        try:
            create_client(cc["client_id"], cc["client_secret"], "--grant-type", "client_credentials")
        except Exception as err:  # the command may not know the grant type yet
            cc, unavailable["client_credentials"] = None, f"not yet available ({err})"
    else:
        unavailable["client_credentials"] = "not yet available (grant type not supported)"

    paths = {
        "discovery": f"{PREFIX}/.well-known/openid-configuration",
        "jwks": f"{PREFIX}/jwks",
        "authorize": f"{PREFIX}/authorize",
        "token": f"{PREFIX}/token",
        "userinfo": f"{PREFIX}/userinfo",
        "introspection": urlsplit(config["introspection_endpoint"]).path
        if "introspection_endpoint" in config
        else None,
        "floor": "/floor",
    }
    if paths["introspection"] is None:
        unavailable["introspection"] = "not yet available (no introspection endpoint)"
    if "--grow" in sys.argv:
        from grow import grow

        grow()
    variants = {
        "default": bc.variant(
            "bench-client", secret, codes, refresh_tokens, access_token, cc, unavailable, access_tokens, chain_tokens
        )
    }
    bc.write_fixture(paths, variants, bc.logged_in_sessions(users[: bc.SESSIONS]), len(discovery.content))


main()
