"""System checks: configuration errors are reported by ``manage.py check``, not at first request."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from oidc_provider.conf import SETTING_NAME, oidc_settings


@register(Tags.security)
def check_settings(app_configs=None, **kwargs):
    errors = []
    for key in oidc_settings.unknown_keys():
        errors.append(
            Error(f"Unknown {SETTING_NAME} key {key!r}.", hint="See docs/settings.md for the valid keys.", id="oidc_provider.E002")
        )
    issuer = oidc_settings.ISSUER
    if not issuer:
        errors.append(
            Error(
                f"{SETTING_NAME}['ISSUER'] is not set.",
                hint="Set it to the absolute URL where oidc_provider.urls is included, e.g. https://example.com/oidc",
                id="oidc_provider.E001",
            )
        )
        return errors
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        errors.append(
            Error(
                f"{SETTING_NAME}['ISSUER'] {issuer!r} is not an absolute http(s) URL without query or fragment.",
                hint="OIDC Discovery §3: the issuer is a case-sensitive https URL with scheme, host and optional path.",
                id="oidc_provider.E003",
            )
        )
    elif parts.scheme == "http" and not settings.DEBUG:
        errors.append(
            Error(
                f"{SETTING_NAME}['ISSUER'] uses http outside DEBUG.",
                hint="An OP must be served over https (OIDC Core §3.1.2.1). Use an https issuer.",
                id="oidc_provider.E004",
            )
        )
    from oidc_provider.storage.keys import SUPPORTED_ALGS

    if oidc_settings.SIGNING_ALG not in SUPPORTED_ALGS:
        errors.append(
            Error(
                f"{SETTING_NAME}['SIGNING_ALG'] {oidc_settings.SIGNING_ALG!r} is not supported.",
                hint=f"Choose one of {', '.join(SUPPORTED_ALGS)}.",
                id="oidc_provider.E005",
            )
        )
    if oidc_settings.SUBJECT_IDENTIFIER not in ("public", "user_id"):
        errors.append(
            Error(
                f"{SETTING_NAME}['SUBJECT_IDENTIFIER'] must be 'public' or 'user_id'.",
                id="oidc_provider.E006",
            )
        )
    if "openid" not in oidc_settings.SCOPES_TO_CLAIMS:
        errors.append(
            Error(f"{SETTING_NAME}['SCOPES_TO_CLAIMS'] has no 'openid' scope.", id="oidc_provider.E007")
        )
    return errors + check_token_settings()


def check_token_settings():
    from oidc_provider.metadata import ACCESS_TOKEN_FORMATS, token_exchange_problem

    errors = []
    if oidc_settings.ACCESS_TOKEN_FORMAT not in ACCESS_TOKEN_FORMATS:
        errors.append(
            Error(
                f"{SETTING_NAME}['ACCESS_TOKEN_FORMAT'] must be one of {', '.join(ACCESS_TOKEN_FORMATS)}.",
                id="oidc_provider.E020",
            )
        )
    problem = token_exchange_problem(oidc_settings.TOKEN_EXCHANGE_POLICY)
    if problem:
        errors.append(
            Error(
                f"{SETTING_NAME}['TOKEN_EXCHANGE_POLICY'] is invalid: {problem}",
                hint="See docs/token-exchange.md.",
                id="oidc_provider.E021",
            )
        )
    absolute = oidc_settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME
    if absolute is not None and not (isinstance(absolute, int) and 0 < absolute <= oidc_settings.GRANT_LIFETIME):
        errors.append(
            Error(
                f"{SETTING_NAME}['REFRESH_TOKEN_ABSOLUTE_LIFETIME'] must be a positive number of seconds, at most GRANT_LIFETIME.",
                hint="A grant's tokens, refresh tokens included, end with the grant. Raise GRANT_LIFETIME too.",
                id="oidc_provider.E022",
            )
        )
    return errors


@register(Tags.database)
def check_signing_key(app_configs=None, databases=None, **kwargs):
    """Only when ``check --database`` asks for it: is there a key to sign with?"""
    if not databases:
        return []
    from django.db import DatabaseError

    from oidc_provider.models import SigningKey

    try:
        has_key = SigningKey.objects.filter(state=SigningKey.CURRENT, alg=oidc_settings.SIGNING_ALG).exists()
    except DatabaseError:
        return []  # not migrated yet: migrate creates the key
    if has_key:
        return []
    return [
        Warning(
            f"No current {oidc_settings.SIGNING_ALG} signing key in the database.",
            hint="Run `manage.py migrate`: it creates one (and so does the first request that needs it).",
            id="oidc_provider.W001",
        )
    ]


@register(Tags.security, deploy=True)
def check_deploy(app_configs=None, **kwargs):
    warnings = []
    if not (getattr(settings, SETTING_NAME, None) or {}).get("SECRET"):
        warnings.append(
            Warning(
                f"{SETTING_NAME}['SECRET'] is not set; keys are derived from SECRET_KEY.",
                hint="Set a dedicated secret so rotating SECRET_KEY does not invalidate tokens, sub values and client secrets.",
                id="oidc_provider.W002",
            )
        )
    return warnings
