"""The example project's production settings (issue 15, finding 8): outside DEBUG its cookies are
Secure, HSTS is on and http is redirected, so `check --deploy` has no Django security warning;
its rate limits count in the cache of CACHE_URL. Each case runs manage.py in a subprocess with
only the environment given here."""

import json
import os
import secrets
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "DEBUG": "False",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "OIDC_ISSUER": "https://op.example/oidc",
    "ALLOWED_HOSTS": "op.example",
    "OIDC_SECRET": secrets.token_urlsafe(32),
    "OIDC_KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
    "OIDC_REGISTRATION_POLICY": "none",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}
SHOWN = [
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SAMESITE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "CACHES",
    "SESSION_ENGINE",
]


def manage(tmp_path, env, *args):
    environment = {"PATH": os.environ["PATH"], "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", **env}
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    return result.returncode, result.stdout + result.stderr


def settings_of(tmp_path, env):
    script = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{k: getattr(settings, k) for k in {SHOWN!r}}}))"
    )
    code, output = manage(tmp_path, env, "shell", "-c", script)
    assert code == 0, output
    return json.loads(output.strip().splitlines()[-1])


def check_ids(output):
    return sorted(line.split("(", 1)[1].split(")", 1)[0] for line in output.splitlines() if line.startswith("?: ("))


def test_check_deploy_finds_no_django_security_warning_in_production(tmp_path):
    code, output = manage(tmp_path, PRODUCTION, "check", "--deploy")
    assert code == 0, output
    # what remains is the OP's advice on PKCE, which the demo RP's peers may not all send
    assert check_ids(output) == ["oidc_provider.W033"], output


def test_check_deploy_warns_of_a_per_process_cache(tmp_path):
    code, output = manage(tmp_path, {**PRODUCTION, "CACHE_URL": "locmemcache://"}, "check", "--deploy")
    assert check_ids(output) == ["oidc_provider.W033", "oidc_provider.W036"], output


def test_production_cookies_hsts_and_https(tmp_path):
    values = settings_of(tmp_path, PRODUCTION)
    assert values | {"CACHES": None} == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": None,
        "CACHES": None,
        "SESSION_ENGINE": "oidc_provider.session_store",
    }
    assert values["CACHES"]["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1",
    }


def test_the_tls_proxy_header_is_trusted_only_when_configured(tmp_path):
    values = settings_of(tmp_path, {**PRODUCTION, "BEHIND_TLS_PROXY": "True"})
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.parametrize("env", [{}, {"DEBUG": "True"}])
def test_the_demo_keeps_debug_http_cookies_and_a_local_cache(tmp_path, env):
    values = settings_of(tmp_path, env)
    assert values["DEBUG"] is True
    assert not values["SESSION_COOKIE_SECURE"] and not values["CSRF_COOKIE_SECURE"]
    assert not values["SECURE_SSL_REDIRECT"] and values["SECURE_HSTS_SECONDS"] == 0
    assert values["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_sqlite_runs_in_wal_with_synchronous_normal(tmp_path):
    """Readers go on while a request writes (WAL), and commits are not synced one by one (NORMAL):
    on every new connection, as docs/deployment.md tells anyone who keeps SQLite to do."""
    script = (
        "from django.db import connection; cursor = connection.cursor(); "
        "print([cursor.execute(f'PRAGMA {p}').fetchone()[0] for p in ('journal_mode', 'synchronous')])"
    )
    code, output = manage(tmp_path, {}, "shell", "-c", script)
    assert code == 0, output
    assert output.strip().splitlines()[-1] == "['wal', 1]", output  # 1: NORMAL (FULL, the default, is 2)
    # the mode is kept in the database file, for any other program that opens it
    with closing(sqlite3.connect(tmp_path / "db.sqlite3")) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
