"""What the consent page says: who asks (the client's name, logo, policy and terms), where the answer
goes (the redirect's host), each scope in plain words with the claims it releases, and the claims the
``claims`` parameter asks for.

Everything here comes from the client or the request, so it reaches the page only through the
template's autoescaping. The client's logo, policy and terms are shown only from https URIs that pass
the registration rules (``metadata.url_problem``), and only the user's browser loads them: the OP never
fetches them.
"""

from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _

from oidc_provider.conf import DEFAULTS, oidc_settings
from oidc_provider.consent import requested_claims, scope_description
from oidc_provider.metadata import url_problem
from oidc_provider.views.pages import destination

# The standard claims (OIDC Core §5.1) and those about the sign-in (§2), in the words a person uses.
CLAIM_NAMES = {
    "sub": _("an identifier for your account"),
    "name": _("full name"),
    "given_name": _("given name"),
    "family_name": _("family name"),
    "middle_name": _("middle name"),
    "nickname": _("nickname"),
    "preferred_username": _("username"),
    "profile": _("profile page"),
    "picture": _("picture"),
    "website": _("website"),
    "email": _("email address"),
    "email_verified": _("whether your email address is verified"),
    "gender": _("gender"),
    "birthdate": _("date of birth"),
    "zoneinfo": _("time zone"),
    "locale": _("language and region"),
    "phone_number": _("phone number"),
    "phone_number_verified": _("whether your phone number is verified"),
    "address": _("postal address"),
    "updated_at": _("when your profile was last updated"),
    "auth_time": _("when you signed in"),
    "acr": _("how you signed in"),
    "amr": _("how you signed in"),
}


def in_words(claims) -> list[str]:
    """``claims`` as a person reads them, each once; a claim without a name here by its own."""
    words = []
    for claim in claims:
        word = str(CLAIM_NAMES.get(claim, claim))
        if word not in words:
            words.append(word)
    return words


def https_uri(uri) -> str:
    """``uri`` if the page may show it (an https URL registration would accept), else ``""``."""
    return uri if url_problem(uri) is None and urlsplit(uri).scheme == "https" else ""


def scope_rows(client, scopes) -> list[dict]:
    """One row per scope: its description (``SCOPE_DESCRIPTIONS``, else its name) and what it releases."""
    descriptions = {**DEFAULTS["SCOPE_DESCRIPTIONS"], **oidc_settings.SCOPE_DESCRIPTIONS}
    rows = []
    for scope in scopes:
        description = descriptions.get(scope)
        rows.append(
            {
                "scope": scope,
                "description": scope_description(description, str(client)) if description else scope,
                "claims": in_words(oidc_settings.SCOPES_TO_CLAIMS.get(scope, [])),
            }
        )
    return rows


def consent_context(client, request, scopes) -> dict:
    """The consent page's context for ``client``'s authorization ``request`` asking for ``scopes``.
    Call it in the page's language: the descriptions are translated here."""
    metadata = client.metadata if isinstance(client.metadata, dict) else {}
    return {
        "client": client,
        "vetted": client.is_vetted,
        "logo_uri": https_uri(metadata.get("logo_uri")),
        "policy_uri": https_uri(metadata.get("policy_uri")),
        "tos_uri": https_uri(metadata.get("tos_uri")),
        "destination": destination(request["redirect_uri"]),
        "scopes": scope_rows(client, scopes),
        "requested_claims": in_words(requested_claims(request)),
    }
