"""Claims about the user, from the Django user model.

``OIDC_PROVIDER["CLAIMS_PROVIDER"]`` names the class; a site subclasses ``ClaimsProvider`` and
returns its own profile data from ``get_claims``. idpyoidc releases only what the granted scopes
(OIDC Core §5.4) or the ``claims`` parameter ask for.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from oidc_provider.conf import oidc_settings
from oidc_provider.storage.rows import get_row


def user_by_id(user_id):
    """The user whose primary key idpyoidc holds as ``uid``, or None (for the session tree's
    "client_credentials" branch, any key type)."""
    User = get_user_model()
    try:
        return get_row(User, **{User._meta.pk.name: user_id})
    except (ValueError, TypeError, ValidationError):
        return None


class ClaimsProvider:
    """Every standard claim the site knows about ``user`` (never ``sub``: idpyoidc derives it)."""

    def get_claims(self, user) -> dict:
        claims = {"preferred_username": user.get_username()}
        first = getattr(user, "first_name", "") or ""
        last = getattr(user, "last_name", "") or ""
        name = (user.get_full_name() if hasattr(user, "get_full_name") else f"{first} {last}").strip()
        for claim, value in (("name", name), ("given_name", first), ("family_name", last)):
            if value:
                claims[claim] = value
        email = getattr(user, user.get_email_field_name(), "") if hasattr(user, "get_email_field_name") else ""
        if email:
            claims["email"] = email
            # Django does not verify addresses; a site that does overrides this.
            claims["email_verified"] = False
        return claims


class UserInfo:
    """idpyoidc's user-info source (``context.userinfo``) over the Django user model."""

    def __init__(self, upstream_get=None, **kwargs):
        self.upstream_get = upstream_get

    def __call__(self, user_id, client_id, user_info_claims=None, **kwargs):
        user = user_by_id(user_id)
        if user is None or not user.is_active:
            return {}
        return oidc_settings.CLAIMS_PROVIDER().get_claims(user)

    def search(self, **kwargs):
        return None
