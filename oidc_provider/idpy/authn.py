"""The site's own Django login as idpyoidc's user authentication method."""

from idpyoidc.server.user_authn.user import UserAuthnMethod
from idpyoidc.time_util import utc_time_sans_frac


class LoginRequired(dict):
    """Returned when idpyoidc wants the user to log in: the view redirects to ``LOGIN_URL``."""


class DjangoLogin(UserAuthnMethod):
    """The user was authenticated by Django; the view passes ``authn={"uid", "authn_time"}``."""

    def __call__(self, **kwargs):
        return LoginRequired(kwargs)

    def authenticated_as(self, client_id, cookie=None, authorization=None, max_age=0, **kwargs):
        if not isinstance(authorization, dict) or "uid" not in authorization:
            return None, 0
        authn_time = int(authorization["authn_time"])
        if max_age and utc_time_sans_frac() > authn_time + int(max_age):
            return None, 0
        return {"uid": str(authorization["uid"])}, authn_time
