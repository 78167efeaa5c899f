"""Set up django-oauth-toolkit: an RSA key, user, four confidential applications (authorization
code and client credentials, each with hashed and plain secrets), pre-minted ``Grant`` rows and
access/refresh token pairs stored through DOT's own models (``bulk_create`` runs their field
hooks: token checksums).

Usage: ``setup_peer.py POOL``.
"""

import os
import secrets
import sys
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
with open(os.environ["BENCH_KEY_FILE"], "wb") as fh:
    fh.write(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )

import django  # noqa: E402

django.setup()

import bench_common as bc  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client as Browser  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken  # noqa: E402


def application(name, hashed, grant_type):
    secret = bc.new_secret()
    app = Application.objects.create(
        name=name,
        client_id=name,
        client_secret=secret,
        hash_client_secret=hashed,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=grant_type,
        redirect_uris=bc.REDIRECT_URI if grant_type == Application.GRANT_AUTHORIZATION_CODE else "",
        skip_authorization=True,
        algorithm=Application.RS256_ALGORITHM,
    )
    if hashed and not app.client_secret.startswith("pbkdf2_sha256$"):
        raise SystemExit(f"DOT stored {app.client_secret[:20]}...: not its default PBKDF2 hash")
    return app, secret


def pre_mint(app, users, pool, live=0):
    expires = timezone.now() + timedelta(hours=2)
    codes = [secrets.token_urlsafe(30) for _ in range(pool + 1)]
    Grant.objects.bulk_create(
        [
            Grant(
                user=users[i % len(users)],
                code=code,
                application=app,
                expires=expires,
                redirect_uri=bc.REDIRECT_URI,
                scope=bc.SCOPE,
                code_challenge=bc.CODE_CHALLENGE,
                code_challenge_method="S256",
                nonce="n",
                claims="",
            )
            for i, code in enumerate(codes)
        ],
        batch_size=2000,
    )
    accesses = AccessToken.objects.bulk_create(
        [
            AccessToken(
                user=users[i % len(users)],
                token=secrets.token_urlsafe(30),
                application=app,
                expires=expires,
                scope=bc.SCOPE,
            )
            for i in range(pool + live)
        ],
        batch_size=2000,
    )
    accesses, live_accesses = accesses[:pool], accesses[pool:]
    refresh = [secrets.token_urlsafe(30) for _ in range(pool)]
    RefreshToken.objects.bulk_create(
        [
            RefreshToken(user=access.user, token=token, application=app, access_token=access)
            for token, access in zip(refresh, accesses, strict=True)
        ],
        batch_size=2000,
    )
    return codes, refresh, [access.token for access in live_accesses]


def redeem(app_id, secret, code):
    response = Browser().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": bc.REDIRECT_URI,
            "code_verifier": bc.CODE_VERIFIER,
        },
        HTTP_AUTHORIZATION=bc.basic_auth(app_id, secret),
    )
    if response.status_code != 200:
        raise SystemExit(f"token endpoint: {response.status_code} {response.content[:300]}")
    return response.json()


def main():
    pool = int(sys.argv[1])
    bc.migrate()
    users = bc.create_users()
    variants = {}
    for label, hashed in (("hashed", True), ("plain", False)):
        with transaction.atomic():
            app, secret = application(f"bench-{label}", hashed, Application.GRANT_AUTHORIZATION_CODE)
            cc_app, cc_secret = application(f"bench-cc-{label}", hashed, Application.GRANT_CLIENT_CREDENTIALS)
            codes, refresh, live = pre_mint(app, users, pool + bc.CHAINS, bc.LIVE_TOKENS)
        access_token = redeem(app.client_id, secret, codes.pop())["access_token"]
        variants[label] = bc.variant(
            app.client_id,
            secret,
            codes,
            refresh[bc.CHAINS :],
            access_token,
            {"client_id": cc_app.client_id, "client_secret": cc_secret},
            access_tokens=live,
            chain_tokens=refresh[: bc.CHAINS],
        )
    discovery = Browser().get("/o/.well-known/openid-configuration")
    paths = {
        "discovery": "/o/.well-known/openid-configuration",
        "jwks": "/o/.well-known/jwks.json",
        "authorize": "/o/authorize/",
        "token": "/o/token/",
        "userinfo": "/o/userinfo/",
        "introspection": "/o/introspect/",
    }
    bc.write_fixture(paths, variants, bc.logged_in_sessions(users[: bc.SESSIONS]), len(discovery.content))


main()
