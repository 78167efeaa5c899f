"""The OIDC_PROVIDER settings object and the system checks that report misconfiguration."""

import pytest
from django.core import checks

from oidc_provider.checks import check_deploy, check_settings, check_signing_key
from oidc_provider.conf import DEFAULTS, oidc_settings


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
        oidc_settings.NOT_A_SETTING


def test_valid_configuration_has_no_errors():
    assert check_settings() == []


def test_missing_issuer_is_E001(settings):
    settings.OIDC_PROVIDER = {}
    assert ids(check_settings()) == ["oidc_provider.E001"]


def test_unknown_key_is_E002(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "ISUER": "typo"}
    assert ids(check_settings()) == ["oidc_provider.E002"]


@pytest.mark.parametrize("issuer", ["op.example", "ftp://op.example", "https://op.example/?q=1", "https://op.example/#f"])
def test_malformed_issuer_is_E003(settings, issuer):
    settings.OIDC_PROVIDER = {"ISSUER": issuer}
    assert ids(check_settings()) == ["oidc_provider.E003"]


def test_http_issuer_outside_debug_is_E004(settings):
    settings.DEBUG = False
    settings.OIDC_PROVIDER = {"ISSUER": "http://op.example"}
    assert ids(check_settings()) == ["oidc_provider.E004"]


def test_unsupported_algorithm_is_E005(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SIGNING_ALG": "none"}
    assert ids(check_settings()) == ["oidc_provider.E005"]


def test_bad_subject_identifier_is_E006(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SUBJECT_IDENTIFIER": "pairwise"}
    assert ids(check_settings()) == ["oidc_provider.E006"]


def test_scope_map_without_openid_is_E007(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "SCOPES_TO_CLAIMS": {"profile": ["name"]}}
    assert ids(check_settings()) == ["oidc_provider.E007"]


def test_unknown_access_token_format_is_E020(settings):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "ACCESS_TOKEN_FORMAT": "paseto"}
    assert ids(check_settings()) == ["oidc_provider.E020"]


@pytest.mark.parametrize("policy", [None, {}, {"subject_token_types": ["access_token"]}, {"subject_token_types": ["access_token"], "requested_token_types": ["access_token"], "scopes": ["bogus"]}])
def test_bad_token_exchange_policy_is_E021(settings, policy):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "TOKEN_EXCHANGE_POLICY": policy}
    assert ids(check_settings()) == ["oidc_provider.E021"]


@pytest.mark.parametrize("lifetime", [0, -5, "1 day", 31 * 86400])
def test_bad_absolute_refresh_lifetime_is_E022(settings, lifetime):
    settings.OIDC_PROVIDER = {**settings.OIDC_PROVIDER, "REFRESH_TOKEN_ABSOLUTE_LIFETIME": lifetime}
    assert ids(check_settings()) == ["oidc_provider.E022"]


def test_missing_signing_key_is_W001(db):
    from oidc_provider.models import SigningKey

    SigningKey.objects.all().delete()
    assert ids(check_signing_key(databases=["default"])) == ["oidc_provider.W001"]


def test_signing_key_created_by_migrate(db):
    assert check_signing_key(databases=["default"]) == []


def test_deploy_check_wants_a_dedicated_secret(settings):
    assert check_deploy() == []
    settings.OIDC_PROVIDER = {"ISSUER": "https://op.example"}
    assert ids(check_deploy()) == ["oidc_provider.W002"]


def test_checks_are_registered():
    registered = {c.__name__ for c in checks.registry.registry.get_checks(include_deployment_checks=True)}
    assert {"check_settings", "check_signing_key", "check_deploy"} <= registered


def test_idpyoidc_loggers_default_to_warning():
    """idpyoidc logs requests with their secrets at INFO (notes §7)."""
    import logging

    assert logging.getLogger("idpyoidc").getEffectiveLevel() >= logging.WARNING
