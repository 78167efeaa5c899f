"""An existing Django site (below) with the tutorial's settings block added, as the page says."""

import os

from tests.mozilla_rp.tutorial import live_block

SECRET_KEY = "tests-only-mozilla-rp-not-secret"
DEBUG = False  # errors answer as in production: a bare 500 page, the traceback in the log
ALLOWED_HOSTS = ["localhost"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.mozilla_rp.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
            # the page's templates/account.html
            "loaders": [("django.template.loaders.locmem.Loader", {"account.html": live_block("template")})],
        },
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["MOZILLA_RP_DB_PATH"]}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests only
# the server's log (its stderr) is what the test reads: request errors and the library's warnings
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
        "mozilla_django_oidc": {"handlers": ["stderr"], "level": "WARNING"},
    },
}

exec(live_block("settings"), globals())
