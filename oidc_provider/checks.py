"""System checks: configuration errors are reported by ``manage.py check``, not at first request."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from oidc_provider.conf import REGISTRATION_POLICIES, SETTING_NAME, oidc_settings


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
    errors += check_algorithms()
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
    if oidc_settings.REGISTRATION_POLICY not in REGISTRATION_POLICIES:
        errors.append(
            Error(
                f"{SETTING_NAME}['REGISTRATION_POLICY'] {oidc_settings.REGISTRATION_POLICY!r} is not a policy.",
                hint=f"Choose one of {', '.join(REGISTRATION_POLICIES)}.",
                id="oidc_provider.E011",
            )
        )
    for key in ("BACKCHANNEL_LOGOUT_TIMEOUT", "BACKCHANNEL_LOGOUT_ATTEMPTS"):
        value = getattr(oidc_settings, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            errors.append(Error(f"{SETTING_NAME}[{key!r}] must be a positive number.", id="oidc_provider.E012"))
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


def check_algorithms():
    from oidc_provider.storage.keys import SUPPORTED_ALGS

    errors = []
    algs = oidc_settings.SIGNING_ALGS
    if not algs or isinstance(algs, str) or any(alg not in SUPPORTED_ALGS for alg in algs):
        errors.append(
            Error(
                f"{SETTING_NAME}['SIGNING_ALGS'] {algs!r} must be a non-empty list of supported algorithms.",
                hint=f"Choose from {', '.join(SUPPORTED_ALGS)}.",
                id="oidc_provider.E008",
            )
        )
    elif "RS256" not in algs:
        errors.append(
            Warning(
                f"{SETTING_NAME}['SIGNING_ALGS'] has no RS256.",
                hint="OIDC Core §15.1: an OP must support RS256; relying parties that registered no algorithm expect it.",
                id="oidc_provider.W006",
            )
        )
    if oidc_settings.SIGNING_ALG not in SUPPORTED_ALGS or (isinstance(algs, (list, tuple)) and oidc_settings.SIGNING_ALG not in algs):
        errors.append(
            Error(
                f"{SETTING_NAME}['SIGNING_ALG'] {oidc_settings.SIGNING_ALG!r} is not one of SIGNING_ALGS.",
                hint=f"Choose one of {', '.join(a for a in SUPPORTED_ALGS if a in (algs or ()))}.",
                id="oidc_provider.E005",
            )
        )
    periods = ("KEY_ROTATION_PERIOD", "KEYS_REFRESH_INTERVAL", "JWKS_MAX_AGE", "CLIENT_JWKS_TIMEOUT",
               "CLIENT_JWKS_MAX_BYTES", "CLIENT_JWKS_CACHE_TTL", "KEY_RETIREMENT_PERIOD")
    bad = [name for name in periods if not _non_negative(getattr(oidc_settings, name), allow_none=name == "KEY_RETIREMENT_PERIOD")]
    if bad:
        errors.append(Error(f"{SETTING_NAME}: {', '.join(bad)} must be numbers of seconds (bytes), not negative.",
                            id="oidc_provider.E010"))
    elif oidc_settings.JWKS_MAX_AGE + oidc_settings.KEYS_REFRESH_INTERVAL >= oidc_settings.KEY_ROTATION_PERIOD:
        errors.append(
            Error(
                f"{SETTING_NAME}: JWKS_MAX_AGE + KEYS_REFRESH_INTERVAL is not shorter than KEY_ROTATION_PERIOD.",
                hint="A next key is published for JWKS_MAX_AGE + KEYS_REFRESH_INTERVAL before it signs; rotations cannot be that frequent.",
                id="oidc_provider.E010",
            )
        )
    return errors


def _non_negative(value, allow_none=False):
    if value is None:
        return allow_none
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


@register(Tags.database)
def check_signing_key(app_configs=None, databases=None, **kwargs):
    """Only when ``check --database`` asks for it (``migrate`` does): are the keys usable and fresh?"""
    if not databases:
        return []
    from django.db import DatabaseError
    from django.utils import timezone

    from oidc_provider import crypto
    from oidc_provider.models import SigningKey

    try:
        rows = list(SigningKey.objects.exclude(state=SigningKey.RETIRED))
    except DatabaseError:
        return []  # not migrated yet: migrate creates the keys
    messages = []
    algs = oidc_settings.SIGNING_ALGS if isinstance(oidc_settings.SIGNING_ALGS, (list, tuple)) else []
    current = {r.alg: r for r in rows if r.state == SigningKey.CURRENT}
    upcoming = {r.alg for r in rows if r.state == SigningKey.NEXT}
    missing = [alg for alg in algs if alg not in current]
    if missing:
        messages.append(
            Warning(
                f"No current signing key for {', '.join(missing)} in the database.",
                hint="Run `manage.py migrate`: it creates them (and so does the first request that needs them).",
                id="oidc_provider.W001",
            )
        )
    for row in current.values():
        try:
            crypto.decrypt_text(row.private_jwk_encrypted)
        except ValueError:
            messages.append(
                Error(
                    f"The current {row.alg} signing key {row.kid} cannot be decrypted.",
                    hint="KEY_ENCRYPTION_SECRET (or SECRET, or SECRET_KEY) changed: put the old value in "
                         "KEY_ENCRYPTION_SECRET_FALLBACKS, then run `manage.py rotatekeys --reencrypt`.",
                    id="oidc_provider.E009",
                )
            )
    if settings.DEBUG:
        return messages  # the rest is about production
    alone = [alg for alg in algs if alg in current and alg not in upcoming]
    if alone:
        messages.append(
            Warning(
                f"Only one {', '.join(alone)} signing key: no next key is published ahead of a rotation.",
                hint="Run `manage.py rotatekeys`: it publishes a next key (see docs/keys.md).",
                id="oidc_provider.W004",
            )
        )
    now = timezone.now()
    for row in current.values():
        age = (now - (row.activated_at or row.created_at)).total_seconds()
        if age > oidc_settings.KEY_ROTATION_PERIOD:
            messages.append(
                Warning(
                    f"The current {row.alg} signing key {row.kid} is {int(age // 86400)} days old, older than KEY_ROTATION_PERIOD.",
                    hint="Run `manage.py rotatekeys`, and schedule `rotatekeys --if-due` (see docs/keys.md).",
                    id="oidc_provider.W005",
                )
            )
    return messages


@register(Tags.security, deploy=True)
def check_deploy(app_configs=None, **kwargs):
    warnings = []
    configured = getattr(settings, SETTING_NAME, None) or {}
    if not configured.get("SECRET"):
        warnings.append(
            Warning(
                f"{SETTING_NAME}['SECRET'] is not set; keys are derived from SECRET_KEY.",
                hint="Set a dedicated secret so rotating SECRET_KEY does not invalidate tokens, sub values and client secrets.",
                id="oidc_provider.W002",
            )
        )
    if not configured.get("KEY_ENCRYPTION_SECRET"):
        warnings.append(
            Warning(
                f"{SETTING_NAME}['KEY_ENCRYPTION_SECRET'] is not set; the signing keys are encrypted at rest with a key "
                f"derived from {'SECRET' if configured.get('SECRET') else 'SECRET_KEY'}.",
                hint="Set a dedicated secret, kept apart from the database backups (docs/keys.md).",
                id="oidc_provider.W003",
            )
        )
    if oidc_settings.REGISTRATION_POLICY == "open":
        warnings.append(
            Warning(
                f"{SETTING_NAME}['REGISTRATION_POLICY'] is 'open': anyone can register clients.",
                hint="Use 'initial_access_token' (manage.py createinitialaccesstoken) or 'none' unless that is intended.",
                id="oidc_provider.W007",
            )
        )
    return warnings
