"""Settings for the django-idpyoidc-op example project.

Everything that differs between machines comes from environment variables
(or a ``.env`` file next to ``manage.py``); see ``.env.example``.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, True),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
    OIDC_ISSUER=(str, "http://127.0.0.1:8000/oidc"),
)
environ.Env.read_env(BASE_DIR / ".env")  # silently does nothing if the file is absent

DEBUG = env("DEBUG")

if DEBUG:
    SECRET_KEY = env(
        "SECRET_KEY",
        default="django-insecure-dev-only-key-do-not-use-in-production",
    )
else:
    SECRET_KEY = env("SECRET_KEY")  # required outside DEBUG

ALLOWED_HOSTS = env("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "oidc_provider",  # before the admin: its admin/index.html adds the health panel (docs/operations.md)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "example_project.demo",
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

ROOT_URLCONF = "example_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "example_project.demo.context_processors.site",
            ],
        },
    },
]

WSGI_APPLICATION = "example_project.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions + a busy timeout avoid "database is locked" errors
    # when the OP and the demo RP hit SQLite from several threads at once.
    # WAL lets readers go on while a request writes; with WAL, synchronous=NORMAL syncs at
    # checkpoints rather than at every commit (a power cut may lose the last commits, never
    # corrupts). Django runs init_command on every new connection (docs/deployment.md, SQLite).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The OP's rate limits count in this cache, so every worker on every host must share it, e.g.
# CACHE_URL=redis://127.0.0.1:6379/1. The default, a local-memory cache, is each process's own:
# right for the one-process demo only (`check --deploy` warns: oidc_provider.W036).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# Sessions live in the database next to the OP's rows: this engine keys each row by a keyed hash of
# the cookie's value, so a copy of the database signs nobody in (check oidc_provider.W038).
SESSION_ENGINE = "oidc_provider.session_store"

# Cookies no script can read (no script here reads the CSRF token from its cookie), not sent with
# cross-site subrequests (the OP's pages are reached by top-level navigation, which Lax allows).
SESSION_COOKIE_HTTPONLY = CSRF_COOKIE_HTTPONLY = LANGUAGE_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = LANGUAGE_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    # https only: the issuer must be https outside DEBUG (check oidc_provider.E004)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = True
    # "__Host-": browsers keep such a cookie only if it came over https with Secure, Path=/ and no
    # Domain, so neither plain http nor a sibling subdomain can plant or overwrite it
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 86400)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if env.bool("BEHIND_TLS_PROXY", default=False):
        # the proxy terminates TLS and sets X-Forwarded-Proto, replacing any value the client sent
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# the languages the OP pages are shown in: English and the shipped translations (oidc_provider/locale)
LANGUAGES = [("en", "English"), ("fr", "Français")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

OIDC_PROVIDER = {
    "ISSUER": env("OIDC_ISSUER"),
    # the OP's master secret; unset in the demo, so keys derive from SECRET_KEY
    "SECRET": env("OIDC_SECRET", default=None),
    # encrypts the signing keys at rest; unset in the demo, so derived from SECRET (docs/keys.md)
    "KEY_ENCRYPTION_SECRET": env("OIDC_KEY_ENCRYPTION_SECRET", default=None),
    "CLAIMS_PROVIDER": "example_project.demo.claims.DemoClaimsProvider",
    # open, so that idpy's example RP (flask_rp) can register itself; see docs/idpy-example-rp.md
    "REGISTRATION_POLICY": env("OIDC_REGISTRATION_POLICY", default="open"),
    # the reverse proxies whose X-Forwarded-For names the client address the rate limits count
    "TRUSTED_PROXIES": env.list("OIDC_TRUSTED_PROXIES", default=[]),
    # hosts the OP may reach at non-public addresses (jwks_uri, back-channel logout): the demo's RP is local
    "OUTBOUND_ALLOWED_HOSTS": env.list(
        "OIDC_OUTBOUND_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
    ),
}

# Every record is printed once, by the root logger's handler. Django's own logging configuration,
# which runs first, gives the "django" logger a console handler of its own (active with DEBUG); its
# records would reach the root's handler as well and print twice, so here it has none and passes
# them up (the example has no ADMINS, so Django's mail_admins handler, dropped with it, had nothing to
# do). "django.server", runserver's request lines, keeps its own handler and does not pass them up.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "{levelname} {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django": {"handlers": [], "level": "INFO"},
        # idpyoidc logs tokens, client secrets and keys at INFO/DEBUG: keep it quiet.
        "idpyoidc": {"level": "WARNING"},
        "cryptojwt": {"level": "WARNING"},
    },
}
