"""The OP's state as rows: clients, the idpyoidc session tree, consent and signing keys."""

import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from oidc_provider import crypto, protocol

_AUTH_METHOD_LABELS = {"private_key_jwt": "private_key_jwt (keys in jwks or jwks_uri)", "none": "none (public client)"}
AUTH_METHODS = [(method, _AUTH_METHOD_LABELS.get(method, method)) for method in protocol.AUTH_METHODS]


class Client(models.Model):
    """A relying party, described with RFC 7591 metadata names."""

    client_id = models.CharField(max_length=255, unique=True)
    client_secret_hash = models.CharField(
        max_length=128,
        blank=True,
        editable=False,
        help_text="Keyed hash of the secret; the secret itself is never stored.",
    )
    client_name = models.CharField(max_length=255, blank=True)
    redirect_uris = models.JSONField(default=list, blank=True)
    post_logout_redirect_uris = models.JSONField(default=list, blank=True)
    grant_types = models.JSONField(default=list, blank=True)
    response_types = models.JSONField(default=list, blank=True)
    token_endpoint_auth_method = models.CharField(max_length=64, choices=AUTH_METHODS, default="client_secret_basic")
    scope = models.CharField(max_length=1000, blank=True, help_text="Space-separated scopes this client may ask for.")
    skip_consent = models.BooleanField(default=False, help_text="Trusted: never show the consent page.")
    require_pkce = models.BooleanField(default=False, help_text="Public clients always require PKCE.")
    is_active = models.BooleanField(default=True)
    # RFC 7591 / OIDC Registration metadata
    jwks = models.JSONField(null=True, blank=True, help_text="The client's public keys (JWK Set).")
    jwks_uri = models.URLField(max_length=2000, blank=True)
    id_token_signed_response_alg = models.CharField(max_length=20, blank=True, help_text="Empty: the OP's default.")
    userinfo_signed_response_alg = models.CharField(max_length=20, blank=True, help_text="Empty: plain JSON.")
    access_token_format = models.CharField(
        max_length=10,
        choices=[("", "OP default"), ("opaque", "opaque"), ("jwt", "JWT (RFC 9068)")],
        blank=True,
        default="",
    )
    # Logout (OpenID Connect Back-Channel and Front-Channel Logout 1.0)
    backchannel_logout_uri = models.URLField(max_length=2000, blank=True)
    backchannel_logout_session_required = models.BooleanField(default=False)
    frontchannel_logout_uri = models.URLField(max_length=2000, blank=True)
    frontchannel_logout_session_required = models.BooleanField(default=False)
    # Token exchange (RFC 8693) policy, for a client allowed the token-exchange grant type.
    token_exchange = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"subject_token_types": [...], "requested_token_types": [...], '
        '"audiences": [...], "scopes": [...]}; '
        "empty: the OP's TOKEN_EXCHANGE_POLICY.",
    )
    # Where the client came from, and dynamic-registration bookkeeping (RFC 7591/7592)
    registered_via = models.CharField(
        max_length=20,
        choices=[("admin", "admin"), ("command", "createclient"), ("registration", "dynamic registration")],
        default="admin",
    )
    registration_access_token_hash = models.CharField(max_length=128, blank=True, editable=False, db_index=True)
    client_secret_expires_at = models.BigIntegerField(default=0, help_text="0: never (RFC 7591 §3.2.1).")
    metadata = models.JSONField(
        default=dict, blank=True, help_text="Other registered metadata (contacts, logo_uri, …)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client_id"]

    def __str__(self):
        return self.client_name or self.client_id

    @property
    def is_public(self):
        return self.token_endpoint_auth_method == "none"

    @property
    def has_secret(self):
        """Only client_secret_* clients have a secret; public and private_key_jwt clients have none."""
        return self.token_endpoint_auth_method in protocol.SECRET_METHODS

    @property
    def scopes(self):
        return self.scope.split()

    def set_secret(self, secret):
        """Store a keyed hash of ``secret`` (the plain secret is shown once and never kept)."""
        self.client_secret_hash = crypto.hash_client_secret(secret) if secret else ""

    def check_secret(self, secret):
        return crypto.check_client_secret(secret, self.client_secret_hash)


