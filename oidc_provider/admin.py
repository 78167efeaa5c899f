"""The Django admin: clients (secret shown once), session tree and consents (revoke / withdraw), keys (read-only)."""

import datetime as dt
import json

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename, get_user_model
from django.utils.html import format_html, format_html_join

from oidc_provider.crypto import generate_client_secret
from oidc_provider.forms import ClientForm
from oidc_provider.models import Client, Consent, SessionNode, SigningKey
from oidc_provider.storage.keys import public_jwk
from oidc_provider.storage.sessions import revoke_nodes


def show_secret_once(request, client, secret):
    """Put ``secret`` in a one-time admin message: it is kept only as a hash."""
    messages.warning(
        request,
        f"Client secret for {client.client_id}: {secret} — copy it now: it is stored only as a hash "
        "and will not be shown again.",
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Listed and viewable, never added or edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    form = ClientForm
    list_display = ("client_id", "client_name", "token_endpoint_auth_method", "skip_consent", "is_active", "created_at")
    search_fields = ("client_id", "client_name")
    list_filter = ("is_active", "skip_consent", "token_endpoint_auth_method", "require_pkce")
    readonly_fields = ("client_secret", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("client_id", "client_name", "is_active")}),
        ("Redirection", {"fields": ("redirect_uris", "post_logout_redirect_uris")}),
        ("Protocol", {"fields": ("grant_types", "response_types", "scope", "access_token_format", "token_exchange")}),
        ("Authentication", {"fields": ("token_endpoint_auth_method", "client_secret", "require_pkce", "skip_consent")}),
        ("History", {"fields": ("created_at", "updated_at")}),
    )
    actions = ["new_secret"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return ("client_id", *fields) if obj else fields  # session rows and RPs refer to it

    @admin.display(description="client secret")
    def client_secret(self, obj):
        if obj.is_public:
            return "none (public client)"
        if obj.client_secret_hash:
            return "•••••••• stored as a hash; use the “Generate a new secret” action to replace it"
        return "generated and shown once when the client is saved"

    def save_model(self, request, obj, form, change):
        secret = None
        if obj.is_public:
            obj.require_pkce = True
            obj.set_secret(None)
        elif not obj.client_secret_hash:  # new confidential client, or a public one made confidential
            secret = generate_client_secret()
            obj.set_secret(secret)
        super().save_model(request, obj, form, change)
        if secret:
            show_secret_once(request, obj, secret)

    @admin.action(description="Generate a new secret (one confidential client)", permissions=["change"])
    def new_secret(self, request, queryset):
        clients = list(queryset[:2])
        if len(clients) != 1:
            self.message_user(request, "Select exactly one client: its new secret is shown only once.", messages.ERROR)
            return
        client = clients[0]
        if client.is_public:
            self.message_user(request, f"{client.client_id} is a public client: it has no secret.", messages.ERROR)
            return
        secret = generate_client_secret()
        client.set_secret(secret)
        client.save(update_fields=["client_secret_hash", "updated_at"])
        self.log_change(request, client, "Generated a new client secret.")
        show_secret_once(request, client, secret)


def _when(timestamp):
    if not timestamp:
        return "—"
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


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

    @admin.action(description="Revoke, with everything under it and every token", permissions=["revoke"])
    def revoke(self, request, queryset):
        count = revoke_nodes(queryset)
        self.message_user(request, f"Revoked {count} session node(s) and their tokens.", messages.SUCCESS)

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
                (t.get("token_class", "?"), _when(t.get("issued_at")), _when(t.get("expires_at")), t.get("used", 0),
                 "yes" if t.get("revoked") else "no")
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
    list_display = ("kid", "alg", "state", "created_at")
    list_filter = ("state", "alg")
    # never `private_jwk_encrypted`
    fields = ("kid", "alg", "use", "state", "public_key", "created_at", "updated_at")
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="public JWK")
    def public_key(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(public_jwk(obj.public_jwk), indent=2, sort_keys=True))
