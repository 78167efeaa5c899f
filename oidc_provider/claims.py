"""Claims about the user, from the Django user model.

``OIDC_PROVIDER["CLAIMS_PROVIDER"]`` names the class; a site subclasses ``ClaimsProvider`` and
returns its own profile data from ``get_claims``. idpyoidc releases only what the granted scopes
(OIDC Core §5.4) or the ``claims`` parameter ask for.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from oidc_provider.conf import oidc_settings
from oidc_provider.storage.rows import get_row, row_read
from oidc_provider.storage.unit_of_work import active


def user_by_id(user_id):
    """The user whose primary key idpyoidc holds as ``uid``, or None (for the session tree's
    "client_credentials" branch, any key type); a unit of work that reads users with their grants
    (``want_users_with_grants``) has it already."""
    unit = active()
    if unit is not None and user_id in unit.users:
        return unit.users[user_id]
    User = get_user_model()
    try:
        return get_row(User, **{User._meta.pk.name: user_id})
    except (ValueError, TypeError, ValidationError):
        return None


def user_read(user_id):
    """``user_by_id``'s read as ``((sql, params), make)`` (``storage.rows.row_read``), or None for a key
    that cannot be the user model's."""
    User = get_user_model()
    try:
        return row_read(User, **{User._meta.pk.name: user_id})
    except (ValueError, TypeError, ValidationError):
        return None


def want_users_with_grants():
    """This unit of work reads each grant's user in the grant's round trip (``idpy.session_tree``): the
    userinfo endpoint, whose claims need the user."""
    unit = active()
    if unit is not None:
        unit.users_with_grants = True


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
