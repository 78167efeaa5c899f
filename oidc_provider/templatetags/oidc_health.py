"""``{% oidc_health_panel %}``: the health report (``oidc_provider.health``) on the admin index
(templates/admin/index.html), for staff who may view every kind of row it summarises."""

from django import template
from django.contrib.auth import get_permission_codename

from oidc_provider import health
from oidc_provider.conf import oidc_settings
from oidc_provider.models import BackchannelLogoutFailure, Client, SessionNode, SigningKey

register = template.Library()

SUMMARISED = (Client, SigningKey, SessionNode, BackchannelLogoutFailure)


def may_view(user) -> bool:
    """View (or change, which implies it in the admin) permission on each summarised model."""
    if not (user.is_active and user.is_staff):
        return False
    return all(
        any(
            user.has_perm(f"{model._meta.app_label}.{get_permission_codename(a, model._meta)}")
            for a in ("view", "change")
        )
        for model in SUMMARISED
    )


@register.inclusion_tag("admin/oidc_provider/health_panel.html", takes_context=True)
def oidc_health_panel(context):
    user = getattr(context.get("request"), "user", None)
    if user is None or not may_view(user):
        return {"report": None}
    origins = dict(Client._meta.get_field("registered_via").flatchoices)
    return {
        "report": health.report(),
        "origins": origins,
        "failure_window": oidc_settings.HEALTH_BACKCHANNEL_FAILURE_WINDOW,
    }


@register.filter
def oidc_duration(seconds):
    """Seconds in the largest whole unit ("3 days")."""
    return health.duration(seconds)


@register.filter
def oidc_origin(code, origins):
    return origins.get(code, code)
