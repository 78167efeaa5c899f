"""When to ask the user for consent. ``OIDC_PROVIDER["CONSENT_POLICY"]`` names the class."""

import datetime as dt

from django.utils import timezone

from oidc_provider.conf import oidc_settings
from oidc_provider.models import Consent


class ConsentPolicy:
    """Trusted clients never ask; others ask unless an unexpired consent covers every scope."""

    def needs_consent(self, user, client, scopes, prompt) -> bool:
        if client.skip_consent:
            return False
        if "consent" in prompt:
            return True
        consent = Consent.objects.filter(user=user, client=client).first()
        return consent is None or not consent.covers(scopes)

    def remember(self, user, client, scopes) -> None:
        expires_at = timezone.now() + dt.timedelta(seconds=oidc_settings.CONSENT_LIFETIME)
        Consent.objects.update_or_create(
            user=user, client=client, defaults={"scope": " ".join(sorted(set(scopes))), "expires_at": expires_at}
        )
