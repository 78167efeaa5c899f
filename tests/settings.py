"""Settings for the test suite: SQLite by default, PostgreSQL when DATABASE_URL is set."""

import json
import os
from urllib.parse import urlsplit

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "tests-only-not-secret"
# OIDC_TEST_DEBUG=0: a live server of the end-to-end suite that runs as production does (DEBUG off)
DEBUG = os.environ.get("OIDC_TEST_DEBUG", "1") != "0"
ALLOWED_HOSTS = ["*"]
USE_TZ = True
LANGUAGE_CODE = "en"
# English and the shipped translations (oidc_provider/locale); LocaleMiddleware picks among them
LANGUAGES = [("en", "English"), ("fr", "Français")]

INSTALLED_APPS = [
    "oidc_provider",  # before the admin: its admin/index.html adds the health panel (docs/operations.md)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # the language of the OP pages from Accept-Language (a request's ui_locales wins; docs/translations.md)
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "tests.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(BASE_DIR, "templates")],
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
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests only
LOGIN_URL = "/accounts/login/"
# sessions in the database, keyed by a hash of the cookie's key (docs/installation.md)
SESSION_ENGINE = "oidc_provider.session_store"

_url = os.environ.get("DATABASE_URL", "")
if _url.startswith("postgres"):
    _p = urlsplit(_url)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _p.path.lstrip("/") or "test",
            "USER": _p.username or "postgres",
            "PASSWORD": _p.password or "",
            "HOST": _p.hostname or "127.0.0.1",
            "PORT": _p.port or 5432,
            "TEST": {"NAME": os.environ.get("OIDC_TEST_DB_NAME", "test_oidc_provider")},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            # OIDC_TEST_DB_PATH: the end-to-end suite's server processes use their own file
            "NAME": os.environ.get("OIDC_TEST_DB_PATH") or os.path.join(BASE_DIR, "test.sqlite3"),
            # what the example project and docs/deployment.md run: WAL, synchronous=NORMAL
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            },
            # in-process tests use an in-memory database; live servers use OIDC_TEST_DB_PATH
        }
    }

OIDC_PROVIDER = {
    "ISSUER": os.environ.get("OIDC_TEST_ISSUER", "http://testserver/oidc"),
    "SECRET": "tests-only-oidc-secret",
    "KEY_ENCRYPTION_SECRET": "tests-only-key-encryption-secret",
    # short enough for the end-to-end suite to watch a rotation reach every server process
    "KEYS_REFRESH_INTERVAL": 1,
    "JWKS_MAX_AGE": 1,
    # the end-to-end RPs register themselves; tests of the other policies override it
    "REGISTRATION_POLICY": "open",
    # the hostile-input and end-to-end suites send floods of bad credentials and register many
    # clients from one address; tests/protocol/test_rate_limits.py and tests/hostile/test_lockout.py
    # turn the (default) limits back on
    "CLIENT_AUTHN_FAILURE_LIMIT": None,
    "CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT": None,
    "REGISTRATION_RATE_LIMIT": None,
    # the RPs' jwks_uri and back-channel logout servers listen on loopback; the SSRF tests
    # (tests/hostile/test_outbound.py) turn this off
    "OUTBOUND_ALLOWED_HOSTS": ["127.0.0.1"],
    # OIDC_TEST_SETTINGS: JSON merged in, for a live server of the end-to-end suite
    **json.loads(os.environ.get("OIDC_TEST_SETTINGS") or "{}"),
}

# OIDC_TEST_CACHE_URL (django-environ syntax, e.g. redis://127.0.0.1:6379/0): a cache the live servers
# of one test share, under the key prefix OIDC_TEST_CACHE_PREFIX. Otherwise each process has its own.
if os.environ.get("OIDC_TEST_CACHE_URL"):
    import environ

    CACHES = {
        "default": {
            **environ.Env.cache_url_config(os.environ["OIDC_TEST_CACHE_URL"]),
            "KEY_PREFIX": os.environ.get("OIDC_TEST_CACHE_PREFIX", "oidc-test"),
        }
    }

# No LOGGING for idpyoidc here on purpose: the app itself keeps its loggers at WARNING.
