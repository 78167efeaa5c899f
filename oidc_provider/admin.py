"""The Django admin: clients (secret shown once), session tree and consents (revoke / withdraw), keys (rotate)."""

import datetime as dt
import json

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename, get_user_model
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join

from oidc_provider.crypto import generate_client_secret
from oidc_provider.forms import ClientForm
from oidc_provider.logout import revoke_subtrees
from oidc_provider.models import BackchannelLogoutFailure, Client, Consent, InitialAccessToken, SessionNode, SigningKey
from oidc_provider.storage.keys import public_jwk, rotate_keys


class ReadOnlyAdmin(admin.ModelAdmin):
    """Listed and viewable, never added or edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    form = ClientForm
    list_display = (
        "client_id",
        "client_name",
        "token_endpoint_auth_method",
        "registered_via",
        "skip_consent",
        "is_active",
        "created_at",
    )
    search_fields = ("client_id", "client_name")
    list_filter = ("is_active", "registered_via", "skip_consent", "token_endpoint_auth_method", "require_pkce")
    readonly_fields = (
        "client_secret",
        "registered_via",
        "client_secret_expires_at",
        "registered_metadata",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("client_id", "client_name", "is_active")}),
        ("Redirection", {"fields": ("redirect_uris", "post_logout_redirect_uris")}),
        ("Protocol", {"fields": ("grant_types", "response_types", "scope", "access_token_format", "token_exchange")}),
        ("Authentication", {"fields": ("token_endpoint_auth_method", "client_secret", "require_pkce", "skip_consent")}),
        (
            "Keys and algorithms",
            {"fields": ("jwks_uri", "jwks", "id_token_signed_response_alg", "userinfo_signed_response_alg")},
        ),
        (
            "Logout",
            {
                "fields": (
                    "backchannel_logout_uri",
                    "backchannel_logout_session_required",
                    "frontchannel_logout_uri",
                    "frontchannel_logout_session_required",
                )
            },
        ),
        (
            "Origin",
            {
                "fields": (
                    "registered_via",
                    "client_secret_expires_at",
                    "registered_metadata",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )
    actions = ["new_secret"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return ("client_id", *fields) if obj else fields  # session rows and RPs refer to it

    @admin.display(description="client secret")
    def client_secret(self, obj):
        if obj.is_public:
            return "none (public client)"
        if not obj.has_secret:
            return "none: the client signs with the private key of its jwks or jwks_uri"
        if obj.client_secret_hash:
            return "•••••••• stored as a hash; use the “Generate a new secret” action to replace it"
        return "generated and shown once when the client is saved"

    @admin.display(description="other registered metadata")
    def registered_metadata(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.metadata, indent=2, sort_keys=True)) if obj.metadata else "—"

    def save_model(self, request, obj, form, change):
        if obj.is_public:
            obj.require_pkce = True
        if not obj.has_secret:
            obj.set_secret(None)
        elif not obj.client_secret_hash:  # new confidential client, or a public one made confidential
            obj.generated_secret = generate_client_secret()  # for the response below, on this instance only
            obj.set_secret(obj.generated_secret)
        super().save_model(request, obj, form, change)

    def secret_page(self, request, client, secret):
        """The page that shows a new ``secret`` once. It is on this response only: never in a message
        (Django keeps those in a cookie or the session), a log or a row, where only its hash is kept."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "client": client,
            "secret": secret,
            "title": f"Client secret for {client.client_id}",
        }
        response = TemplateResponse(request, "admin/oidc_provider/client/secret.html", context)
        add_never_cache_headers(response)
        return response

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(obj, "generated_secret", None):
            return self.secret_page(request, obj, obj.generated_secret)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(obj, "generated_secret", None):
            return self.secret_page(request, obj, obj.generated_secret)
        return super().response_change(request, obj)

    @admin.action(description="Generate a new secret (one confidential client)", permissions=["change"])
    def new_secret(self, request, queryset):
        clients = list(queryset[:2])
        if len(clients) != 1:
            self.message_user(request, "Select exactly one client: its new secret is shown only once.", messages.ERROR)
            return
        client = clients[0]
        if not client.has_secret:
            kind = "a public client" if client.is_public else f"a {client.token_endpoint_auth_method} client"
            self.message_user(request, f"{client.client_id} is {kind}: it has no secret.", messages.ERROR)
            return
        secret = generate_client_secret()
        client.set_secret(secret)
        client.save(update_fields=["client_secret_hash", "updated_at"])
        self.log_change(request, client, "Generated a new client secret.")
        return self.secret_page(request, client, secret)


