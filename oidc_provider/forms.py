"""The admin's forms: a client (URI lists one per line, scopes, grant and response types as checkboxes,
JSON checked where it is typed) and a new initial access token."""

import json
import secrets

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from oidc_provider import metadata, protocol
from oidc_provider.conf import oidc_settings
from oidc_provider.models import Client, InitialAccessToken
from oidc_provider.response_types import enabled as enabled_response_types
from oidc_provider.response_types import implicit_enabled, response_types_problem

_GRANT_TYPE_LABELS = {
    "authorization_code": _("Authorization code: users sign in (authorization_code)"),
    "refresh_token": _("Refresh token: the client stays signed in (refresh_token)"),
    "client_credentials": _("Client credentials: the client acts for itself (client_credentials)"),
    protocol.TOKEN_EXCHANGE: _("Token exchange (RFC 8693)"),
}
_GRANT_TYPE_LABELS[protocol.IMPLICIT] = _("Implicit: tokens from the authorization endpoint (implicit)")
GRANT_TYPES = [(g, _GRANT_TYPE_LABELS.get(g, g)) for g in metadata.REGISTRABLE_GRANT_TYPES]
_RESPONSE_TYPE_LABELS = {
    "code": _("Authorization code (code)"),
    "code id_token": _("Hybrid: code and ID token (code id_token)"),
    "code token": _("Hybrid: code and access token (code token)"),
    "code id_token token": _("Hybrid: code, ID token and access token (code id_token token)"),
    "id_token": _("Implicit: ID token (id_token)"),
    "id_token token": _("Implicit: ID token and access token (id_token token)"),
}
# every type: those the RESPONSE_TYPES setting does not enable are refused by the form's clean()
RESPONSE_TYPES = [(r, _RESPONSE_TYPE_LABELS.get(r, r)) for r in protocol.ALL_RESPONSE_TYPES]


def checkboxes():
    """Checkboxes laid out as the admin lays out its radio buttons (``radiolist``: labels at their width)."""
    return forms.CheckboxSelectMultiple(attrs={"class": "radiolist"})


def generate_client_id() -> str:
    """A random, URL-safe client_id (192 bits), proposed on the add form."""
    return secrets.token_urlsafe(24)


def described(name):
    """The label and help text of the model field ``name``, for a form field declared here."""
    field = Client._meta.get_field(name)
    return {"label": capfirst(field.verbose_name), "help_text": field.help_text}


def check_redirect_uri(uri):
    problem = metadata.redirect_uri_problem(uri)
    if problem:
        raise ValidationError(problem, code="invalid_uri")


class URIListField(forms.Field):
    """A list of redirect URIs, edited as one per line in a textarea."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 80})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, (list, tuple)) else value

    def to_python(self, value):
        if isinstance(value, (list, tuple)):
            return list(value)
        lines = (line.strip() for line in (value or "").splitlines())
        return list(dict.fromkeys(line for line in lines if line))

    def validate(self, value):
        super().validate(value)
        errors = []
        for uri in value:
            try:
                check_redirect_uri(uri)
            except ValidationError as err:
                errors.append(err)
        if errors:
            raise ValidationError(errors)


class RequestURIListField(URIListField):
    """A client's ``request_uris``, one per line: URLs the OP fetches, a fragment allowed."""

    def validate(self, value):
        forms.Field.validate(self, value)
        problem = metadata.request_uris_problem(value)
        if problem:
            raise ValidationError(problem)


class JSONTextField(forms.JSONField):
    """JSON in a textarea: indented, empty when nothing is set (not ``null`` or ``{}``), and where it
    breaks when it does not parse."""

    widget = forms.Textarea(attrs={"rows": 6, "cols": 80})

    def prepare_value(self, value):
        if value is None or value == {}:
            return ""
        if isinstance(value, InvalidJSONInput):  # shown back as typed
            return value
        return json.dumps(value, ensure_ascii=False, cls=self.encoder, indent=2)

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                json.loads(value, cls=self.decoder)
            except json.JSONDecodeError as err:
                raise ValidationError(
                    _("Not valid JSON (line %(line)s, column %(column)s): check the quotes, commas and brackets."),
                    code="invalid",
                    params={"line": err.lineno, "column": err.colno},
                ) from err
        return super().to_python(value)


