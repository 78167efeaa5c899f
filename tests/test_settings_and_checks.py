"""The OIDC_PROVIDER settings object and the system checks that report misconfiguration."""

import re
from pathlib import Path

import pytest
from django.core import checks

from oidc_provider import checks as checks_module
from oidc_provider.checks import check_deploy, check_isolation_level, check_settings, check_signing_key
from oidc_provider.conf import DEFAULTS, oidc_settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(autouse=True)
def debug(settings):
    """pytest-django runs with DEBUG off; the test issuer is http."""
    settings.DEBUG = True


def ids(messages):
    return sorted(m.id for m in messages)


def test_defaults_fill_in_what_is_not_set(settings):
    settings.OIDC_PROVIDER = {"ISSUER": "https://op.example/oidc/"}
    assert oidc_settings.ISSUER == "https://op.example/oidc"  # trailing slash dropped
    assert oidc_settings.CODE_LIFETIME == DEFAULTS["CODE_LIFETIME"]
    assert oidc_settings.SECRET == settings.SECRET_KEY
    assert oidc_settings.LOGIN_URL == settings.LOGIN_URL


def test_dotted_paths_are_imported(settings):
    from oidc_provider.claims import ClaimsProvider

    assert oidc_settings.CLAIMS_PROVIDER is ClaimsProvider


def test_settings_reload_when_changed(settings):
    settings.OIDC_PROVIDER = {"ISSUER": "https://a.example"}
    assert oidc_settings.ISSUER == "https://a.example"
    settings.OIDC_PROVIDER = {"ISSUER": "https://b.example"}
    assert oidc_settings.ISSUER == "https://b.example"


def test_unknown_attribute_is_an_error():
    with pytest.raises(AttributeError):
        _ = oidc_settings.NOT_A_SETTING


def test_valid_configuration_has_no_errors():
    assert check_settings() == []


def test_missing_issuer_is_E001(settings):
    settings.OIDC_PROVIDER = {}
    assert ids(check_settings()) == ["oidc_provider.E001"]


def test_unknown_key_is_E002(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "ISUER": "typo"}
    assert ids(check_settings()) == ["oidc_provider.E002"]


@pytest.mark.parametrize(
    "issuer", ["op.example", "ftp://op.example", "https://op.example/?q=1", "https://op.example/#f"]
)
def test_malformed_issuer_is_E003(settings, issuer):
    settings.OIDC_PROVIDER = {"ISSUER": issuer}
    assert ids(check_settings()) == ["oidc_provider.E003"]


def test_http_issuer_outside_debug_is_E004(settings):
    settings.DEBUG = False
    settings.OIDC_PROVIDER = {"ISSUER": "http://op.example"}
    assert ids(check_settings()) == ["oidc_provider.E004"]


@pytest.mark.parametrize("alg", ["none", "HS256", "RS512"])
def test_unsupported_algorithm_is_E005(settings, alg):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SIGNING_ALG": alg}
    assert ids(check_settings()) == ["oidc_provider.E005"]


def test_default_algorithm_must_be_offered_E005(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SIGNING_ALGS": ["RS256"], "SIGNING_ALG": "ES256"}
    assert ids(check_settings()) == ["oidc_provider.E005"]


@pytest.mark.parametrize("algs", [[], "RS256", ["RS256", "none"], ["RS256", "HS256"]])
def test_bad_algorithm_list_is_E008(settings, algs):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SIGNING_ALGS": algs}
    assert "oidc_provider.E008" in ids(check_settings())


def test_no_rs256_is_W006(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SIGNING_ALGS": ["ES256"], "SIGNING_ALG": "ES256"}
    assert ids(check_settings()) == ["oidc_provider.W006"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"KEYS_REFRESH_INTERVAL": -1},
        {"JWKS_MAX_AGE": "3600"},
        {"KEY_RETIREMENT_PERIOD": -5},
        {"CLIENT_CACHE_TTL": -1},
        {"CLIENT_CACHE_TTL": "5"},
    ],
)
def test_negative_key_timings_are_E010(settings, overrides):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, **overrides}
    assert ids(check_settings()) == ["oidc_provider.E010"]


def test_rotations_faster_than_key_publication_are_E013(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "JWKS_MAX_AGE": 86400, "KEY_ROTATION_PERIOD": 3600}
    assert ids(check_settings()) == ["oidc_provider.E013"]


