"""The ``OIDC_PROVIDER`` settings dict, read through one lazy, cached object.

Follows django-rest-framework's ``api_settings``: a ``DEFAULTS`` table, dotted paths imported on
first use, unknown keys rejected by a system check, and a reload when a test changes the setting.
"""

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from idpyoidc.server.scopes import SCOPE2CLAIMS

SETTING_NAME = "OIDC_PROVIDER"

DEFAULTS = {
    # The issuer identifier (OIDC Core §2): scheme, host and path where the app's URLs are included.
    "ISSUER": None,
    # Master secret for every symmetric key the OP derives (opaque tokens, session ids, cookies,
    # the `sub` salt, secret hashing). Falls back to SECRET_KEY. Changing it invalidates all
    # outstanding codes and tokens and changes every `sub`.
    "SECRET": None,
    # Signing keys (docs/keys.md). One key life cycle per algorithm: next -> current -> retired.
    # Algorithms the OP signs ID tokens (and signed userinfo) with; each gets its own keys.
    "SIGNING_ALGS": ["RS256", "PS256", "ES256", "EdDSA"],
    # The algorithm of a client that registered none (OIDC Core §2: RS256 by default).
    "SIGNING_ALG": "RS256",
    # Secret the at-rest encryption key of the private keys is derived from. None: SECRET.
    "KEY_ENCRYPTION_SECRET": None,
    # Earlier key-encryption secrets, still tried for decryption (`rotatekeys --reencrypt`).
    "KEY_ENCRYPTION_SECRET_FALLBACKS": [],
    # A current key older than this is due for rotation (`rotatekeys --if-due`, check W004).
    "KEY_ROTATION_PERIOD": 90 * 86400,
    # Seconds a retired key stays published. None: the longest lifetime of what it signed
    # (ID token, access token) plus KEYS_REFRESH_INTERVAL.
    "KEY_RETIREMENT_PERIOD": None,
    # Seconds a worker may keep using its key set before checking the database for a change.
    "KEYS_REFRESH_INTERVAL": 30,
    # Cache-Control max-age of the JWKS; a next key must be published this long (plus
    # KEYS_REFRESH_INTERVAL) before it may sign.
    "JWKS_MAX_AGE": 3600,
    # Fetching a client's jwks_uri: timeout (s, in total), largest accepted document (bytes), cache (s).
    "CLIENT_JWKS_TIMEOUT": 5,
    "CLIENT_JWKS_MAX_BYTES": 65536,
    "CLIENT_JWKS_CACHE_TTL": 300,
    # An assertion signed with a kid the cached keys lack fetches the jwks_uri again (the client
    # rotated its keys), at most once per this many seconds per jwks_uri and process.
    "CLIENT_JWKS_REFETCH_INTERVAL": 5,
    # Seconds a worker may reuse a client's row across requests (storage/clients.py): a change to a
    # client (disabled, new secret) reaches every worker within this bound. 0: read it every request.
    "CLIENT_CACHE_TTL": 0,
    # Requests to clients' URLs (oidc_provider.outbound): host names and IP addresses that may be
    # reached at non-public addresses (loopback, private, link-local…): internal RPs, tests, demos.
    "OUTBOUND_ALLOWED_HOSTS": [],
    # CA bundle (a file path) the servers the OP sends requests to are verified with. None: certifi's.
    "OUTBOUND_CA_FILE": None,
    # Request objects (RFC 9101, docs/request-objects.md): the request and request_uri parameters.
    # False: both refused (request_not_supported, request_uri_not_supported), discovery says so.
    "REQUEST_OBJECTS": True,
    # Unsigned (alg none) request objects, for clients that registered request_object_signing_alg none.
    "REQUEST_OBJECT_ALLOW_UNSIGNED": False,
    # The largest request object accepted, by value or fetched from a request_uri (bytes).
    "REQUEST_OBJECT_MAX_BYTES": 16384,
    "CODE_LIFETIME": 600,
    "ACCESS_TOKEN_LIFETIME": 3600,
    "ID_TOKEN_LIFETIME": 3600,
    # Idle lifetime: a refresh token unused for this long expires; each refresh issues a new one.
    "REFRESH_TOKEN_LIFETIME": 30 * 86400,
    # Absolute lifetime of a refresh-token family, counted from the authorization. None: GRANT_LIFETIME.
    "REFRESH_TOKEN_ABSOLUTE_LIFETIME": None,
    # Seconds a rotated-out refresh token presented again by its own client is refused as a retry
    # (nothing revoked), not treated as a replay that revokes its family. 0: always a replay.
    "REFRESH_TOKEN_REUSE_WINDOW": 5,
    # "opaque" or "jwt" (RFC 9068); a client's own access_token_format wins.
    "ACCESS_TOKEN_FORMAT": "opaque",
    # RFC 8693 policy for clients allowed the token-exchange grant whose own policy is empty.
    "TOKEN_EXCHANGE_POLICY": {
        "subject_token_types": ["access_token", "refresh_token"],
        "requested_token_types": ["access_token", "refresh_token"],
        "audiences": [],
    },
    # DPoP (RFC 9449, docs/dpop.md): tokens bound to a client's key. On by default: it only narrows what
    # a token can be used for, and only for clients that send proofs (or registered dpop_bound_access_tokens).
    "DPOP_ENABLED": True,
    # Algorithms a DPoP proof may be signed with (asymmetric only), advertised in discovery.
    "DPOP_SIGNING_ALGS": ["ES256", "RS256", "PS256", "EdDSA"],
    # Seconds a DPoP proof is accepted after its iat, and how far in the future its iat may be; its jti
    # is remembered for as long.
    "DPOP_PROOF_LIFETIME": 60,
    "DPOP_CLOCK_SKEW": 5,
    # Add the user's username to introspection responses (RFC 7662 §2.2).
    "INTROSPECTION_USERNAME": False,
    # How long a grant (and so the whole OP session for one client) stays usable.
    "GRANT_LIFETIME": 30 * 86400,
    "CONSENT_LIFETIME": 90 * 86400,
    "SCOPES_TO_CLAIMS": SCOPE2CLAIMS,
    # What the consent page says each scope does, in plain words (``%(client)s``: the client's name).
    # A site's entries are added to these; a scope without one is shown by its name.
    "SCOPE_DESCRIPTIONS": {
        "openid": _("Confirm who you are"),
        "profile": _("Your profile"),
        "email": _("Your email address"),
        "address": _("Your postal address"),
        "phone": _("Your phone number"),
        "offline_access": _("Stay signed in to %(client)s when you are away"),
    },
    # "public": a salted hash of the user id, identical for every client; "user_id": the primary key.
    "SUBJECT_IDENTIFIER": "public",
    "REQUIRE_PKCE": False,
    # The response types the authorization endpoint serves (docs/hybrid-and-implicit.md): "code", and
    # any of "code id_token", "code token", "code id_token token", "id_token", "id_token token"
    # (tokens through the browser: off by default, RFC 9700 §2.1.2); each client may use those it registered.
    "RESPONSE_TYPES": ["code"],
    "CLAIMS_PROVIDER": "oidc_provider.claims.ClaimsProvider",
    "CONSENT_POLICY": "oidc_provider.consent.ConsentPolicy",
    # None: Django's LOGIN_URL.
    "LOGIN_URL": None,
    # The site's home page (a URL, a path or a URL pattern's name): the link off an OP page with no
    # application to return to (an error, signing out without a post_logout_redirect_uri).
    "HOME_URL": "/",
    # Pushed authorization requests (RFC 9126, docs/pushed-authorization-requests.md): the PAR endpoint
    # is served and advertised; a push only narrows what a client can do, so it is on by default.
    "PAR_ENABLED": True,
    # Seconds a pushed request's request_uri may be used (once), 5 to 600 (RFC 9126 §2.2).
    "PAR_LIFETIME": 60,
    # Every authorization request of every client must be pushed (RFC 9126 §5); per client: the
    # client's require_pushed_authorization_requests.
    "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": False,
    # Seconds a pending authorization request waits in the Django session for login or consent.
    "PENDING_REQUEST_LIFETIME": 1800,
    # Dynamic client registration (RFC 7591): "open", "initial_access_token" (RFC 7591 §3) or "none".
    "REGISTRATION_POLICY": "none",
    # Seconds until the secret of a dynamically registered client expires; 0: never.
    "REGISTRATION_SECRET_LIFETIME": 0,
    # Back-channel logout delivery: the dispatcher class, and the default one's per-attempt timeout
    # (seconds) and number of attempts.
    "LOGOUT_DISPATCHER": "oidc_provider.backchannel.ThreadDispatcher",
    "BACKCHANNEL_LOGOUT_TIMEOUT": 5,
    "BACKCHANNEL_LOGOUT_ATTEMPTS": 3,
    # The default dispatcher's threads (per process), and how many deliveries may wait for one;
    # a delivery beyond that is recorded as failed at once.
    "BACKCHANNEL_LOGOUT_WORKERS": 4,
    "BACKCHANNEL_LOGOUT_QUEUE": 100,
    # Largest request body (bytes) the token, introspection, revocation, userinfo and registration
    # endpoints read; a larger one is answered 413 before it is parsed.
    "MAX_REQUEST_BODY": 65536,
    # Rate limits, each (count, seconds) or None for none, counted in this cache (CACHES alias).
    # Use a cache every worker shares (Redis, Memcached, database) so the limits hold site-wide.
    "RATE_LIMIT_CACHE": "default",
    # Failed client authentications at the token, introspection, revocation and PAR endpoints, per
    # claimed client_id at one client address, and per client address; past a limit, failures are
    # answered 429 instead of 401 until the window ends. A correct authentication is always served.
    "CLIENT_AUTHN_FAILURE_LIMIT": (10, 60),
    "CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT": (100, 60),
    # Authenticated requests per client at the token and introspection endpoints.
    "TOKEN_RATE_LIMIT": None,
    "INTROSPECTION_RATE_LIMIT": None,
    # Pushes per client at the PAR endpoint (per client and address for a public client, which anyone
    # can name): each keeps a row until clearexpired.
    "PAR_RATE_LIMIT": (60, 60),
    # Registration requests (RFC 7591) per client address.
    "REGISTRATION_RATE_LIMIT": (20, 3600),
    # WebFinger requests (RFC 7033, docs/webfinger.md) per client address.
    "WEBFINGER_RATE_LIMIT": (60, 60),
    # Addresses or networks (CIDR) of the reverse proxies in front of the OP: a request from one
    # is counted against the right-most X-Forwarded-For address that is not a trusted proxy.
    # []: the client address is REMOTE_ADDR.
    "TRUSTED_PROXIES": [],
    # The users WebFinger (docs/webfinger.md) tells RPs this OP is the issuer of: [] (none), a list of
    # usernames or email addresses, or "all" (every active user).
    "WEBFINGER_USERS": [],
    # Seconds a failed back-channel delivery stays recorded before `clearexpired` removes it.
    "BACKCHANNEL_LOGOUT_FAILURE_RETENTION": 30 * 86400,
    # The health report (`manage.py oidchealth`, the admin index) asks for attention when no
    # `clearexpired` run has completed for this many seconds, and when a back-channel delivery
    # failed within the last HEALTH_BACKCHANNEL_FAILURE_WINDOW seconds.
    "HEALTH_CLEANUP_MAX_AGE": 2 * 86400,
    "HEALTH_BACKCHANNEL_FAILURE_WINDOW": 86400,
}

