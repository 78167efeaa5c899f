"""What every peer project shares: settings, the floor view, and the setup helpers.

Each peer directory holds ``peer_settings.py`` (``from bench_common import *`` plus the product's
own settings), ``peer_urls.py`` and ``setup_peer.py``. The orchestrator puts the peer directory
and this one on ``PYTHONPATH`` and serves ``peer_wsgi:application`` with gunicorn.

Environment: ``BENCH_DATABASE`` (``postgres:<name>`` or ``sqlite:<path>``), ``BENCH_BASE_URL``
(``http://127.0.0.1:<port>``), ``BENCH_FIXTURE`` (where setup writes what the load generator
needs), ``BENCH_FLOOR_BYTES`` (the size of the floor view's JSON).
"""

import base64
import hashlib
import json
import os
import secrets

BASE_URL = os.environ.get("BENCH_BASE_URL", "http://127.0.0.1:8000")
REDIRECT_URI = "http://127.0.0.1:9/cb"  # never requested: the load generator reads the Location header
USERNAME = "bench"
USERS = 100  # pre-minted codes and tokens are spread over this many users
SESSIONS = 8  # logged-in sessions for the full-flow scenario: one per client process, users 0..7
SCOPE = "openid profile email"
# Live access tokens for the userinfo and introspection scenarios over many tokens, and refresh-token
# chains (one per client process, each rotated for the whole run); run.py sets the first.
LIVE_TOKENS = int(os.environ.get("BENCH_LIVE_TOKENS", "10000"))
CHAINS = 16
# A fixed PKCE pair: every code in every product is bound to it (RFC 7636 S256).
CODE_VERIFIER = "bench-code-verifier-" + "x" * 40
CODE_CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(CODE_VERIFIER.encode()).digest()).rstrip(b"=").decode()


def _databases():
    kind, _, name = os.environ.get("BENCH_DATABASE", "sqlite:/tmp/bench.sqlite3").partition(":")
    if kind == "postgres":
        # persistent connections, as any production deployment has (pooling is PostgreSQL's business)
        return {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": name,
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": 5432,
                "CONN_MAX_AGE": 600,
            }
        }
    # every product alike, as docs/deployment.md tells anyone who keeps SQLite; persistent connections
    # as on PostgreSQL: a new SQLite connection per request cost each product ~2 M of its 5-8 M
    # instructions per request (the file, Django's functions, the pragmas, the schema: bench/FINDINGS.md)
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "CONN_MAX_AGE": 600,
            "NAME": name,
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            },
        }
    }


# -- settings shared by every peer (the Django `startproject` defaults, DEBUG off) --------------
SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
ROOT_URLCONF = "peer_urls"
LOGIN_URL = "/accounts/login/"
DATABASES = _databases()
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}


# -- the floor ------------------------------------------------------------------------------------
def floor_view(request):
    """A bare Django view answering JSON of the discovery document's size: the stack's own cost."""
    from django.http import JsonResponse

    size = int(os.environ.get("BENCH_FLOOR_BYTES", "1500"))
    return JsonResponse({"padding": "x" * max(0, size - 15)})


# -- setup helpers (run inside `setup_peer.py`, Django configured) --------------------------------
def migrate():
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def create_users(count=USERS):
    """``count`` users. Pre-minted codes and refresh tokens are spread over them round-robin, so no
    single user holds thousands of grants (a population, not one very busy user)."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    # No password (their sessions come from force_login): Django's PASSWORD_HASHERS stay the
    # defaults, which DOT also uses to hash client secrets.
    return [
        User.objects.create_user(
            f"{USERNAME}{i}", f"bench{i}@example.org", None, first_name="Bench", last_name=f"Mark{i}"
        )
        for i in range(count)
    ]


def logged_in_sessions(users):
    """One logged-in Django session key per user (``force_login`` fires user_logged_in)."""
    from django.test import Client

    keys = []
    for user in users:
        browser = Client()
        browser.force_login(user)
        keys.append(browser.cookies["sessionid"].value)
    return keys


def new_secret():
    return secrets.token_urlsafe(32)


def variant(
    client_id,
    client_secret,
    codes=(),
    refresh_tokens=(),
    access_token="",
    cc=None,
    unavailable=None,
    access_tokens=(),
    chain_tokens=(),
):
    """What the load generator needs for one product variant (one client of one server)."""
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": REDIRECT_URI,
        "codes": list(codes),
        "refresh_tokens": list(refresh_tokens),
        "access_token": access_token,
        "access_tokens": list(access_tokens),  # live, each of its own grant, spread over USERS
        "chain_tokens": list(chain_tokens),  # the first refresh token of each chain
        "cc": cc,  # {"client_id", "client_secret"} of a client allowed client_credentials, or None
        "unavailable": unavailable or {},
    }


def write_fixture(paths, variants, sessions, discovery_bytes):
    fixture = {
        "paths": paths,
        "variants": variants,
        "sessions": sessions,
        "scope": SCOPE,
        "code_verifier": CODE_VERIFIER,
        "code_challenge": CODE_CHALLENGE,
        "discovery_bytes": discovery_bytes,
    }
    with open(os.environ["BENCH_FIXTURE"], "w") as fh:
        json.dump(fixture, fh)


def authorize_query(client_id, state="s", nonce="n", scope=SCOPE):
    from urllib.parse import urlencode

    return urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": CODE_CHALLENGE,
            "code_challenge_method": "S256",
        }
    )


def basic_auth(client_id, secret):
    from urllib.parse import quote

    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()
