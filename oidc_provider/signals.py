"""Signal receivers: the login time the OP reports as ``auth_time``, the end of the OP session at
any logout, and first-run keys."""

import secrets

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from idpyoidc.time_util import utc_time_sans_frac

from oidc_provider.logout import end_op_session
from oidc_provider.session_keys import AUTH_TIME_SESSION_KEY, LOGIN_ID_SESSION_KEY
from oidc_provider.storage.keys import ensure_signing_keys


@receiver(user_logged_in, dispatch_uid="oidc_provider.auth_time")
def remember_auth_time(sender, request, user, **kwargs):
    """OIDC Core §2 ``auth_time`` is when *this* login happened, so it is kept per Django session."""
    if request is not None and hasattr(request, "session"):
        request.session[AUTH_TIME_SESSION_KEY] = utc_time_sans_frac()
        request.session[LOGIN_ID_SESSION_KEY] = secrets.token_hex(8)


@receiver(user_logged_out, dispatch_uid="oidc_provider.end_op_session")
def end_op_session_at_logout(sender, request, user, **kwargs):
    """Logging out of the site by any view ends the OP session: its tokens are revoked and its
    clients get back-channel logout tokens (front-channel needs our end_session page)."""
    if request is not None and hasattr(request, "session"):
        end_op_session(request)


@receiver(post_migrate, dispatch_uid="oidc_provider.first_key")
def create_first_signing_key(sender, app_config=None, using="default", **kwargs):
    if app_config is None or app_config.label != "oidc_provider":
        return
    ensure_signing_keys()  # a current and a next key for every SIGNING_ALGS algorithm