IMPORT_STRINGS = {"CLAIMS_PROVIDER", "CONSENT_POLICY", "LOGOUT_DISPATCHER"}
REGISTRATION_POLICIES = ("open", "initial_access_token", "none")


class OIDCSettings:
    """Attribute access to ``OIDC_PROVIDER`` with defaults; dotted paths come back imported."""

    def __init__(self, defaults=None, import_strings=None):
        self.defaults = defaults or DEFAULTS
        self.import_strings = import_strings or IMPORT_STRINGS
        self._cached = set()

    @property
    def user_settings(self):
        if not hasattr(self, "_user_settings"):
            self._user_settings = getattr(settings, SETTING_NAME, None) or {}
        return self._user_settings

    def unknown_keys(self):
        return sorted(set(self.user_settings) - set(self.defaults))

    def __getattr__(self, attr):
        if attr not in self.defaults:
            raise AttributeError(f"Invalid {SETTING_NAME} setting: {attr!r}")
        value = self.user_settings.get(attr, self.defaults[attr])
        if attr in self.import_strings and isinstance(value, str):
            value = import_string(value)
        if attr == "SECRET" and not value:
            value = settings.SECRET_KEY
        if attr == "KEY_ENCRYPTION_SECRET" and not value:
            value = self.SECRET
        if attr == "ISSUER" and value:
            value = value.rstrip("/")
        if attr == "LOGIN_URL" and not value:
            value = settings.LOGIN_URL
        self._cached.add(attr)
        setattr(self, attr, value)
        return value

    def reload(self):
        for attr in self._cached:
            delattr(self, attr)
        self._cached.clear()
        if hasattr(self, "_user_settings"):
            delattr(self, "_user_settings")


oidc_settings = OIDCSettings()


# The Django settings the values above are read from: a change of one (a test's override_settings)
# drops what was read, here and in anything built from it (``server`` registers its own receiver).
SETTINGS_READ = (SETTING_NAME, "SECRET_KEY", "LOGIN_URL")


@receiver(setting_changed)
def _reload_settings(*, setting, **kwargs):
    if setting in SETTINGS_READ:
        oidc_settings.reload()
