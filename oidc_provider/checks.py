"""System checks: configuration errors are reported by ``manage.py check``, not at first request."""

import ipaddress
import os
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError, connections, router
from django.utils import timezone

from oidc_provider import crypto, throttling
from oidc_provider.conf import REGISTRATION_POLICIES, SETTING_NAME, oidc_settings
from oidc_provider.consent import DESCRIPTION_FORMAT
from oidc_provider.metadata import ACCESS_TOKEN_FORMATS, token_exchange_problem
from oidc_provider.models import SessionNode, SigningKey
from oidc_provider.protocol import ALL_RESPONSE_TYPES, ASSERTION_ALGS
from oidc_provider.response_types import canonical
from oidc_provider.storage.keys import SUPPORTED_ALGS


@register(Tags.security)
def check_settings(app_configs=None, **kwargs):
    errors = []
    for key in oidc_settings.unknown_keys():
        errors.append(
            Error(
                f"Unknown {SETTING_NAME} key {key!r}.",
                hint="See docs/settings.md for the valid keys.",
                id="oidc_provider.E002",
            )
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
        errors.append(Error(f"{SETTING_NAME}['SCOPES_TO_CLAIMS'] has no 'openid' scope.", id="oidc_provider.E007"))
    descriptions = oidc_settings.SCOPE_DESCRIPTIONS
    bad = (
        ["SCOPE_DESCRIPTIONS"]
        if not isinstance(descriptions, dict)
        else [scope for scope, text in descriptions.items() if "%" in DESCRIPTION_FORMAT.sub("", str(text))]
    )
    if bad:
        errors.append(
            Error(
                f"{SETTING_NAME}['SCOPE_DESCRIPTIONS'] is not a dict of texts whose only placeholder is "
                f"%(client)s: {', '.join(map(repr, bad))}.",
                hint="Write a literal % as %%; the consent page shows such an entry as written.",
                id="oidc_provider.E014",
            )
        )
    if oidc_settings.REGISTRATION_POLICY not in REGISTRATION_POLICIES:
        errors.append(
            Error(
                f"{SETTING_NAME}['REGISTRATION_POLICY'] {oidc_settings.REGISTRATION_POLICY!r} is not a policy.",
                hint=f"Choose one of {', '.join(REGISTRATION_POLICIES)}.",
                id="oidc_provider.E011",
            )
        )
    for key in ("BACKCHANNEL_LOGOUT_TIMEOUT", "BACKCHANNEL_LOGOUT_ATTEMPTS", "BACKCHANNEL_LOGOUT_WORKERS"):
        value = getattr(oidc_settings, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            errors.append(Error(f"{SETTING_NAME}[{key!r}] must be a positive number.", id="oidc_provider.E012"))
    return (
        errors
        + check_outbound()
        + check_token_settings()
        + check_limits()
        + check_webfinger()
        + check_request_objects()
        + check_par()
        + check_response_types()
        + check_dpop()
    )


PAR_LIFETIME_RANGE = (5, 600)  # RFC 9126 §2.2: "5 seconds to 600 seconds"


def check_par():
    """Pushed authorization requests (docs/pushed-authorization-requests.md)."""
    errors = []
    low, high = PAR_LIFETIME_RANGE
    lifetime = oidc_settings.PAR_LIFETIME
    if isinstance(lifetime, bool) or not isinstance(lifetime, int) or not low <= lifetime <= high:
        errors.append(
            Error(
                f"{SETTING_NAME}['PAR_LIFETIME'] must be a whole number of seconds from {low} to {high}.",
                hint="A request_uri is used once, right after the push: 60 (the default) is plenty.",
                id="oidc_provider.E150",
            )
        )
    for key in ("PAR_ENABLED", "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"):
        if not isinstance(getattr(oidc_settings, key), bool):
            errors.append(Error(f"{SETTING_NAME}[{key!r}] must be True or False.", id="oidc_provider.E151"))
    if oidc_settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS is True and oidc_settings.PAR_ENABLED is False:
        errors.append(
            Error(
                f"{SETTING_NAME}['REQUIRE_PUSHED_AUTHORIZATION_REQUESTS'] needs PAR_ENABLED: "
                "no authorization request could be made.",
                id="oidc_provider.E152",
            )
        )
    return errors


def check_response_types():
    """``RESPONSE_TYPES``: known types (docs/hybrid-and-implicit.md), ``code`` among them (every client's default)."""
    types = oidc_settings.RESPONSE_TYPES
    if isinstance(types, (list, tuple)) and all(isinstance(t, str) and canonical(t) for t in types) and "code" in types:
        return []
    return [
        Error(
            f"{SETTING_NAME}['RESPONSE_TYPES'] must be a list of response types that includes \"code\".",
            hint=f"Choose among {', '.join(map(repr, ALL_RESPONSE_TYPES))}.",
            id="oidc_provider.E160",
        )
    ]


def check_dpop():
    """DPoP proofs (docs/dpop.md): asymmetric algorithms only, and a positive proof lifetime."""
    errors = []
    algs = oidc_settings.DPOP_SIGNING_ALGS
    if not isinstance(algs, (list, tuple)) or not algs or any(a not in ASSERTION_ALGS for a in algs):
        errors.append(
            Error(
                f"{SETTING_NAME}['DPOP_SIGNING_ALGS'] must be a non-empty list of asymmetric algorithms.",
                hint=f"Choose among {', '.join(ASSERTION_ALGS)}.",
                id="oidc_provider.E080",
            )
        )
    for key, least in (("DPOP_PROOF_LIFETIME", 1), ("DPOP_CLOCK_SKEW", 0)):
        value = getattr(oidc_settings, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            errors.append(
                Error(f"{SETTING_NAME}[{key!r}] must be an integer, {least} or more.", id="oidc_provider.E081")
            )
    return errors


def check_webfinger():
    users = oidc_settings.WEBFINGER_USERS
    if (
        users is None
        or users == "all"
        or (isinstance(users, (list, tuple)) and all(isinstance(u, str) and u for u in users))
    ):
        return []
    return [
        Error(
            f"{SETTING_NAME}['WEBFINGER_USERS'] must be \"all\" or a list of usernames or email addresses.",
            hint='[] (the default): no user is discoverable; e.g. ["alice", "bob@example.com"].',
            id="oidc_provider.E040",
        )
    ]


def check_request_objects():
    errors = [
        Error(f"{SETTING_NAME}[{key!r}] must be True or False.", id="oidc_provider.E140")
        for key in ("REQUEST_OBJECTS", "REQUEST_OBJECT_ALLOW_UNSIGNED")
        if not isinstance(getattr(oidc_settings, key), bool)
    ]
    size = oidc_settings.REQUEST_OBJECT_MAX_BYTES
    if isinstance(size, bool) or not isinstance(size, int) or size < 1024:
        errors.append(
            Error(
                f"{SETTING_NAME}['REQUEST_OBJECT_MAX_BYTES'] must be a whole number of bytes, 1024 or more.",
                hint="The default, 16384, fits a signed object with a claims request.",
                id="oidc_provider.E141",
            )
        )
    return errors


def check_outbound():
    """The outbound module's settings (``oidc_provider.outbound``): read when a request goes out, after
    a logout has committed, so a bad value is reported here rather than lost then."""
    errors = []
    for key in ("BACKCHANNEL_LOGOUT_QUEUE", "CLIENT_JWKS_REFETCH_INTERVAL"):
        value = getattr(oidc_settings, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            errors.append(Error(f"{SETTING_NAME}[{key!r}] must be a number, 0 or more.", id="oidc_provider.E033"))
    hosts = oidc_settings.OUTBOUND_ALLOWED_HOSTS
    if not isinstance(hosts, (list, tuple)) or not all(isinstance(h, str) and h for h in hosts):
        errors.append(
            Error(
                f"{SETTING_NAME}['OUTBOUND_ALLOWED_HOSTS'] must be a list of host names or addresses.",
                hint='Each entry is matched against a URL\'s host as written, e.g. ["127.0.0.1"].',
                id="oidc_provider.E034",
            )
        )
    ca_file = oidc_settings.OUTBOUND_CA_FILE
    if ca_file is not None and not (isinstance(ca_file, str) and os.path.isfile(ca_file)):
        errors.append(
            Error(
                f"{SETTING_NAME}['OUTBOUND_CA_FILE'] {ca_file!r} is not a file.",
                hint="None: certifi's bundle.",
                id="oidc_provider.E035",
            )
        )
    return errors


RATE_LIMITS = (
    "CLIENT_AUTHN_FAILURE_LIMIT",
    "CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT",
    "TOKEN_RATE_LIMIT",
    "INTROSPECTION_RATE_LIMIT",
    "PAR_RATE_LIMIT",
    "REGISTRATION_RATE_LIMIT",
    "WEBFINGER_RATE_LIMIT",
)


def _positive(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def check_limits():
    errors = []
    if oidc_settings.RATE_LIMIT_CACHE not in settings.CACHES:
        errors.append(
            Error(
                f"{SETTING_NAME}['RATE_LIMIT_CACHE'] {oidc_settings.RATE_LIMIT_CACHE!r} is not an alias in CACHES.",
                id="oidc_provider.E030",
            )
        )
    bad = [
        name
        for name in RATE_LIMITS
        if getattr(oidc_settings, name) is not None
        and not (
            isinstance(getattr(oidc_settings, name), (list, tuple))
            and len(getattr(oidc_settings, name)) == 2
            and isinstance(getattr(oidc_settings, name)[0], int)
            and all(_positive(v) for v in getattr(oidc_settings, name))
        )
    ]
    if not (isinstance(oidc_settings.MAX_REQUEST_BODY, int) and _positive(oidc_settings.MAX_REQUEST_BODY)):
        bad.append("MAX_REQUEST_BODY")
    if bad:
        errors.append(
            Error(
                f"{SETTING_NAME}: {', '.join(bad)} must be None or (count, seconds) with positive numbers "
                "(MAX_REQUEST_BODY: a positive number of bytes).",
                id="oidc_provider.E031",
            )
        )
    if not _are_networks(oidc_settings.TRUSTED_PROXIES):
        errors.append(
            Error(
                f"{SETTING_NAME}['TRUSTED_PROXIES'] must be a list of IP addresses, networks (CIDR) or \"unix\".",
                hint='E.g. ["10.0.0.0/8", "::1"], or "unix" for a proxy on a unix socket: '
                "where your reverse proxies connect from.",
                id="oidc_provider.E032",
            )
        )
    return errors


def _are_networks(value):
    if not isinstance(value, (list, tuple)):
        return False
    try:
        return all(
            isinstance(v, str) and (v == throttling.UNIX_PEER or ipaddress.ip_network(v, strict=False)) for v in value
        )
    except ValueError:
        return False


def check_token_settings():
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
                f"{SETTING_NAME}['REFRESH_TOKEN_ABSOLUTE_LIFETIME'] must be a positive number of seconds, "
                "at most GRANT_LIFETIME.",
                hint="A grant's tokens, refresh tokens included, end with the grant. Raise GRANT_LIFETIME too.",
                id="oidc_provider.E022",
            )
        )
    window = oidc_settings.REFRESH_TOKEN_REUSE_WINDOW
    if isinstance(window, bool) or not isinstance(window, int) or window < 0:
        errors.append(
            Error(
                f"{SETTING_NAME}['REFRESH_TOKEN_REUSE_WINDOW'] must be a number of seconds, 0 or more.",
                id="oidc_provider.E023",
            )
        )
    return errors


def check_algorithms():
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
                hint="OIDC Core §15.1: an OP must support RS256; "
                "relying parties that registered no algorithm expect it.",
                id="oidc_provider.W006",
            )
        )
    if oidc_settings.SIGNING_ALG not in SUPPORTED_ALGS or (
        isinstance(algs, (list, tuple)) and oidc_settings.SIGNING_ALG not in algs
    ):
        errors.append(
            Error(
                f"{SETTING_NAME}['SIGNING_ALG'] {oidc_settings.SIGNING_ALG!r} is not one of SIGNING_ALGS.",
                hint=f"Choose one of {', '.join(a for a in SUPPORTED_ALGS if a in (algs or ()))}.",
                id="oidc_provider.E005",
            )
        )
    periods = (
        "KEY_ROTATION_PERIOD",
        "KEYS_REFRESH_INTERVAL",
        "JWKS_MAX_AGE",
        "CLIENT_JWKS_TIMEOUT",
        "CLIENT_JWKS_MAX_BYTES",
        "CLIENT_JWKS_CACHE_TTL",
        "CLIENT_CACHE_TTL",
        "KEY_RETIREMENT_PERIOD",
        "HEALTH_CLEANUP_MAX_AGE",
        "HEALTH_BACKCHANNEL_FAILURE_WINDOW",
    )
    bad = [
        name
        for name in periods
        if not _non_negative(getattr(oidc_settings, name), allow_none=name == "KEY_RETIREMENT_PERIOD")
    ]
    if bad:
        errors.append(
            Error(
                f"{SETTING_NAME}: {', '.join(bad)} must be numbers of seconds (bytes), not negative.",
                id="oidc_provider.E010",
            )
        )
    elif oidc_settings.JWKS_MAX_AGE + oidc_settings.KEYS_REFRESH_INTERVAL >= oidc_settings.KEY_ROTATION_PERIOD:
        errors.append(
            Error(
                f"{SETTING_NAME}: JWKS_MAX_AGE + KEYS_REFRESH_INTERVAL is not shorter than KEY_ROTATION_PERIOD.",
                hint="A next key is published for JWKS_MAX_AGE + KEYS_REFRESH_INTERVAL before it signs; "
                "rotations cannot be that frequent.",
                id="oidc_provider.E013",
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
                    f"The current {row.alg} signing key {row.kid} is {int(age // 86400)} days old, "
                    "older than KEY_ROTATION_PERIOD.",
                    hint="Run `manage.py rotatekeys`, and schedule `rotatekeys --if-due` (see docs/keys.md).",
                    id="oidc_provider.W005",
                )
            )
    return messages


@register(Tags.database)
def check_isolation_level(app_configs=None, **kwargs):
    """Without a connection: is the PostgreSQL database of the session tree set to an isolation level
    above ``READ COMMITTED``? A request that spends a code or a refresh token waits for its grant's lock
    and then reads what the lock's last holder committed (docs/deployment.md); a snapshot taken before
    the wait still shows the token unused, and the write that spends it fails (a 500 for the second of
    two refreshes of one token, which ``READ COMMITTED`` answers as the reuse window or ``invalid_grant``
    say). It reads the settings only, so it runs without ``check --database`` too."""
    alias = router.db_for_write(SessionNode)
    database = connections[alias]  # not connected
    level = (database.settings_dict.get("OPTIONS") or {}).get("isolation_level")
    if level is None or database.vendor != "postgresql":
        return []
    from django.db.backends.postgresql.psycopg_any import IsolationLevel  # the driver's: absent without PostgreSQL

    try:
        level = IsolationLevel(level)
    except ValueError:
        return []  # Django refuses it when it connects
    if level not in (IsolationLevel.REPEATABLE_READ, IsolationLevel.SERIALIZABLE):
        return []
    return [
        Warning(
            f"The database {alias!r} of oidc_provider's grants and tokens uses the isolation level {level.name}: "
            "two requests that spend one refresh token or code at once end in a server error for the second.",
            hint="Use READ COMMITTED, PostgreSQL's and Django's default (leave OPTIONS['isolation_level'] out), "
            "or route oidc_provider to a database alias that does (docs/deployment.md).",
            id="oidc_provider.W039",
        )
    ]


@register(Tags.security, deploy=True)
def check_deploy(app_configs=None, **kwargs):
    warnings = []
    configured = getattr(settings, SETTING_NAME, None) or {}
    if not configured.get("SECRET"):
        warnings.append(
            Warning(
                f"{SETTING_NAME}['SECRET'] is not set; keys are derived from SECRET_KEY.",
                hint="Set a dedicated secret so rotating SECRET_KEY does not invalidate tokens, "
                "sub values and client secrets.",
                id="oidc_provider.W002",
            )
        )
    if not configured.get("KEY_ENCRYPTION_SECRET"):
        warnings.append(
            Warning(
                f"{SETTING_NAME}['KEY_ENCRYPTION_SECRET'] is not set; "
                "the signing keys are encrypted at rest with a key "
                f"derived from {'SECRET' if configured.get('SECRET') else 'SECRET_KEY'}.",
                hint="Set a dedicated secret, kept apart from the database backups (docs/keys.md).",
                id="oidc_provider.W003",
            )
        )
    if oidc_settings.REGISTRATION_POLICY == "open":
        warnings.append(
            Warning(
                f"{SETTING_NAME}['REGISTRATION_POLICY'] is 'open': anyone can register clients.",
                hint="Use 'initial_access_token' (manage.py createinitialaccesstoken) "
                "or 'none' unless that is intended.",
                id="oidc_provider.W007",
            )
        )
    return (
        warnings + check_deploy_transport() + check_deploy_protocol() + check_deploy_limits() + check_deploy_sessions()
    )


def check_deploy_transport():
    """An https OP whose Django does not know it: cookies sent in clear, http URLs built."""
    if urlsplit(oidc_settings.ISSUER or "").scheme != "https":
        return []  # E004 reports an http issuer
    warnings = []
    if not settings.SESSION_COOKIE_SECURE:
        warnings.append(
            Warning(
                "SESSION_COOKIE_SECURE is off: "
                "the session cookie that carries the user's OP login can travel over http.",
                hint="Set SESSION_COOKIE_SECURE = True.",
                id="oidc_provider.W030",
            )
        )
    if not settings.CSRF_COOKIE_SECURE:
        warnings.append(
            Warning(
                "CSRF_COOKIE_SECURE is off: the CSRF cookie of the consent and logout forms can travel over http.",
                hint="Set CSRF_COOKIE_SECURE = True.",
                id="oidc_provider.W031",
            )
        )
    if not settings.SECURE_PROXY_SSL_HEADER and not settings.SECURE_SSL_REDIRECT:
        warnings.append(
            Warning(
                "The issuer is https, but neither SECURE_PROXY_SSL_HEADER nor SECURE_SSL_REDIRECT is set.",
                hint="Behind a proxy that terminates TLS, set SECURE_PROXY_SSL_HEADER so Django builds https URLs "
                "(client assertion audiences, login redirects); otherwise set SECURE_SSL_REDIRECT = True.",
                id="oidc_provider.W032",
            )
        )
    return warnings


# RFC 6749 §4.1.2: a code lives at most 10 minutes; tokens that outlive a day are bearer credentials
# a leak keeps usable for long (RFC 9700 §2.2.2: short-lived, sender-constrained access tokens).
LONGEST_LIFETIMES = {"CODE_LIFETIME": 600, "ACCESS_TOKEN_LIFETIME": 86400, "ID_TOKEN_LIFETIME": 86400}


def check_deploy_protocol():
    warnings = []
    if not oidc_settings.REQUIRE_PKCE:
        warnings.append(
            Warning(
                f"{SETTING_NAME}['REQUIRE_PKCE'] is off: confidential clients may use the code flow without PKCE.",
                hint="RFC 9700 §2.1.1: use PKCE for every client to stop code injection. Set REQUIRE_PKCE = True "
                "once your clients send code_challenge (public clients always must).",
                id="oidc_provider.W033",
            )
        )
    with_token = [rt for rt in oidc_settings.RESPONSE_TYPES if isinstance(rt, str) and "token" in rt.split()]
    if with_token:
        warnings.append(
            Warning(
                f"{SETTING_NAME}['RESPONSE_TYPES'] enables access tokens from the authorization endpoint: "
                f"{', '.join(with_token)}.",
                hint="RFC 9700 §2.1.2: the implicit grant leaks access tokens; use the code flow with PKCE "
                "(docs/hybrid-and-implicit.md).",
                id="oidc_provider.W160",
            )
        )
    long = [
        name
        for name, most in LONGEST_LIFETIMES.items()
        if isinstance(getattr(oidc_settings, name), (int, float)) and getattr(oidc_settings, name) > most
    ]
    if long:
        warnings.append(
            Warning(
                f"{SETTING_NAME}: {', '.join(long)} longer than recommended.",
                hint="Codes at most 600 s (RFC 6749 §4.1.2); access and ID tokens at most a day. "
                "Use refresh tokens for long access.",
                id="oidc_provider.W034",
            )
        )
    return warnings


def check_deploy_limits():
    warnings = []
    if not oidc_settings.CLIENT_AUTHN_FAILURE_LIMIT or not oidc_settings.CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT:
        warnings.append(
            Warning(
                f"{SETTING_NAME}: a limit on failed client authentications is off.",
                hint="Set CLIENT_AUTHN_FAILURE_LIMIT and CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT (count, seconds) "
                "to slow down client secret guessing (docs/settings.md).",
                id="oidc_provider.W035",
            )
        )
    try:
        cache = caches[oidc_settings.RATE_LIMIT_CACHE]
    except Exception:
        return warnings  # E030
    if isinstance(cache, (LocMemCache, DummyCache)):
        warnings.append(
            Warning(
                f"The rate-limit cache {oidc_settings.RATE_LIMIT_CACHE!r} is {type(cache).__name__}: "
                "each worker process counts on its own (or not at all).",
                hint="Point RATE_LIMIT_CACHE at a cache every worker shares (Redis, Memcached or the database cache).",
                id="oidc_provider.W036",
            )
        )
    elif isinstance(cache, FileBasedCache):
        warnings.append(
            Warning(
                f"The rate-limit cache {oidc_settings.RATE_LIMIT_CACHE!r} is FileBasedCache: "
                "the workers of one host share it, but each host counts on its own.",
                hint="With more than one host, point RATE_LIMIT_CACHE at a cache every host shares "
                "(Redis, Memcached or the database cache).",
                id="oidc_provider.W037",
            )
        )
    return warnings


# Django's engines that make the session cookie's value a database row's primary key
SESSION_KEYS_IN_DATABASE = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")


def check_deploy_sessions():
    if settings.SESSION_ENGINE not in SESSION_KEYS_IN_DATABASE:
        return []
    return [
        Warning(
            f"SESSION_ENGINE is {settings.SESSION_ENGINE!r}: django_session holds each browser's session key, so a "
            "read-only copy of the database signs its reader in as every logged-in user.",
            hint='Set SESSION_ENGINE = "oidc_provider.session_store" (rows keyed by a keyed hash of the key; '
            "everyone signs in again once), or use a cache or signed-cookie engine.",
            id="oidc_provider.W038",
        )
    ]