def test_every_check_id_is_used_once():
    """A check id names one condition: the docs list it, and a site silences it (SILENCED_SYSTEM_CHECKS)."""
    source = Path(checks_module.__file__).read_text()
    used = re.findall(r"""id=f?["'](oidc_provider\.[EW]\d+)["']""", source)
    assert len(used) == source.count("id="), "a check id not written as a literal"
    assert [i for i in used if used.count(i) > 1] == []


def test_the_docs_list_every_check_id():
    used = set(re.findall(r"oidc_provider\.[EW]\d+", Path(checks_module.__file__).read_text()))
    listed = set(re.findall(r"^\| `(oidc_provider\.[EW]\d+)` \|", (DOCS / "settings.md").read_text(), re.M))
    assert used == listed


def test_bad_subject_identifier_is_E006(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SUBJECT_IDENTIFIER": "pairwise"}
    assert ids(check_settings()) == ["oidc_provider.E006"]


def test_scope_map_without_openid_is_E007(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SCOPES_TO_CLAIMS": {"profile": ["name"]}}
    assert ids(check_settings()) == ["oidc_provider.E007"]


def test_unknown_registration_policy_is_E011(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_POLICY": "closed"}
    assert ids(check_settings()) == ["oidc_provider.E011"]


@pytest.mark.parametrize(
    "key, value",
    [
        ("BACKCHANNEL_LOGOUT_TIMEOUT", 0),
        ("BACKCHANNEL_LOGOUT_ATTEMPTS", "3"),
        ("BACKCHANNEL_LOGOUT_ATTEMPTS", True),
        ("BACKCHANNEL_LOGOUT_WORKERS", 0),
    ],
)
def test_bad_backchannel_numbers_are_E012(settings, key, value):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, key: value}
    assert ids(check_settings()) == ["oidc_provider.E012"]


@pytest.mark.parametrize(
    "key, value, check",
    [
        ("BACKCHANNEL_LOGOUT_QUEUE", -1, "E033"),
        ("CLIENT_JWKS_REFETCH_INTERVAL", "5", "E033"),
        ("OUTBOUND_ALLOWED_HOSTS", "127.0.0.1", "E034"),
        ("OUTBOUND_ALLOWED_HOSTS", [""], "E034"),
        ("OUTBOUND_CA_FILE", "/nonexistent/ca.pem", "E035"),
    ],
)
def test_bad_outbound_settings_are_reported(settings, key, value, check):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, key: value}
    assert ids(check_settings()) == [f"oidc_provider.{check}"]


@pytest.mark.parametrize(
    "key, value, check",
    [
        ("REQUEST_OBJECTS", "yes", "E140"),
        ("REQUEST_OBJECT_ALLOW_UNSIGNED", 1, "E140"),
        ("REQUEST_OBJECT_MAX_BYTES", 100, "E141"),
        ("REQUEST_OBJECT_MAX_BYTES", "16384", "E141"),
    ],
)
def test_bad_request_object_settings_are_reported(settings, key, value, check):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, key: value}
    assert ids(check_settings()) == [f"oidc_provider.{check}"]


def test_logout_dispatcher_is_imported(settings):
    from oidc_provider.backchannel import ThreadDispatcher

    assert oidc_settings.LOGOUT_DISPATCHER is ThreadDispatcher


def test_unknown_access_token_format_is_E020(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "ACCESS_TOKEN_FORMAT": "paseto"}
    assert ids(check_settings()) == ["oidc_provider.E020"]


@pytest.mark.parametrize(
    "policy",
    [
        None,
        {},
        {"subject_token_types": ["access_token"]},
        {"subject_token_types": ["access_token"], "requested_token_types": ["access_token"], "scopes": ["bogus"]},
    ],
)
def test_bad_token_exchange_policy_is_E021(settings, policy):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "TOKEN_EXCHANGE_POLICY": policy}
    assert ids(check_settings()) == ["oidc_provider.E021"]


@pytest.mark.parametrize("lifetime", [0, -5, "1 day", 31 * 86400])
def test_bad_absolute_refresh_lifetime_is_E022(settings, lifetime):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REFRESH_TOKEN_ABSOLUTE_LIFETIME": lifetime}
    assert ids(check_settings()) == ["oidc_provider.E022"]


@pytest.mark.parametrize("window", [-1, None, "5", 2.5, True])
def test_bad_refresh_token_reuse_window_is_E023(settings, window):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REFRESH_TOKEN_REUSE_WINDOW": window}
    assert ids(check_settings()) == ["oidc_provider.E023"]


