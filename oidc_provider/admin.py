"""The Django admin: clients (secret shown once, a new one by a button), sessions and grants by user and
client (revoke), consents (withdraw), keys (rotate), initial access tokens (token shown once)."""

import datetime as dt
import json

from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth import get_permission_codename, get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_noop, ngettext
from django.utils.translation import gettext_lazy as _

from oidc_provider.conf import oidc_settings
from oidc_provider.crypto import generate_client_secret
from oidc_provider.forms import ClientForm, InitialAccessTokenForm
from oidc_provider.idpy.client_db import client_to_idpy
from oidc_provider.logout import revoke_subtrees
from oidc_provider.models import BackchannelLogoutFailure, Client, Consent, InitialAccessToken, SessionNode, SigningKey
from oidc_provider.protocol import PATHS
from oidc_provider.storage import token_rows
from oidc_provider.storage.keys import public_jwk, rotate_keys


class ReadOnlyAdmin(admin.ModelAdmin):
    """Listed and viewable, never added or edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def shown_once(request, template, context):
    """A page that shows a new credential once: on this response only, never in a message (Django keeps
    those in a cookie or the session), a log or a row, where only its hash is kept; never cached."""
    response = TemplateResponse(request, template, context)
    add_never_cache_headers(response)
    return response


def discovery_url():
    return f"{oidc_settings.ISSUER}/{PATHS['provider_config']}" if oidc_settings.ISSUER else None


def live_nodes():
    return Q(revoked=False) & (Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    form = ClientForm
    list_display = (
        "__str__",
        "client_id",
        "token_endpoint_auth_method",
        "registered_via",
        "skip_consent",
        "is_active",
        "created_at",
    )
    search_fields = ("client_id", "client_name")
    list_filter = (
        "is_active",
        "registered_via",
        "vetted",
        "skip_consent",
        "token_endpoint_auth_method",
        "require_pkce",
    )
    readonly_fields = (
        "client_secret",
        "discovery",
        "rp_configuration",
        "activity",
        "registered_via",
        "secret_expires",
        "registered_metadata",
        "created_at",
        "updated_at",
    )
    main = (
        "client_name",
        "client_id",
        "is_active",
        "token_endpoint_auth_method",
        "client_secret",
        "redirect_uris",
        "scope",
        "skip_consent",
        "vetted",
    )
    advanced = (
        (
            _("Grants and tokens"),
            (
                "grant_types",
                "response_types",
                "require_pkce",
                "require_pushed_authorization_requests",
                "dpop_bound_access_tokens",
                "access_token_format",
                "token_exchange",
            ),
        ),
        (
            _("Sign-out"),
            (
                "post_logout_redirect_uris",
                "backchannel_logout_uri",
                "backchannel_logout_session_required",
                "frontchannel_logout_uri",
                "frontchannel_logout_session_required",
            ),
        ),
        (_("Subject identifiers"), ("subject_type", "sector_identifier_uri")),
        (_("Request objects"), ("request_uris", "request_object_signing_alg")),
        (
            _("Keys and signing algorithms"),
            ("jwks_uri", "jwks", "id_token_signed_response_alg", "userinfo_signed_response_alg"),
        ),
        (
            _("Encrypted responses"),
            (
                "id_token_encrypted_response_alg",
                "id_token_encrypted_response_enc",
                "userinfo_encrypted_response_alg",
                "userinfo_encrypted_response_enc",
            ),
        ),
    )
    origin = ("registered_via", "secret_expires", "registered_metadata", "created_at", "updated_at")

    def get_fieldsets(self, request, obj=None):
        """The everyday fields open; how to connect the application, once it exists; the rest collapsed."""
        fieldsets = [(None, {"fields": self.main})]
        if obj:
            fieldsets.append((_("Connect the application"), {"fields": ("discovery", "rp_configuration", "activity")}))
        fieldsets += [(name, {"fields": fields, "classes": ("collapse",)}) for name, fields in self.advanced]
        if obj:
            fieldsets.append((_("Origin"), {"fields": self.origin, "classes": ("collapse",)}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return ("client_id", *fields) if obj else fields  # session rows and RPs refer to it

    def get_urls(self):
        new_secret = path(
            "<path:object_id>/new-secret/",
            self.admin_site.admin_view(self.new_secret_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_new_secret",
        )
        return [new_secret, *super().get_urls()]

    @admin.display(description=_("client secret"))
    def client_secret(self, obj):
        if obj.is_public:
            return gettext("None: a public client has no secret.")
        if not obj.has_secret:
            return gettext("None: the client signs with the private key of its public keys or keys URL.")
        if obj.keeps_secret and obj.client_secret_encrypted:
            return gettext(
                "Stored as a hash and encrypted (client_secret_jwt checks signatures with it), never shown "
                "again. “New secret” (top of this page) replaces it: the current secret stops working at once."
            )
        if obj.client_secret_hash:
            return gettext(
                "Stored as a hash, never shown again. “New secret” (top of this page) replaces it: "
                "the current secret stops working at once."
            )
        return gettext("Generated when the client is saved, and shown once.")

    @admin.display(description=_("discovery URL"))
    def discovery(self, obj):
        url = discovery_url()
        return format_html('<a id="discovery-url" href="{0}">{0}</a>', url) if url else "—"

    @admin.display(description=_("RP configuration"))
    def rp_configuration(self, obj):
        """What the application's developer needs, as plain text to copy; never the secret. The scopes,
        algorithm and PKCE are the ones the OP applies to this client (``client_to_idpy``)."""
        applied = client_to_idpy(obj)
        configuration = {
            "issuer": oidc_settings.ISSUER,
            "discovery_url": discovery_url(),
            "client_id": obj.client_id,
            "redirect_uris": obj.redirect_uris,
            "token_endpoint_auth_method": obj.token_endpoint_auth_method,
            "scope": " ".join(applied["allowed_scopes"]),
            "id_token_signed_response_alg": applied["id_token_signed_response_alg"],
        }
        if applied["pkce_essential"]:
            configuration["code_challenge_method"] = "S256"
        note = (
            gettext("The client secret is not here: it was shown once, when it was made.")
            if obj.has_secret
            else gettext("This client has no secret.")
        )
        return format_html('<pre id="rp-configuration">{}</pre><p>{}</p>', json.dumps(configuration, indent=2), note)

    @admin.display(description=_("users"))
    def activity(self, obj):
        """How many users the client serves, linked to the lists of its grants and consents."""
        grants = SessionNode.objects.filter(live_nodes(), kind=SessionNode.GRANT, client_id=obj.client_id).count()
        consents = Consent.objects.filter(client=obj, expires_at__gt=timezone.now()).count()
        sessions = reverse(f"{self.admin_site.name}:oidc_provider_sessionnode_changelist")
        consent_list = reverse(f"{self.admin_site.name}:oidc_provider_consent_changelist")
        return format_html(
            '<a id="client-sessions" href="{}?{}">{}</a> · <a id="client-consents" href="{}?{}">{}</a>',
            sessions,
            urlencode({"client": obj.client_id}),
            ngettext("%(count)d active grant", "%(count)d active grants", grants) % {"count": grants},
            consent_list,
            urlencode({"client__id__exact": obj.pk}),
            ngettext("%(count)d consent", "%(count)d consents", consents) % {"count": consents},
        )

    @admin.display(description=_("secret expires"))
    def secret_expires(self, obj):
        if not obj.client_secret_expires_at:
            return gettext("never")
        return dt.datetime.fromtimestamp(obj.client_secret_expires_at, tz=dt.UTC)

    @admin.display(description=_("other registered metadata"))
    def registered_metadata(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.metadata, indent=2, sort_keys=True)) if obj.metadata else "—"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        results = getattr(request, "_oidc_sector_results", None)
        return type(form.__name__, (form,), {"sector_results": results}) if results is not None else form

    @csrf_protect_m  # before anything is fetched
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Django's change form runs in a transaction, and ``outbound`` sends nothing inside one: a
        posted sector identifier URI's document is fetched first, by cleaning the form here."""
        if request.method == "POST" and request.POST.get("sector_identifier_uri"):
            request._oidc_sector_results = {}
            obj = self.get_object(request, unquote(object_id)) if object_id else None
            allowed = self.has_change_permission(request, obj) if object_id else self.has_add_permission(request)
            if allowed and (obj is not None or object_id is None):
                self.get_form(request, obj, change=obj is not None)(
                    request.POST, request.FILES, instance=obj
                ).is_valid()
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if obj.is_public:
            obj.require_pkce = True
        if not obj.has_secret:
            obj.set_secret(None)
        elif not obj.client_secret_hash or (obj.keeps_secret and not obj.client_secret_encrypted):
            # a new confidential client, a public one made confidential, or one switched to
            # client_secret_jwt: its old secret was kept only as a hash, which cannot key an HMAC
            obj.generated_secret = generate_client_secret()  # for the response below, on this instance only
            obj.set_secret(obj.generated_secret)
        super().save_model(request, obj, form, change)

    def secret_page(self, request, client, secret):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "client": client,
            "secret": secret,
            "title": gettext("Client secret of %(client)s") % {"client": client},
        }
        return shown_once(request, "admin/oidc_provider/client/secret.html", context)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(obj, "generated_secret", None):
            return self.secret_page(request, obj, obj.generated_secret)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(obj, "generated_secret", None):
            return self.secret_page(request, obj, obj.generated_secret)
        return super().response_change(request, obj)

    def new_secret_view(self, request, object_id):
        """The client page's "New secret" button: replaces the secret and shows the new one once."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        client = self.get_object(request, unquote(object_id))
        if not self.has_change_permission(request, client):
            raise PermissionDenied
        if client is None:
            raise Http404
        change_url = reverse(f"{self.admin_site.name}:oidc_provider_client_change", args=[quote(client.pk)])
        if not client.has_secret:
            self.message_user(request, gettext("%(client)s has no secret.") % {"client": client}, messages.ERROR)
            return HttpResponseRedirect(change_url)
        secret = generate_client_secret()
        client.set_secret(secret)
        client.save(update_fields=["client_secret_hash", "client_secret_encrypted", "updated_at"])
        self.log_change(request, client, [{"changed": {"fields": [gettext_noop("client secret")]}}])
        return self.secret_page(request, client, secret)


def _when(timestamp):
    if not timestamp:
        return "—"
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def users_by_id(user_ids):
    """The users whose primary keys (as the session tree writes them) are ``user_ids``, by that text."""
    pk = get_user_model()._meta.pk
    keys = []
    for user_id in set(user_ids):
        try:
            keys.append(pk.to_python(user_id))
        except ValidationError:  # not a key of this user model: the user is shown by its id
            pass
    return {str(user.pk): user for user in get_user_model()._default_manager.filter(pk__in=keys)}


def attach_people(nodes):
    """Give each node its user and client (or None), in two queries for a whole page of nodes."""
    users = users_by_id(node.user_id for node in nodes)
    clients = {c.client_id: c for c in Client.objects.filter(client_id__in={node.client_id for node in nodes})}
    for node in nodes:
        node.shown_user = users.get(node.user_id)
        node.shown_client = clients.get(node.client_id)


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("expired", _("Expired")), ("revoked", _("Revoked"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(live_nodes())
        if self.value() == "expired":
            return queryset.filter(revoked=False, expires_at__lte=timezone.now())
        if self.value() == "revoked":
            return queryset.filter(revoked=True)
        return queryset


class ClientFilter(admin.SimpleListFilter):
    title = _("client")
    parameter_name = "client"

    def lookups(self, request, model_admin):
        ids = SessionNode.objects.exclude(client_id="").values("client_id").distinct()
        return [(c.client_id, str(c)) for c in Client.objects.filter(client_id__in=ids)]

    def queryset(self, request, queryset):
        return queryset.filter(client_id=self.value()) if self.value() else queryset


class UserFilter(admin.SimpleListFilter):
    title = _("user")
    parameter_name = "user"

    most = 100

    def lookups(self, request, model_admin):
        ids = list(SessionNode.objects.filter(kind=SessionNode.USER).values_list("user_id", flat=True)[: self.most + 1])
        if len(ids) > self.most:  # too many to list: the search box finds a username; a chosen one still filters
            ids = [self.value()] if self.value() else []
        users = users_by_id(ids)
        return sorted(((key, user.get_username()) for key, user in users.items()), key=lambda choice: choice[1])

    def queryset(self, request, queryset):
        return queryset.filter(user_id=self.value()) if self.value() else queryset


@admin.register(SessionNode)
class SessionNodeAdmin(ReadOnlyAdmin):
    """idpyoidc's session tree, named for people: every session of a user, their sessions at one client,
    and each grant (what one authorization gave the client, with its tokens)."""

    list_display = ("name", "user", "client", "state", "expires_at", "created_at")
    list_display_links = ("name",)
    list_filter = ("kind", StateFilter, ClientFilter, UserFilter)
    search_fields = ("user_id", "client_id")
    # never `data`: it holds the token values
    fieldsets = (
        (None, {"fields": ("name", "user", "client", "state", "expires_at", "created_at", "updated_at")}),
        (_("Tokens"), {"fields": ("summary",)}),
        (_("In the session tree"), {"fields": ("kind", "key"), "classes": ("collapse",)}),
    )
    readonly_fields = (
        "name",
        "user",
        "client",
        "state",
        "expires_at",
        "created_at",
        "updated_at",
        "summary",
        "kind",
        "key",
    )
    actions = ["revoke"]

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        """Revoking needs the model's change permission, which this admin otherwise never uses."""
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename('change', self.opts)}")

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        attach_people(changelist.result_list)
        return changelist

    def get_object(self, request, object_id, from_field=None):
        node = super().get_object(request, object_id, from_field)
        if node is not None:
            attach_people([node])
        return node

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The page's subtitle (and breadcrumb) names the row for people, as the list does."""
        node = self.get_object(request, unquote(object_id))
        named = {"subtitle": self.name(node)} if node else {}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **named})

    def get_search_results(self, request, queryset, search_term):
        """Also by username: the rows hold the user's primary key only."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term:
            users = get_user_model()._default_manager.filter(
                **{f"{get_user_model().USERNAME_FIELD}__icontains": search_term}
            )
            found |= queryset.filter(user_id__in=[str(pk) for pk in users.values_list("pk", flat=True)[:100]])
        return found, may_have_duplicates

    @admin.action(
        description=_("Revoke, with everything under it and every token; sign the user out"), permissions=["revoke"]
    )
    def revoke(self, request, queryset):
        count = revoke_subtrees(queryset)
        self.message_user(
            request,
            ngettext(
                "Revoked %(count)d session or grant and its tokens.",
                "Revoked %(count)d sessions and grants and their tokens.",
                count,
            )
            % {"count": count}
            + " "
            + gettext(
                "The sign-in sessions they belong to ended: their clients were told, and the user signs in again."
            ),
            messages.SUCCESS,
        )

    def user_name(self, node):
        return node.shown_user.get_username() if node.shown_user else gettext("user %(id)s") % {"id": node.user_id}

    def client_name(self, node):
        return str(node.shown_client) if node.shown_client else node.client_id

    @admin.display(description=_("session or grant"))
    def name(self, node):
        names = {"user": self.user_name(node), "client": self.client_name(node)}
        if node.kind == SessionNode.USER:
            return gettext("All sessions of %(user)s") % names
        if node.kind == SessionNode.CLIENT:
            return gettext("Sessions of %(user)s at %(client)s") % names
        scope = " ".join(node.data.get("scope", [])) or "—"
        return gettext("Grant to %(client)s: %(scope)s") % {**names, "scope": scope}

    def admin_link(self, obj, text):
        """``text`` linked to ``obj``'s admin page when its model is registered here."""
        if not self.admin_site.is_registered(type(obj)):
            return text
        url = reverse(
            f"{self.admin_site.name}:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[quote(obj.pk)]
        )
        return format_html('<a href="{}">{}</a>', url, text)

    @admin.display(description=_("user"))
    def user(self, node):
        return self.admin_link(node.shown_user, self.user_name(node)) if node.shown_user else self.user_name(node)

    @admin.display(description=_("client"))
    def client(self, node):
        if not node.client_id:
            return None  # the admin's empty value
        return self.admin_link(node.shown_client, self.client_name(node)) if node.shown_client else node.client_id

    @admin.display(description=_("state"))
    def state(self, node):
        if node.revoked:
            return gettext("Revoked")
        if node.expires_at and node.expires_at <= timezone.now():
            return gettext("Expired")
        return gettext("Active")

    @admin.display(description=_("tokens"))
    def summary(self, node):
        if node.kind != SessionNode.GRANT:
            children = SessionNode.objects.filter(parent_key=node.key).count()
            return gettext("In the sessions and grants under this one (%(count)d directly under it).") % {
                "count": children
            }
        tokens = [token for item in node.data.get("issued_token", []) for token in item.values()]
        tokens += token_rows.summaries(node.key)  # those minted after the grant: rows of their own
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    t.get("token_class", "?"),
                    _when(t.get("issued_at")),
                    _when(t.get("expires_at")),
                    t.get("used", 0),
                    gettext("Revoked") if t.get("revoked") else gettext("Active"),
                )
                for t in tokens
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            gettext("token"),
            gettext("issued"),
            gettext("expires"),
            gettext("times used"),
            gettext("state"),
            rows or format_html("<tr><td colspan='5'>{}</td></tr>", gettext("no tokens")),
        )