class SessionNode(models.Model):
    """One node of idpyoidc's session tree: a user session, a client session or a grant.

    ``key`` is idpyoidc's branch key (``uid``, ``uid;;cid`` or ``uid;;cid;;gid``); ``data`` is the
    node's ``dump()`` without ``subordinate``, which is derived from the children's ``parent_key``.
    Tokens live inside the grant's data, as in idpyoidc.
    """

    USER, CLIENT, GRANT = "user", "client", "grant"
    KINDS = [(USER, "user session"), (CLIENT, "client session"), (GRANT, "grant")]

    key = models.CharField(max_length=700)
    parent_key = models.CharField(max_length=700, blank=True)
    kind = models.CharField(max_length=10, choices=KINDS)
    user_id = models.CharField(max_length=255)
    client_id = models.CharField(max_length=255, blank=True)
    class_name = models.CharField(max_length=255)
    data = models.JSONField()
    revoked = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)  # clearexpired
    # the OPSession a grant was made in (empty for nodes other than grants)
    op_session = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        # Only the indexes a query uses: every grant insert and token update pays for each one.
        constraints = [
            # one index for both `key = …` and the `key LIKE 'prefix%'` of subtree look-ups
            models.UniqueConstraint(fields=["key"], name="oidc_node_key", opclasses=["varchar_pattern_ops"]),
        ]
        indexes = [
            models.Index(fields=["parent_key"], name="oidc_node_parent"),  # a node's children
            models.Index(fields=["op_session"], name="oidc_node_op_session"),  # logout of an OP session
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.key}"