class ScopeField(forms.MultipleChoiceField):
    """The space-separated ``scope`` of a client, edited as checkboxes; ``clean_scope`` joins it back."""

    widget = checkboxes()

    def prepare_value(self, value):
        return value.split() if isinstance(value, str) else value

    def has_changed(self, initial, data):
        return super().has_changed(self.prepare_value(initial or ""), data)


def scope_choices(stored):
    """The configured scopes with the claims each releases, then the ``stored`` scopes no longer
    configured: kept, ticked, until an administrator unticks them."""
    configured = oidc_settings.SCOPES_TO_CLAIMS
    choices = [
        (scope, _("%(scope)s: %(claims)s") % {"scope": scope, "claims": ", ".join(claims)} if claims else scope)
        for scope, claims in configured.items()
    ]
    kept = [scope for scope in dict.fromkeys(stored) if scope not in configured]
    return choices + [(scope, _("%(scope)s (not configured; kept as stored)") % {"scope": scope}) for scope in kept]


class ClientForm(forms.ModelForm):
    """A relying party's registration as an administrator edits it; the secret is never a field."""

    redirect_uris = URIListField(required=False, **described("redirect_uris"))
    post_logout_redirect_uris = URIListField(required=False, **described("post_logout_redirect_uris"))
    backchannel_logout_uri = forms.URLField(
        required=False, max_length=2000, assume_scheme="https", **described("backchannel_logout_uri")
    )
    frontchannel_logout_uri = forms.URLField(
        required=False, max_length=2000, assume_scheme="https", **described("frontchannel_logout_uri")
    )
    grant_types = forms.MultipleChoiceField(choices=GRANT_TYPES, widget=checkboxes(), **described("grant_types"))
    response_types = forms.MultipleChoiceField(
        choices=RESPONSE_TYPES, widget=checkboxes(), **described("response_types")
    )
    scope = ScopeField(required=False, **described("scope"))
    jwks_uri = forms.URLField(required=False, max_length=2000, assume_scheme="https", **described("jwks_uri"))
    # not required: a form posted without it (older scripts) keeps the default, public
    subject_type = forms.ChoiceField(
        choices=Client._meta.get_field("subject_type").choices, required=False, **described("subject_type")
    )
    sector_identifier_uri = forms.URLField(
        required=False, max_length=2000, assume_scheme="https", **described("sector_identifier_uri")
    )
    request_uris = RequestURIListField(required=False, **described("request_uris"))

    class Meta:
        model = Client
        fields = [
            "client_id",
            "client_name",
            "is_active",
            "redirect_uris",
            "post_logout_redirect_uris",
            "grant_types",
            "response_types",
            "scope",
            "access_token_format",
            "token_exchange",
            "token_endpoint_auth_method",
            "require_pkce",
            "require_pushed_authorization_requests",
            "dpop_bound_access_tokens",
            "skip_consent",
            "vetted",
            "jwks_uri",
            "jwks",
            "id_token_signed_response_alg",
            "userinfo_signed_response_alg",
            "id_token_encrypted_response_alg",
            "id_token_encrypted_response_enc",
            "userinfo_encrypted_response_alg",
            "userinfo_encrypted_response_enc",
            "backchannel_logout_uri",
            "backchannel_logout_session_required",
            "frontchannel_logout_uri",
            "frontchannel_logout_session_required",
            "subject_type",
            "sector_identifier_uri",
            "request_uris",
            "request_object_signing_alg",
        ]
        field_classes = {"jwks": JSONTextField, "token_exchange": JSONTextField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        offered = [(alg, alg) for alg in oidc_settings.SIGNING_ALGS]
        for name, default in (
            ("id_token_signed_response_alg", _("OP default (%(alg)s)") % {"alg": oidc_settings.SIGNING_ALG}),
            ("userinfo_signed_response_alg", _("None: plain JSON")),
        ):
            if name not in self.fields:  # the admin's view-only page leaves the model's fields out
                continue
            current = self.initial.get(name) or ""
            extra = [(current, current)] if current and (current, current) not in offered else []  # a stale value shows
            self.fields[name].widget = forms.Select(choices=[("", default), *offered, *extra])
        self.offer_enabled_response_types()
        for kind in protocol.ENCRYPTED_RESPONSES:
            for part, values, default in (
                ("alg", protocol.ENCRYPTION_ALGS, _("None: not encrypted")),
                ("enc", protocol.ENCRYPTION_ENCS, _("Default (%(enc)s)") % {"enc": protocol.DEFAULT_ENCRYPTION_ENC}),
            ):
                name = f"{kind}_encrypted_response_{part}"
                if name in self.fields:
                    current = self.initial.get(name) or ""
                    choices = [(v, v) for v in dict.fromkeys([*values, *([current] if current else [])])]
                    self.fields[name].widget = forms.Select(choices=[("", default), *choices])
        if "request_object_signing_alg" in self.fields:
            algs = [(alg, alg) for alg in metadata.request_object_signing_algs()]
            current = self.initial.get("request_object_signing_alg") or ""
            extra = [(current, current)] if current and (current, current) not in algs else []
            self.fields["request_object_signing_alg"].widget = forms.Select(
                choices=[("", _("Any the OP accepts")), *algs, *extra]
            )
        self.kept_scopes = [s for s in self.instance.scopes if s not in oidc_settings.SCOPES_TO_CLAIMS]
        self.fields["scope"].choices = scope_choices(self.instance.scopes)
        if self.instance.pk is None:  # the model default is [], which would leave every box unticked
            self.initial["grant_types"] = self.initial.get("grant_types") or ["authorization_code"]
            self.initial["response_types"] = self.initial.get("response_types") or ["code"]
            self.initial.setdefault("client_id", generate_client_id())

    def clean_client_id(self):
        client_id = self.cleaned_data["client_id"].strip()
        if any(c.isspace() for c in client_id):
            raise ValidationError(_("A client ID cannot contain whitespace."))
        return client_id

    def clean_scope(self):
        scopes = list(dict.fromkeys(self.cleaned_data["scope"]))
        if scopes and "openid" not in scopes:
            raise ValidationError(_("Tick openid: every other scope needs it."))
        # the rules of registration and createclient, for all but the scopes kept as they were stored
        problem = metadata.scope_problem([s for s in scopes if s not in self.kept_scopes])
        if problem:
            raise ValidationError(problem)
        return " ".join(scopes)

    def _clean_alg(self, name):
        alg = self.cleaned_data[name]
        problem = metadata.signing_alg_problem(alg)
        if problem:
            raise ValidationError(problem)
        return alg

    def clean_id_token_signed_response_alg(self):
        return self._clean_alg("id_token_signed_response_alg")

    def clean_userinfo_signed_response_alg(self):
        return self._clean_alg("userinfo_signed_response_alg")

    def clean_jwks(self):
        jwks = self.cleaned_data["jwks"]
        problem = metadata.jwks_problem(jwks) if jwks else None
        if problem:
            raise ValidationError(problem)
        return jwks or None

    def clean_jwks_uri(self):
        uri = self.cleaned_data["jwks_uri"]
        problem = metadata.jwks_uri_problem(uri) if uri else None
        if problem:
            raise ValidationError(problem)
        return uri

    def clean_backchannel_logout_uri(self):
        uri = self.cleaned_data["backchannel_logout_uri"]
        problem = metadata.secure_url_problem(uri) if uri else None  # the OP POSTs logout tokens there
        if problem:
            raise ValidationError(problem)
        return uri

    def clean_frontchannel_logout_uri(self):
        uri = self.cleaned_data["frontchannel_logout_uri"]
        if uri:
            check_redirect_uri(uri)  # loaded by the browser, like a redirect URI
        return uri

    # (sector identifier URI, redirect URIs) -> why its document does not fit, or None: filled before
    # the admin's transaction (``admin.ClientAdmin.changeform_view``), as ``outbound`` sends nothing
    # inside one. None: fetched when cleaned.
    sector_results = None

    def clean_subject_type(self):
        return self.cleaned_data["subject_type"] or "public"

    def clean_sector_identifier_uri(self):
        uri = self.cleaned_data["sector_identifier_uri"]
        problem = metadata.secure_url_problem(uri) if uri else None  # the OP fetches it
        if problem:
            raise ValidationError(problem)
        return uri

    def sector_document_problem(self, uri, redirect_uris):
        key = (uri, tuple(redirect_uris))
        if self.sector_results is not None and key in self.sector_results:
            return self.sector_results[key]
        problem = metadata.sector_document_problem(uri, redirect_uris)
        if self.sector_results is not None:
            self.sector_results[key] = problem
        return problem

    def clean_token_exchange(self):
        policy = self.cleaned_data["token_exchange"] or {}
        problem = policy and metadata.token_exchange_problem(policy)
        if problem:
            raise ValidationError(problem)
        return policy

    def clean(self):
        cleaned = super().clean()
        problem = metadata.client_keys_problem(
            cleaned.get("token_endpoint_auth_method"), cleaned.get("jwks"), cleaned.get("jwks_uri")
        )
        if problem:
            raise ValidationError(problem)
        for kind in protocol.ENCRYPTED_RESPONSES:
            alg, enc = f"{kind}_encrypted_response_alg", f"{kind}_encrypted_response_enc"
            if alg in cleaned and enc in cleaned:
                problem = metadata.encryption_problem(
                    kind, cleaned[alg], cleaned[enc], cleaned.get("jwks"), cleaned.get("jwks_uri")
                )
                if problem:
                    self.add_error(alg, problem)
                elif cleaned[alg] and not cleaned[enc]:
                    cleaned[enc] = protocol.DEFAULT_ENCRYPTION_ENC
        uri = cleaned.get("frontchannel_logout_uri")
        if uri and cleaned.get("redirect_uris"):
            problem = metadata.frontchannel_logout_uri_problem(uri, cleaned["redirect_uris"])
            if problem:
                self.add_error("frontchannel_logout_uri", problem)
        uri, redirect_uris = cleaned.get("sector_identifier_uri", ""), cleaned.get("redirect_uris")
        if "subject_type" in cleaned and redirect_uris is not None and "sector_identifier_uri" in cleaned:
            problem = metadata.subject_type_problem(cleaned["subject_type"], uri, redirect_uris)
            unchanged = self.instance.pk and (uri, redirect_uris) == (
                self.instance.sector_identifier_uri,
                self.instance.redirect_uris,
            )
            if not problem and uri and not unchanged:
                problem = self.sector_document_problem(uri, redirect_uris)
            if problem:
                self.add_error("sector_identifier_uri", problem)
        alg = cleaned.get("request_object_signing_alg", "")
        problem = metadata.request_object_alg_problem(alg, cleaned.get("token_endpoint_auth_method"))
        if problem:
            self.add_error("request_object_signing_alg", problem)
        is_public = cleaned.get("token_endpoint_auth_method") == "none"
        if is_public:
            cleaned["require_pkce"] = True  # public clients cannot keep a secret: PKCE protects their codes
        if "grant_types" in cleaned and "redirect_uris" in cleaned:
            problem = metadata.grant_types_problem(cleaned["grant_types"], cleaned["redirect_uris"], is_public)
            if problem:
                self.add_error("grant_types", problem)
        if "grant_types" in cleaned and "response_types" in cleaned:
            problem = response_types_problem(cleaned["response_types"], cleaned["grant_types"])
            if problem:
                self.add_error("response_types", problem)
        return cleaned

    def offer_enabled_response_types(self):
        """Checkboxes for the response types the OP enables (``RESPONSE_TYPES``), and ``implicit`` when
        one needs it; a stale value the client still has shows, and ``clean`` refuses it."""
        grants = [g for g in metadata.REGISTRABLE_GRANT_TYPES if g != protocol.IMPLICIT or implicit_enabled()]
        for name, offered in (("response_types", enabled_response_types()), ("grant_types", grants)):
            if name in self.fields:
                current = [v for v in getattr(self.instance, name) or [] if v not in offered]
                self.fields[name].choices = [c for c in self.fields[name].choices if c[0] in offered or c[0] in current]


class InitialAccessTokenForm(forms.ModelForm):
    """A new initial access token; the token itself is made on save and shown once."""

    class Meta:
        model = InitialAccessToken
        fields = ["description", "uses_left", "expires_at"]

    def clean_uses_left(self):
        uses = self.cleaned_data["uses_left"]
        if uses < 1:
            raise ValidationError(_("A token must allow at least one registration."))
        return uses

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        if expires_at and expires_at <= timezone.now():
            raise ValidationError(_("Give a time in the future, or leave it empty for a token that never expires."))
        return expires_at