def _user_search_field():
    return f"user__{get_user_model().USERNAME_FIELD}"


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    """Deleting a consent withdraws it: the user is asked again next time."""

    list_display = ("user", "client", "scope", "created_at", "expires_at")
    list_select_related = ("user", "client")
    list_filter = ("client",)
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

    @admin.action(description=_("Rotate the keys of the selected keys' algorithms"), permissions=["rotate"])
    def rotate(self, request, queryset):
        algs = sorted(set(queryset.values_list("alg", flat=True)))
        for line in rotate_keys(algs):
            self.message_user(request, line, messages.INFO)
        self.message_user(
            request,
            gettext("Rotation done; every worker uses the new keys within KEYS_REFRESH_INTERVAL seconds."),
            messages.SUCCESS,
        )

    @admin.display(description=_("public JWK"))
    def public_key(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(public_jwk(obj.public_jwk), indent=2, sort_keys=True))


@admin.register(InitialAccessToken)
class InitialAccessTokenAdmin(admin.ModelAdmin):
    """Made here (or with ``manage.py createinitialaccesstoken``), the token shown once; never edited;
    deleting one revokes it."""

    form = InitialAccessTokenForm
    list_display = ("__str__", "state", "uses_left", "expires_at", "created_at")
    readonly_fields = ("state", "created_at")

    def has_change_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):  # never the hash
        return ("description", "uses_left", "expires_at", *(("state", "created_at") if obj else ()))

    @admin.display(description=_("state"))
    def state(self, obj):
        if obj.expires_at and obj.expires_at <= timezone.now():
            return gettext("Expired")
        return gettext("Usable") if obj.uses_left else gettext("Used up")

    def save_model(self, request, obj, form, change):
        obj.issued_token = obj.new_token()  # for the response below, on this instance only
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "row": obj,
            "token": obj.issued_token,
            "policy": oidc_settings.REGISTRATION_POLICY,
            "title": gettext("New initial access token"),
        }
        return shown_once(request, "admin/oidc_provider/initialaccesstoken/token.html", context)


@admin.register(BackchannelLogoutFailure)
class BackchannelLogoutFailureAdmin(ReadOnlyAdmin):
    """Logout tokens that never reached their client: the RP may still hold a session there."""

    list_display = ("client_id", "uri", "attempts", "error", "created_at")
    list_filter = ("client_id",)
    fields = list_display
    readonly_fields = fields
