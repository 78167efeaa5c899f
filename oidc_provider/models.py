"""The OP's state as rows: clients, the idpyoidc session tree, consent and signing keys."""

import datetime as dt
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from oidc_provider import crypto, protocol

_AUTH_METHOD_LABELS = {
    "client_secret_basic": _("Secret in the Authorization header (client_secret_basic)"),
    "client_secret_post": _("Secret in the request body (client_secret_post)"),
    "client_secret_jwt": _("A JWT signed with the secret (client_secret_jwt)"),
    "private_key_jwt": _("Signed with the client's private key (private_key_jwt)"),
    "none": _("None: a public client, such as a single-page or mobile app (none)"),
}
AUTH_METHODS = [(method, _AUTH_METHOD_LABELS.get(method, method)) for method in protocol.AUTH_METHODS]


class Client(models.Model):
    """A relying party, described with RFC 7591 metadata names."""

    client_id = models.CharField(
        _("client ID"),
        max_length=255,
        unique=True,
        help_text=_(
            "client_id (RFC 6749 §2.2): the identifier the application sends with every request. "
            "A random one is proposed; it cannot be changed once the client is saved."
        ),
    )
    client_secret_hash = models.CharField(
        _("secret hash"),
        max_length=128,
        blank=True,
        editable=False,
        help_text=_("Keyed hash of the secret; the secret itself is never stored in clear."),
    )
    client_secret_encrypted = models.TextField(
        _("encrypted secret"),
        blank=True,
        editable=False,
        help_text=_(
            "client_secret_jwt clients only: the secret encrypted with KEY_ENCRYPTION_SECRET, to check the "
            "HMAC of their assertions. Empty for every other client."
        ),
    )
    client_name = models.CharField(
        _("name"),
        max_length=255,
        blank=True,
        help_text=_("client_name (RFC 7591 §2): the application's name, shown to users on the consent page."),
    )
    redirect_uris = models.JSONField(
        _("redirect URIs"),
        default=list,
        blank=True,
        help_text=_(
            "redirect_uris (RFC 7591 §2): where users are sent back after signing in, one per line. "
            "Absolute https URIs without a fragment or user:password@ (http only on 127.0.0.1, [::1] or "
            "localhost, RFC 8252 §7.3). At least one for the authorization code grant."
        ),
    )
    post_logout_redirect_uris = models.JSONField(
        _("post-logout redirect URIs"),
        default=list,
        blank=True,
        help_text=_(
            "post_logout_redirect_uris (OpenID Connect RP-Initiated Logout 1.0 §3.1): where users may be "
            "sent after signing out, one per line; the same rules as redirect URIs."
        ),
    )
    grant_types = models.JSONField(
        _("grant types"),
        default=list,
        blank=True,
        help_text=_("grant_types (RFC 7591 §2): how the client obtains tokens."),
    )
    response_types = models.JSONField(
        _("response types"),
        default=list,
        blank=True,
        help_text=_("response_types (RFC 7591 §2): what the authorization endpoint returns to the client."),
    )
    token_endpoint_auth_method = models.CharField(
        _("client authentication"),
        max_length=64,
        choices=AUTH_METHODS,
        default="client_secret_basic",
        help_text=_(
            "token_endpoint_auth_method (RFC 7591 §2): how the client proves who it is at the token endpoint. "
            "A public client has no secret and always uses PKCE."
        ),
    )
    scope = models.CharField(
        _("allowed scopes"),
        max_length=1000,
        blank=True,
        help_text=_(
            "scope (RFC 7591 §2): the scopes the client may ask for; openid is required. "
            "None ticked: every configured scope. offline_access also needs the refresh token grant type."
        ),
    )
    skip_consent = models.BooleanField(
        _("trusted: skip consent"),
        default=False,
        help_text=_("Users are never asked to consent: for the site's own applications only."),
    )
    require_pkce = models.BooleanField(
        _("require PKCE"),
        default=False,
        help_text=_(
            "Every authorization request must carry a code_challenge (RFC 7636). Public clients always require it."
        ),
    )
    require_pushed_authorization_requests = models.BooleanField(
        _("require pushed authorization requests"),
        default=False,
        help_text=_(
            "require_pushed_authorization_requests (RFC 9126 §6): every authorization request must come "
            "as a request_uri from the pushed authorization request endpoint."
        ),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("An inactive client is refused: it cannot sign users in or get tokens.")
    )
    # RFC 7591 / OIDC Registration metadata
    jwks = models.JSONField(
        _("public keys"),
        null=True,
        blank=True,
        help_text=_(
            "jwks (RFC 7591 §2): the client's public keys as a JWK Set (RFC 7517 §5), "
            '{"keys": [...]}, for private_key_jwt. Give these or a keys URL, not both.'
        ),
    )
    jwks_uri = models.URLField(
        _("keys URL"),
        max_length=2000,
        blank=True,
        help_text=_(
            "jwks_uri (RFC 7591 §2): where the client publishes its public keys, for private_key_jwt; https. "
            "Give this or the public keys, not both."
        ),
    )
    id_token_signed_response_alg = models.CharField(
        _("ID token signing algorithm"),
        max_length=20,
        blank=True,
        help_text=_("id_token_signed_response_alg (OpenID Connect Registration 1.0 §2). Empty: the OP's default."),
    )
    userinfo_signed_response_alg = models.CharField(
        _("UserInfo signing algorithm"),
        max_length=20,
        blank=True,
        help_text=_(
            "userinfo_signed_response_alg (OpenID Connect Registration 1.0 §2). Empty: the UserInfo "
            "response is plain JSON."
        ),
    )
    # Encrypted responses (OpenID Connect Core 1.0 §10.2, §5.3.2), to a key of the client's JWK Set
    id_token_encrypted_response_alg = models.CharField(
        _("ID token encryption algorithm"),
        max_length=20,
        blank=True,
        help_text=_(
            "id_token_encrypted_response_alg (OpenID Connect Registration 1.0 §2): the JWE alg the ID token is "
            "encrypted with, after it is signed, to a key of the client's JWK Set. Empty: not encrypted."
        ),
    )
    id_token_encrypted_response_enc = models.CharField(
        _("ID token content encryption"),
        max_length=20,
        blank=True,
        help_text=_("id_token_encrypted_response_enc (OpenID Connect Registration 1.0 §2), the JWE enc."),
    )
    userinfo_encrypted_response_alg = models.CharField(
        _("UserInfo encryption algorithm"),
        max_length=20,
        blank=True,
        help_text=_(
            "userinfo_encrypted_response_alg (OpenID Connect Registration 1.0 §2): the JWE alg the UserInfo "
            "response is encrypted with, to a key of the client's JWK Set. Empty: not encrypted."
        ),
    )
    userinfo_encrypted_response_enc = models.CharField(
        _("UserInfo content encryption"),
        max_length=20,
        blank=True,
        help_text=_("userinfo_encrypted_response_enc (OpenID Connect Registration 1.0 §2), the JWE enc."),
    )
    access_token_format = models.CharField(
        _("access token format"),
        max_length=10,
        choices=[("", _("OP default")), ("opaque", _("opaque")), ("jwt", _("JWT (RFC 9068)"))],
        blank=True,
        default="",
        help_text=_("OP default: the ACCESS_TOKEN_FORMAT setting."),
    )
    # Subject identifiers (OpenID Connect Core 1.0 §8)
    subject_type = models.CharField(
        _("subject type"),
        max_length=10,
        choices=[("public", _("public: one sub for every client")), ("pairwise", _("pairwise: one sub per sector"))],
        default="public",
        help_text=_(
            "subject_type (OpenID Connect Core 1.0 §8): pairwise gives this client a sub of its own for "
            "each user, shared only with clients of the same sector."
        ),
    )
    sector_identifier_uri = models.URLField(
        _("sector identifier URL"),
        max_length=2000,
        blank=True,
        help_text=_(
            "sector_identifier_uri (OpenID Connect Registration 1.0 §5): https; a JSON array listing every "
            "redirect URI. Its host is the sector; required for a pairwise client with redirect URIs on "
            "more than one host."
        ),
    )
    # DPoP (RFC 9449)
    dpop_bound_access_tokens = models.BooleanField(
        _("require DPoP"),
        default=False,
        help_text=_(
            "dpop_bound_access_tokens (RFC 9449 §5.2): every token request of this client must carry a DPoP "
            "proof, so all its access tokens are bound to its key."
        ),
    )
    # Request objects (RFC 9101, OpenID Connect Core 1.0 §6)
    request_object_signing_alg = models.CharField(
        _("request object signing algorithm"),
        max_length=20,
        blank=True,
        help_text=_(
            "request_object_signing_alg (OpenID Connect Registration 1.0 §2): the only algorithm its request "
            "objects may use. Empty: any asymmetric one the OP accepts (HS256/384/512 too for a "
            "client_secret_jwt client)."
        ),
    )
    request_uris = models.JSONField(
        _("request URIs"),
        default=list,
        blank=True,
        help_text=_(
            "request_uris (OpenID Connect Registration 1.0 §2, RFC 9101 §5.2): the only URLs the OP fetches "
            "this client's request objects from (https)."
        ),
    )
    # Logout (OpenID Connect Back-Channel and Front-Channel Logout 1.0)
    backchannel_logout_uri = models.URLField(
        _("back-channel logout URL"),
        max_length=2000,
        blank=True,
        help_text=_(
            "backchannel_logout_uri (OpenID Connect Back-Channel Logout 1.0 §2.2): where the OP posts a "
            "logout token when the user signs out; https."
        ),
    )
    backchannel_logout_session_required = models.BooleanField(
        _("back-channel logout needs the session ID"),
        default=False,
        help_text=_("backchannel_logout_session_required (Back-Channel Logout 1.0 §2.2): the token carries sid."),
    )
    frontchannel_logout_uri = models.URLField(
        _("front-channel logout URL"),
        max_length=2000,
        blank=True,
        help_text=_(
            "frontchannel_logout_uri (OpenID Connect Front-Channel Logout 1.0 §2): loaded in a hidden "
            "frame when the user signs out; the scheme, host and port of a redirect URI."
        ),
    )
    frontchannel_logout_session_required = models.BooleanField(
        _("front-channel logout needs the session ID"),
        default=False,
        help_text=_("frontchannel_logout_session_required (Front-Channel Logout 1.0 §2): the URL gets iss and sid."),
    )
    # Token exchange (RFC 8693) policy, for a client allowed the token-exchange grant type.
    token_exchange = models.JSONField(
        _("token exchange policy"),
        default=dict,
        blank=True,
        help_text=_(
            'Token exchange (RFC 8693) policy, a JSON object: {"subject_token_types": [...], '
            '"requested_token_types": [...], "audiences": [...], "scopes": [...]}. '
            "Empty: the OP's TOKEN_EXCHANGE_POLICY setting."
        ),
    )
    # Where the client came from, and dynamic-registration bookkeeping (RFC 7591/7592)
    registered_via = models.CharField(
        _("registered via"),
        max_length=20,
        choices=[("admin", _("admin")), ("command", _("createclient")), ("registration", _("dynamic registration"))],
        default="admin",
    )
    vetted = models.BooleanField(
        _("vetted"),
        default=False,
        help_text=_(
            "An administrator checked this self-registered client: its name is shown without the "
            "“not verified” marker and its redirects are followed without a page in between."
        ),
    )
    registration_access_token_hash = models.CharField(
        _("registration access token hash"), max_length=128, blank=True, editable=False, db_index=True
    )
    client_secret_expires_at = models.BigIntegerField(
        _("secret expires"), default=0, help_text=_("client_secret_expires_at (RFC 7591 §3.2.1); 0: never.")
    )
    metadata = models.JSONField(
        _("other registered metadata"),
        default=dict,
        blank=True,
        help_text=_("Other registered metadata (contacts, logo_uri, …)."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["client_id"]
        verbose_name = _("client")
        verbose_name_plural = _("clients")

    def __str__(self):
        return self.client_name or self.client_id

    @property
    def is_vetted(self):
        """Does someone answer for this client? One an administrator made (admin, ``createclient``),
        trusted (``skip_consent``) or checked (``vetted``): a client that registered itself may be
        anyone's and names itself (RFC 9700 §4.11.2)."""
        return self.registered_via != "registration" or self.skip_consent or self.vetted

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

    @property
    def keeps_secret(self):
        """A client_secret_jwt client's secret is the HMAC key of its assertions: it is kept encrypted
        (recoverable with KEY_ENCRYPTION_SECRET), besides its hash. No other client's is."""
        return self.token_endpoint_auth_method == "client_secret_jwt"

    def set_secret(self, secret):
        """Store a keyed hash of ``secret`` (the plain secret is shown once and never kept in clear);
        for a client_secret_jwt client, also ``secret`` encrypted (crypto.encrypt_text)."""
        self.client_secret_hash = crypto.hash_client_secret(secret) if secret else ""
        self.client_secret_encrypted = crypto.encrypt_text(secret) if secret and self.keeps_secret else ""

    def recover_secret(self) -> str:
        """The secret of a client_secret_jwt client, decrypted; "" for any other client or none kept.
        ValueError if KEY_ENCRYPTION_SECRET changed without the old value among its fallbacks."""
        if not self.keeps_secret or not self.client_secret_encrypted:
            return ""
        return crypto.decrypt_text(self.client_secret_encrypted)

    def save(self, *args, **kwargs):
        """A client switched away from client_secret_jwt loses the encrypted copy of its secret."""
        if not self.keeps_secret and self.client_secret_encrypted:
            self.client_secret_encrypted = ""
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "client_secret_encrypted"}
        super().save(*args, **kwargs)

    def check_secret(self, secret):
        return crypto.check_client_secret(secret, self.client_secret_hash)


class SessionNode(models.Model):
    """One node of idpyoidc's session tree: a user session, a client session or a grant.

    ``key`` is idpyoidc's branch key (``uid``, ``uid;;cid`` or ``uid;;cid;;gid``); ``data`` is the
    node's ``dump()`` without ``subordinate``, which is derived from the children's ``parent_key``.
    Tokens live inside the grant's data, as in idpyoidc.
    """

    USER, CLIENT, GRANT = "user", "client", "grant"
    # A user node holds every session of the user (all browsers), a client node the user's sessions at
    # one client; a grant is what one authorization gave the client, with its tokens.
    KINDS = [
        (USER, _("All sessions of a user")),
        (CLIENT, _("Sessions of a user at a client")),
        (GRANT, _("Grant")),
    ]

    key = models.CharField(_("key"), max_length=700)
    parent_key = models.CharField(_("parent key"), max_length=700, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=KINDS)
    user_id = models.CharField(_("user ID"), max_length=255)
    client_id = models.CharField(_("client ID"), max_length=255, blank=True)
    class_name = models.CharField(max_length=255)
    data = models.JSONField()
    revoked = models.BooleanField(_("revoked"), default=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)  # clearexpired
    # the OPSession a grant was made in (empty for nodes other than grants)
    op_session = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("session or grant")
        verbose_name_plural = _("sessions and grants")
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
        names = {"user": self.user_id, "client": self.client_id}
        if self.kind == self.USER:
            return _("All sessions of user %(user)s") % names
        if self.kind == self.CLIENT:
            return _("Sessions of user %(user)s at %(client)s") % names
        return _("Grant to %(client)s for user %(user)s") % names


class Consent(models.Model):
    """What a user allowed a client, until ``expires_at``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_consents", verbose_name=_("user")
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents", verbose_name=_("client"))
    scope = models.CharField(_("scope"), max_length=1000)
    created_at = models.DateTimeField(_("given"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
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
    STATES = [(NEXT, _("next")), (CURRENT, _("current")), (RETIRED, _("retired"))]

    kid = models.CharField(_("key ID (kid)"), max_length=100, unique=True)
    alg = models.CharField(_("algorithm"), max_length=20)
    use = models.CharField(_("use"), max_length=10, default="sig")
    state = models.CharField(_("state"), max_length=10, choices=STATES, default=CURRENT, db_index=True)
    public_jwk = models.JSONField(_("public key"))
    private_jwk_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(
        _("created"), auto_now_add=True, help_text=_("Published since (as next, or current on first run).")
    )
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True, help_text=_("Became current."))
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True, help_text=_("Stopped signing."))
    remove_after = models.DateTimeField(
        _("remove after"), null=True, blank=True, help_text=_("Retired keys are deleted after this.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        constraints = [
            # at most one signing and one upcoming key per algorithm, whatever runs concurrently
            models.UniqueConstraint(
                fields=["alg"], condition=models.Q(state="current"), name="oidc_one_current_key_per_alg"
            ),
            models.UniqueConstraint(fields=["alg"], condition=models.Q(state="next"), name="oidc_one_next_key_per_alg"),
        ]

    def __str__(self):
        return f"{self.kid} ({self.alg}, {self.get_state_display()})"


class ClientAssertion(models.Model):
    """A client assertion (RFC 7523) already used: its ``jti`` may not be replayed until it expires."""

    key = models.CharField(max_length=64, unique=True, help_text=_("SHA-256 of issuer and jti."))
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
        verbose_name = _("OP session")

    def __str__(self):
        return f"{self.user_id} since {self.created_at:%Y-%m-%d %H:%M}"


class InitialAccessToken(models.Model):
    """A bearer token that lets its holder register clients (RFC 7591 §3). Stored as a keyed hash."""

    token_hash = models.CharField(_("token hash"), max_length=128, unique=True, editable=False)
    description = models.CharField(_("description"), max_length=255, blank=True, help_text=_("Who it is for."))
    uses_left = models.PositiveIntegerField(
        _("uses left"), default=1, help_text=_("How many clients it may still register.")
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, help_text=_("Empty: never."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("initial access token")
        verbose_name_plural = _("initial access tokens")

    def __str__(self):
        return self.description or _("initial access token #%(number)s") % {"number": self.pk}

    PURPOSE = "initial-access-token"

    @classmethod
    def hash(cls, token: str) -> str:
        return crypto.hash_token(token, cls.PURPOSE)

    @classmethod
    def mint(cls, description="", uses=1, expires_in=None) -> tuple["InitialAccessToken", str]:
        """A new token: the row, and the token itself (shown once, never stored)."""
        expires_at = timezone.now() + dt.timedelta(seconds=expires_in) if expires_in else None
        row = cls(description=description, uses_left=uses, expires_at=expires_at)
        token = row.new_token()
        row.save()
        return row, token

    def new_token(self) -> str:
        """Give this (unsaved) row a new token: its hash is kept, the token returned to be shown once."""
        token = secrets.token_urlsafe(32)
        self.token_hash = self.hash(token)
        return token

    @classmethod
    def usable(cls, token: str):
        """The row of ``token`` if it is unexpired and has uses left (a queryset, to lock it)."""
        live = models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=timezone.now())
        hashes = crypto.token_hashes(token, cls.PURPOSE)  # a row written before HKDF holds the second
        return cls.objects.filter(live, token_hash__in=hashes, uses_left__gt=0)


class BackchannelLogoutFailure(models.Model):
    """A logout token that never reached its client (OpenID Connect Back-Channel Logout 1.0 §2.5)."""

    client_id = models.CharField(_("client ID"), max_length=255, db_index=True)
    uri = models.URLField(_("back-channel logout URL"), max_length=2000)
    attempts = models.PositiveSmallIntegerField(_("attempts"))
    error = models.CharField(_("error"), max_length=500)
    created_at = models.DateTimeField(_("failed"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("failed back-channel logout")
        verbose_name_plural = _("failed back-channel logouts")

    def __str__(self):
        return f"{self.client_id}: {self.error}"


class CleanupRun(models.Model):
    """One completed ``clearexpired`` run: when, and how many rows of each kind it removed (the
    health report reads the last one)."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), db_index=True)
    # [[kind, count], ...] in the order of the run: a JSON object's keys lose their order in jsonb
    removed = models.JSONField(_("removed"), default=list, help_text=_("Rows removed, by kind."))

    class Meta:
        ordering = ["-finished_at"]
        verbose_name = _("clean-up run")
        verbose_name_plural = _("clean-up runs")

    def __str__(self):
        return f"clean-up of {self.finished_at:%Y-%m-%d %H:%M}"

    @property
    def total(self):
        return sum(count for _kind, count in self.removed)

    @property
    def counts(self):
        return dict(self.removed)


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


class PushedRequest(models.Model):
    """An authorization request pushed to the PAR endpoint (RFC 9126), until its ``request_uri`` is
    used once at the authorization endpoint or expires. ``digest`` is the keyed hash of the
    ``request_uri``'s random part, never the value (``storage.pushed_requests``)."""

    digest = models.CharField(max_length=100, unique=True)
    client_id = models.CharField(max_length=255)
    parameters = models.JSONField()  # the pushed authorization request's parameters, as pushed
    expires_at = models.DateTimeField(db_index=True)  # clearexpired
    consumed = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("pushed authorization request")

    def __str__(self):
        return f"{self.client_id} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