def _when(timestamp):
    if not timestamp:
        return "—"
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@admin.register(SessionNode)
class SessionNodeAdmin(ReadOnlyAdmin):
    list_display = ("kind", "user_id", "client_id", "revoked", "expires_at", "created_at")
    list_filter = ("kind", "revoked")
    search_fields = ("user_id", "client_id")
    # never `data`: it holds the token values
    fields = ("key", "kind", "user_id", "client_id", "revoked", "expires_at", "created_at", "updated_at", "summary")
    readonly_fields = fields
    actions = ["revoke"]

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        """Revoking needs the model's change permission, which this admin otherwise never uses."""
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename('change', self.opts)}")

    @admin.action(
        description="Revoke, with everything under it and every token; sign the user out", permissions=["revoke"]
    )
    def revoke(self, request, queryset):
        count = revoke_subtrees(queryset)
        self.message_user(
            request,
            f"Revoked {count} session node(s) and their tokens. The sign-in sessions they belong to ended: "
            "their clients were notified and the user signs in again.",
            messages.SUCCESS,
        )

    @admin.display(description="summary")
    def summary(self, obj):
        if obj.kind != SessionNode.GRANT:
            children = SessionNode.objects.filter(parent_key=obj.key).count()
            return f"{children} node(s) directly under this one"
        tokens = [token for item in obj.data.get("issued_token", []) for token in item.values()]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    t.get("token_class", "?"),
                    _when(t.get("issued_at")),
                    _when(t.get("expires_at")),
                    t.get("used", 0),
                    "yes" if t.get("revoked") else "no",
                )
                for t in tokens
            ),
        )
        return format_html(
            "<p>User {} · client {} · scope {}</p>"
            "<table><thead><tr><th>token</th><th>issued</th><th>expires</th><th>used</th><th>revoked</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            obj.user_id,
            obj.client_id,
            " ".join(obj.data.get("scope", [])) or "—",
            rows or format_html("<tr><td colspan='5'>no tokens</td></tr>"),
        )


def _user_search_field():
    return f"user__{get_user_model().USERNAME_FIELD}"


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    """Deleting a consent withdraws it: the user is asked again next time."""

    list_display = ("user", "client", "scope", "created_at", "expires_at")
    list_select_related = ("user", "client")
    fields = ("user", "client", "scope", "created_at", "expires_at")
    readonly_fields = fields

    def get_search_fields(self, request):
        return (_user_search_field(), "client__client_id", "client__client_name")


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    """Keys are made and retired by rotation only (here or ``manage.py rotatekeys``), never edited."""

    list_display = ("kid", "alg", "state", "created_at", "activated_at", "retired_at", "remove_after")
    list_filter = ("state", "alg")
    # never `private_jwk_encrypted`
    fields = (
        "kid",
        "alg",
        "use",
        "state",
        "public_key",
        "created_at",
        "activated_at",
        "retired_at",
        "remove_after",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["rotate"]

    def has_delete_permission(self, request, obj=None):
        return False

    def has_rotate_permission(self, request):
        """Rotating needs the model's change permission, which this admin otherwise never uses."""
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename('change', self.opts)}")

    @admin.action(description="Rotate the keys of the selected keys' algorithms", permissions=["rotate"])
    def rotate(self, request, queryset):
        algs = sorted(set(queryset.values_list("alg", flat=True)))
        for line in rotate_keys(algs):
            self.message_user(request, line, messages.INFO)
        self.message_user(
            request,
            "Rotation done; every worker uses the new keys within KEYS_REFRESH_INTERVAL seconds.",
            messages.SUCCESS,
        )

    @admin.display(description="public JWK")
    def public_key(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(public_jwk(obj.public_jwk), indent=2, sort_keys=True))


@admin.register(InitialAccessToken)
class InitialAccessTokenAdmin(ReadOnlyAdmin):
    """Made with ``manage.py createinitialaccesstoken`` (the token is shown once); deleting one revokes it."""

    list_display = ("__str__", "uses_left", "expires_at", "created_at")
    fields = ("description", "uses_left", "expires_at", "created_at")  # never the hash
    readonly_fields = fields


@admin.register(BackchannelLogoutFailure)
class BackchannelLogoutFailureAdmin(ReadOnlyAdmin):
    """Logout tokens that never reached their client: the RP may still hold a session there."""

    list_display = ("client_id", "uri", "attempts", "error", "created_at")
    list_filter = ("client_id",)
    fields = list_display
    readonly_fields = fields
