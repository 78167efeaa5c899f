"""When to ask the user for consent, and what a remembered consent covers.
``OIDC_PROVIDER["CONSENT_POLICY"]`` names the class."""

import datetime as dt
import re

from django.utils import timezone

from oidc_provider.conf import oidc_settings
from oidc_provider.models import Consent
from oidc_provider.protocol import CLAIMS_MEMBERS

OFFLINE_ACCESS = "offline_access"
# Claims about the sign-in, not about the person: the ``claims`` parameter may ask for them freely.
SIGN_IN_CLAIMS = {"sub", "auth_time", "acr", "amr"}
# What a scope description (``SCOPE_DESCRIPTIONS``) may hold of %-formatting: the client's name and ``%%``.
DESCRIPTION_FORMAT = re.compile(r"%%|%\(client\)s")


def scope_description(text, client_name) -> str:
    """A ``SCOPE_DESCRIPTIONS`` entry with the client's name put in; as written when it is no format with
    ``%(client)s`` alone (a bare ``%``, another placeholder: ``check`` reports it, E014)."""
    text = str(text)
    return text if "%" in DESCRIPTION_FORMAT.sub("", text) else text % {"client": client_name}


def requested_claims(request) -> list[str]:
    """The claims the request's ``claims`` parameter (OIDC Core §5.5) asks for, in the ID token or
    from userinfo: each name once, in the order asked. idpyoidc releases them whatever the scopes."""
    names = []
    for target in CLAIMS_MEMBERS:
        for name in (request.get("claims") or {}).get(target) or {}:
            if name and name not in names:
                names.append(name)
    return names


def scope_claims(scopes) -> set[str]:
    """The claims ``scopes`` release (``SCOPES_TO_CLAIMS``)."""
    return {claim for scope in scopes for claim in oidc_settings.SCOPES_TO_CLAIMS.get(scope, [])}


class ConsentPolicy:
    """Trusted clients never ask; others ask unless an unexpired consent covers every scope and every
    claim the ``claims`` parameter names (a consent remembers scopes: a claim no consented scope
    releases is asked for each time)."""

    def needs_consent(self, user, client, scopes, prompt, claims=()) -> bool:
        if client.skip_consent:
            return False
        if "consent" in prompt:
            return True
        consent = self.remembered(user, client)
        if consent is None or not consent.covers(scopes):
            return True
        return not set(claims) <= scope_claims(consent.scopes) | SIGN_IN_CLAIMS

    def grants_offline_access(self, user, client) -> bool:
        """OIDC Core §11: may a refresh token for offline access be issued without asking now? For a
        trusted client (the administrator's trust), or with an unexpired consent that covers it."""
        if client.skip_consent:
            return True
        consent = self.remembered(user, client)
        return consent is not None and consent.covers([OFFLINE_ACCESS])

    def remembered(self, user, client):
        return Consent.objects.filter(user=user, client=client).first()

    def remember(self, user, client, scopes) -> None:
        expires_at = timezone.now() + dt.timedelta(seconds=oidc_settings.CONSENT_LIFETIME)
        Consent.objects.update_or_create(
            user=user, client=client, defaults={"scope": " ".join(sorted(set(scopes))), "expires_at": expires_at}
        )
