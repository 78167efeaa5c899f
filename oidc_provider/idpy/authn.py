"""The site's own Django login as idpyoidc's user authentication method."""

from idpyoidc.server.authn_event import create_authn_event
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


def authn_event(user_id, acr, time_stamp, authn_method):
    """The authentication event of a session. Defect 2: ``auth_time`` is the real login time (the stock
    ``create_session`` passes ``time_stamp=``, which is ignored). Defect 3: the event stays valid for the
    configured authn lifetime counted from now, so userinfo does not break an hour after a long-ago login."""
    return create_authn_event(
        user_id,
        authn_info=acr,
        authn_time=time_stamp,
        valid_until=utc_time_sans_frac() + authn_method.kwargs.get("expires_in", 3600),
    )