@pytest.mark.parametrize("window", [0, 5, 30])
def test_a_refresh_token_reuse_window_of_whole_seconds_is_fine(settings, window):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REFRESH_TOKEN_REUSE_WINDOW": window}
    assert ids(check_settings()) == []


def test_missing_signing_key_is_W001(db):
    from oidc_provider.models import SigningKey

    SigningKey.objects.filter(alg="ES256", state="current").delete()
    messages = check_signing_key(databases=["default"])
    assert ids(messages) == ["oidc_provider.W001"] and "ES256" in messages[0].msg


def test_signing_keys_created_by_migrate(db, settings):
    settings.DEBUG = False
    assert check_signing_key(databases=["default"]) == []


def test_undecryptable_key_is_E009(db, settings):
    from oidc_provider.models import SigningKey

    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "KEY_ENCRYPTION_SECRET": "another"}
    assert set(ids(check_signing_key(databases=["default"]))) == {"oidc_provider.E009"}
    assert len(check_signing_key(databases=["default"])) == SigningKey.objects.filter(state="current").count()
    settings.OIDC_PROVIDER = {
        **settings.OIDC_PROVIDER,
        "KEY_ENCRYPTION_SECRET_FALLBACKS": ["tests-only-key-encryption-secret"],
    }
    assert check_signing_key(databases=["default"]) == []


def test_single_key_and_old_key_warn_in_production(db, settings):
    import datetime as dt

    from django.utils import timezone

    from oidc_provider.models import SigningKey

    SigningKey.objects.filter(alg="PS256", state="next").delete()
    old = timezone.now() - dt.timedelta(days=91)
    SigningKey.objects.filter(alg="ES256", state="current").update(activated_at=old)
    assert check_signing_key(databases=["default"]) == []  # DEBUG: not production
    settings.DEBUG = False
    messages = check_signing_key(databases=["default"])
    assert ids(messages) == ["oidc_provider.W004", "oidc_provider.W005"]
    assert "PS256" in messages[0].msg and "ES256" in messages[1].msg and "91 days" in messages[1].msg


def test_deploy_check_warns_of_open_registration(settings):
    assert "oidc_provider.W007" in ids(check_deploy())  # the test project registers its RPs openly
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_POLICY": "initial_access_token"}
    assert "oidc_provider.W007" not in ids(check_deploy())


SECRETS = {"oidc_provider.W002", "oidc_provider.W003"}


def test_deploy_check_wants_dedicated_secrets(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REGISTRATION_POLICY": "none"}
    assert SECRETS.isdisjoint(ids(check_deploy()))
    settings.OIDC_PROVIDER = {"ISSUER": "https://op.example"}
    assert SECRETS <= set(ids(check_deploy()))
    settings.OIDC_PROVIDER = {"ISSUER": "https://op.example", "SECRET": "s"}
    assert SECRETS & set(ids(check_deploy())) == {"oidc_provider.W003"}


@pytest.fixture
def hardened(settings):
    """A deployment that passes every OP deploy check."""
    settings.OIDC_PROVIDER = {
        "ISSUER": "https://op.example",
        "SECRET": "s",
        "KEY_ENCRYPTION_SECRET": "k",
        "REQUIRE_PKCE": True,
        "RATE_LIMIT_CACHE": "shared",
    }
    settings.CACHES = {
        **settings.CACHES,
        "shared": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "t"},
        "files": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/nonexistent"},
    }
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return settings


def test_a_hardened_deployment_passes_the_deploy_checks(hardened):
    assert check_deploy() == [] and check_settings() == []


@pytest.mark.parametrize(
    "setting, value, check_id",
    [
        ("SESSION_COOKIE_SECURE", False, "W030"),
        ("CSRF_COOKIE_SECURE", False, "W031"),
        ("SECURE_PROXY_SSL_HEADER", None, "W032"),
    ],
)
def test_deploy_checks_of_an_https_site(hardened, setting, value, check_id):
    setattr(hardened, setting, value)
    assert ids(check_deploy()) == [f"oidc_provider.{check_id}"]


