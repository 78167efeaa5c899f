"""Set up django-oidc-provider: an RSA key (its ``creatersakey``), user, a confidential client
without consent, pre-minted ``Code`` rows and refresh tokens made with its own ``create_code`` /
``create_token`` helpers and stored with ``bulk_create``.

Usage: ``setup_peer.py POOL``.
"""

import sys

import django

django.setup()

import bench_common as bc  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client as Browser  # noqa: E402

from oidc_provider.lib.utils.token import create_code, create_token  # noqa: E402
from oidc_provider.models import Client, Code, ResponseType, Token  # noqa: E402

SCOPES = bc.SCOPE.split()


def redeem(client_id, secret, code):
    response = Browser().post(
        "/openid/token",
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


def main():
    pool = int(sys.argv[1])
    bc.migrate()
    call_command("creatersakey", stdout=open("/dev/null", "w"))
    users = bc.create_users()
    secret = bc.new_secret()
    client = Client.objects.create(
        name="bench",
        client_type="confidential",
        client_id="bench-client",
        client_secret=secret,
        _redirect_uris=bc.REDIRECT_URI,
        require_consent=False,
        reuse_consent=True,
        jwt_alg="RS256",
        _scope=" ".join(SCOPES + ["token_introspection"]),
    )
    client.response_types.set([ResponseType.objects.get(value="code")])
    with transaction.atomic():
        codes = []
        for i in range(pool + 1):
            code = create_code(users[i % len(users)], client, SCOPES, "n", True, bc.CODE_CHALLENGE, "S256")
            codes.append(code)
        Code.objects.bulk_create(codes, batch_size=2000)
    first = redeem(client.client_id, secret, codes.pop().code)
    template = Token.objects.get(access_token=first["access_token"])
    tokens = []
    for i in range(pool + bc.CHAINS + bc.LIVE_TOKENS):
        token = create_token(users[i % len(users)], client, SCOPES, template.id_token)
        tokens.append(token)
    Token.objects.bulk_create(tokens, batch_size=2000)
    chains, live, tokens = tokens[: bc.CHAINS], tokens[bc.CHAINS : bc.CHAINS + bc.LIVE_TOKENS], tokens[-pool:]
    variants = {
        "default": bc.variant(
            client.client_id,
            secret,
            [c.code for c in codes],
            [t.refresh_token for t in tokens],
            first["access_token"],
            {"client_id": client.client_id, "client_secret": secret},
            access_tokens=[t.access_token for t in live],
            chain_tokens=[t.refresh_token for t in chains],
        )
    }
    discovery = Browser().get("/openid/.well-known/openid-configuration")
    paths = {
        "discovery": "/openid/.well-known/openid-configuration",
        "jwks": "/openid/jwks",
        "authorize": "/openid/authorize",
        "token": "/openid/token",
        "userinfo": "/openid/userinfo",
        "introspection": "/openid/introspect",
        "floor": "/floor",  # bench/instructions.py's floor
    }
    bc.write_fixture(paths, variants, bc.logged_in_sessions(users[: bc.SESSIONS]), len(discovery.content))


main()
