"""The admin's client form: URI lists one per line, grant and response types as checkboxes."""

from django import forms
from django.core.exceptions import ValidationError

from oidc_provider import metadata, protocol
from oidc_provider.conf import oidc_settings
from oidc_provider.models import Client

GRANT_TYPES = [(g, g) for g in protocol.GRANT_TYPES]
RESPONSE_TYPES = [(r, r) for r in protocol.RESPONSE_TYPES]


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


class ClientForm(forms.ModelForm):
    """A relying party's registration as an administrator edits it; the secret is never a field."""

    redirect_uris = URIListField(
        required=False,
        help_text="One per line: absolute https URIs without a fragment or user:password@ "
        "(http only on 127.0.0.1, [::1] or localhost). At least one for authorization_code.",
    )
    post_logout_redirect_uris = URIListField(required=False, help_text="One per line, same rules.")
    backchannel_logout_uri = forms.URLField(
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text="Where logout tokens are POSTed (Back-Channel Logout 1.0).",
    )
    frontchannel_logout_uri = forms.URLField(
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text="Loaded in an iframe at logout; same origin as a redirect URI.",
    )
    grant_types = forms.MultipleChoiceField(choices=GRANT_TYPES, widget=forms.CheckboxSelectMultiple)
    response_types = forms.MultipleChoiceField(choices=RESPONSE_TYPES, widget=forms.CheckboxSelectMultiple)
    jwks_uri = forms.URLField(
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text="Where the client publishes its public keys (private_key_jwt). Or paste them in jwks.",
    )

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
            "skip_consent",
            "jwks_uri",
            "jwks",
            "id_token_signed_response_alg",
            "userinfo_signed_response_alg",
            "backchannel_logout_uri",
            "backchannel_logout_session_required",
            "frontchannel_logout_uri",
            "frontchannel_logout_session_required",
        ]
        help_texts = {"scope": "Space-separated; must include openid. Empty: every configured scope."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        offered = [(alg, alg) for alg in oidc_settings.SIGNING_ALGS]
        for name, default in (
            ("id_token_signed_response_alg", f"OP default ({oidc_settings.SIGNING_ALG})"),
            ("userinfo_signed_response_alg", "none: plain JSON"),
        ):
            current = self.initial.get(name) or ""
            extra = [(current, current)] if current and (current, current) not in offered else []  # a stale value shows
            self.fields[name].widget = forms.Select(choices=[("", default), *offered, *extra])
        if self.instance.pk is None:  # the model default is [], which would leave every box unticked
            self.initial["grant_types"] = self.initial.get("grant_types") or ["authorization_code"]
            self.initial["response_types"] = self.initial.get("response_types") or ["code"]

    def clean_client_id(self):
        client_id = self.cleaned_data["client_id"].strip()
        if any(c.isspace() for c in client_id):
            raise ValidationError("A client_id cannot contain whitespace.")
        return client_id

    def clean_scope(self):
        scopes = list(dict.fromkeys(self.cleaned_data["scope"].split()))
        problem = metadata.scope_problem(scopes)
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
        uri = cleaned.get("frontchannel_logout_uri")
        if uri and cleaned.get("redirect_uris"):
            problem = metadata.frontchannel_logout_uri_problem(uri, cleaned["redirect_uris"])
            if problem:
                self.add_error("frontchannel_logout_uri", problem)
        is_public = cleaned.get("token_endpoint_auth_method") == "none"
        if is_public:
            cleaned["require_pkce"] = True  # public clients cannot keep a secret: PKCE protects their codes
        if "grant_types" in cleaned and "redirect_uris" in cleaned:
            problem = metadata.grant_types_problem(cleaned["grant_types"], cleaned["redirect_uris"], is_public)
            if problem:
                self.add_error("grant_types", problem)
        return cleaned