@pytest.mark.parametrize(
    "engine, warned",
    [
        ("django.contrib.sessions.backends.db", True),
        ("django.contrib.sessions.backends.cached_db", True),
        ("oidc_provider.session_store", False),
        ("django.contrib.sessions.backends.cache", False),
        ("django.contrib.sessions.backends.signed_cookies", False),
    ],
)
def test_deploy_check_warns_of_session_keys_in_the_database(hardened, engine, warned):
    hardened.SESSION_ENGINE = engine
    assert ids(check_deploy()) == (["oidc_provider.W038"] if warned else [])


def test_ssl_redirect_is_enough_without_a_proxy(hardened):
    hardened.SECURE_PROXY_SSL_HEADER = None
    hardened.SECURE_SSL_REDIRECT = True
    assert check_deploy() == []


@pytest.mark.parametrize(
    "override, check_id",
    [
        ({"REQUIRE_PKCE": False}, "W033"),
        ({"CODE_LIFETIME": 3600}, "W034"),
        ({"ACCESS_TOKEN_LIFETIME": 7 * 86400}, "W034"),
        ({"ID_TOKEN_LIFETIME": 2 * 86400}, "W034"),
        ({"CLIENT_AUTHN_FAILURE_LIMIT": None}, "W035"),
        ({"CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT": None}, "W035"),
        ({"RATE_LIMIT_CACHE": "default"}, "W036"),  # the test project's default cache is locmem
        ({"RATE_LIMIT_CACHE": "files"}, "W037"),
    ],
)
def test_deploy_checks_of_op_settings(hardened, override, check_id):
    hardened.OIDC_PROVIDER = {**hardened.OIDC_PROVIDER, **override}
    assert ids(check_deploy()) == [f"oidc_provider.{check_id}"]


@pytest.mark.parametrize(
    "override, check_id",
    [
        ({"RATE_LIMIT_CACHE": "nope"}, "E030"),
        ({"TOKEN_RATE_LIMIT": 10}, "E031"),
        ({"INTROSPECTION_RATE_LIMIT": (0, 60)}, "E031"),
        ({"CLIENT_AUTHN_FAILURE_LIMIT": (10, -1)}, "E031"),
        ({"CLIENT_AUTHN_FAILURE_LIMIT": ("10", 60)}, "E031"),
        ({"MAX_REQUEST_BODY": None}, "E031"),
        ({"REGISTRATION_RATE_LIMIT": (20,)}, "E031"),
        ({"TRUSTED_PROXIES": "10.0.0.1"}, "E032"),  # a string, not a list
        ({"TRUSTED_PROXIES": ["10.0.0.300"]}, "E032"),
        ({"TRUSTED_PROXIES": ["proxy.internal"]}, "E032"),
        ({"TRUSTED_PROXIES": [None]}, "E032"),
    ],
)
def test_limit_settings_are_checked(hardened, override, check_id):
    hardened.OIDC_PROVIDER = {**hardened.OIDC_PROVIDER, **override}
    assert ids(check_settings()) == [f"oidc_provider.{check_id}"]


def test_trusted_proxies_take_addresses_and_networks(hardened):
    hardened.OIDC_PROVIDER = {
        **hardened.OIDC_PROVIDER,
        "TRUSTED_PROXIES": ["10.0.0.1", "10.1.0.0/16", "::1", "fd00::/8"],
    }
    assert check_settings() == []


@pytest.mark.parametrize(
    "vendor, level, warned",
    [
        ("postgresql", None, False),
        ("postgresql", "READ_COMMITTED", False),
        ("postgresql", "REPEATABLE_READ", True),
        ("postgresql", "SERIALIZABLE", True),
        ("sqlite", "SERIALIZABLE", False),
    ],
)
def test_an_isolation_level_above_read_committed_is_W039(monkeypatch, vendor, level, warned):
    """tests/test_storage.py shows what the second of two refreshes meets above READ COMMITTED."""
    from django.db import connection
    from django.db.backends.postgresql.psycopg_any import IsolationLevel

    options = {} if level is None else {"isolation_level": IsolationLevel[level]}
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    monkeypatch.setattr(connection, "vendor", vendor)
    assert ids(check_isolation_level()) == (["oidc_provider.W039"] if warned else [])


def test_checks_are_registered():
    registered = {c.__name__ for c in checks.registry.registry.get_checks(include_deployment_checks=True)}
    assert {"check_settings", "check_signing_key", "check_isolation_level", "check_deploy"} <= registered


def test_idpyoidc_loggers_default_to_warning():
    """idpyoidc logs requests with their secrets at INFO."""
    import logging

    assert logging.getLogger("idpyoidc").getEffectiveLevel() >= logging.WARNING