class Consent(models.Model):
    """What a user allowed a client, until ``expires_at``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_consents")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    scope = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="oidc_consent_user_client")]

    def __str__(self):
        return f"{self.user} -> {self.client}: {self.scope}"

    @property
    def scopes(self):
        return self.scope.split()

    def covers(self, scopes):
        return self.expires_at > timezone.now() and set(scopes) <= set(self.scopes)


class SigningKey(models.Model):
    """A signing key of the OP. Private material is encrypted at rest (never shown, never served).

    Life cycle, per algorithm (docs/keys.md): *next* (published, not signing) -> *current* (signing;
    one per algorithm) -> *retired* (published for verification until ``remove_after``) -> deleted.
    """

    NEXT, CURRENT, RETIRED = "next", "current", "retired"
    STATES = [(NEXT, "next"), (CURRENT, "current"), (RETIRED, "retired")]

    kid = models.CharField(max_length=100, unique=True)
    alg = models.CharField(max_length=20)
    use = models.CharField(max_length=10, default="sig")
    state = models.CharField(max_length=10, choices=STATES, default=CURRENT, db_index=True)
    public_jwk = models.JSONField()
    private_jwk_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(
        auto_now_add=True, help_text="Published since (as next, or current on first run)."
    )
    activated_at = models.DateTimeField(null=True, blank=True, help_text="Became current.")
    retired_at = models.DateTimeField(null=True, blank=True, help_text="Stopped signing.")
    remove_after = models.DateTimeField(null=True, blank=True, help_text="Retired keys are deleted after this.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # at most one signing and one upcoming key per algorithm, whatever runs concurrently
            models.UniqueConstraint(
                fields=["alg"], condition=models.Q(state="current"), name="oidc_one_current_key_per_alg"
            ),
            models.UniqueConstraint(fields=["alg"], condition=models.Q(state="next"), name="oidc_one_next_key_per_alg"),
        ]

    def __str__(self):
        return f"{self.kid} ({self.alg}, {self.state})"


class ClientAssertion(models.Model):
    """A client assertion (RFC 7523) already used: its ``jti`` may not be replayed until it expires."""

    key = models.CharField(max_length=64, unique=True, help_text="SHA-256 of issuer and jti.")
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return self.key


class OPSession(models.Model):
    """One browser's sign-in at the OP (the session of OpenID Connect logout): the grants made in it
    end with it. Its key lives in the Django session, so it survives a re-login of the same user and
    dies with a logout."""

    key = models.CharField(max_length=64, unique=True)
    user_id = models.CharField(max_length=255, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "OP session"

    def __str__(self):
        return f"{self.user_id} since {self.created_at:%Y-%m-%d %H:%M}"


class InitialAccessToken(models.Model):
    """A bearer token that lets its holder register clients (RFC 7591 §3). Stored as a keyed hash."""

    token_hash = models.CharField(max_length=128, unique=True, editable=False)
    description = models.CharField(max_length=255, blank=True, help_text="Who it was issued to.")
    uses_left = models.PositiveIntegerField(default=1)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.description or f"initial access token #{self.pk}"

    PURPOSE = "initial-access-token"

    @classmethod
    def hash(cls, token: str) -> str:
        return crypto.hash_token(token, cls.PURPOSE)

    @classmethod
    def mint(cls, description="", uses=1, expires_in=None) -> tuple["InitialAccessToken", str]:
        """A new token: the row, and the token itself (shown once, never stored)."""
        token = secrets.token_urlsafe(32)
        expires_at = timezone.now() + dt.timedelta(seconds=expires_in) if expires_in else None
        row = cls.objects.create(
            token_hash=cls.hash(token), description=description, uses_left=uses, expires_at=expires_at
        )
        return row, token

    @classmethod
    def usable(cls, token: str):
        """The row of ``token`` if it is unexpired and has uses left (a queryset, to lock it)."""
        live = models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=timezone.now())
        hashes = crypto.token_hashes(token, cls.PURPOSE)  # a row written before HKDF holds the second
        return cls.objects.filter(live, token_hash__in=hashes, uses_left__gt=0)


class BackchannelLogoutFailure(models.Model):
    """A logout token that never reached its client (OpenID Connect Back-Channel Logout 1.0 §2.5)."""

    client_id = models.CharField(max_length=255, db_index=True)
    uri = models.URLField(max_length=2000)
    attempts = models.PositiveSmallIntegerField()
    error = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.client_id}: {self.error}"


class IssuedToken(models.Model):
    """A code or token of a grant (idpyoidc's ``Grant.issued_token``), minted after the grant was made:
    its row, not the grant's, is read and written when it is presented, so a refresh costs the same on a
    chain's first rotation and its thousandth. ``digest`` is the keyed hash of its value
    (``storage.token_values``), never the value; ``data`` the rest of its dump (``idpy.node_codec``).
    A grant's ID tokens and the tokens minted with it stay in the grant's ``SessionNode`` row."""

    digest = models.CharField(max_length=64)
    grant_key = models.CharField(max_length=700)  # the SessionNode key of its grant
    token_class = models.CharField(max_length=32)
    class_name = models.CharField(max_length=255)
    based_on = models.CharField(max_length=64, blank=True)  # the digest of the token it was minted from
    used = models.PositiveIntegerField(default=0)
    revoked = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)  # clearexpired
    data = models.JSONField()

    class Meta:
        # Only the indexes a query uses: every refresh inserts two rows. `digest`: a presented token
        # (a constraint, not `unique=True`, which adds a second index on PostgreSQL for LIKE);
        # `grant_key`: a grant's tokens (revoked together, read whole, deleted with it).
        constraints = [models.UniqueConstraint(fields=["digest"], name="oidc_token_digest")]
        indexes = [models.Index(fields=["grant_key"], name="oidc_token_grant")]

    def __str__(self):
        return f"{self.token_class} of {self.grant_key}"
