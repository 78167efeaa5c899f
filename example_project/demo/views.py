import datetime as dt
import json
import logging

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from . import rp

logger = logging.getLogger(__name__)

# The demo RP's flows in progress ride in a cookie of their own, not in the Django session it shares
# with the OP (rp.py): switching account or signing out at the OP ends that session.
FLOWS_COOKIE = "demo_rp_flows"


def _as_dict(value):
    if value is None:
        return {}
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return dict(value)


# Claims that are times in seconds since the epoch (OIDC Core §2 and §5.1): shown also as UTC dates.
EPOCH_CLAIMS = {"iat", "exp", "auth_time", "updated_at"}


def _utc(name, value):
    """The UTC date of an epoch claim, or None (another claim, not a number, or out of range)."""
    if name not in EPOCH_CLAIMS or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _rows(claims):
    """(name, display value, UTC date or None) triples; structured values (address, lists) as JSON."""
    return [
        (name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False), _utc(name, value))
        for name, value in claims.items()
    ]


def home(request):
    return render(
        request,
        "demo/home.html",
        {"issuer": rp.issuer(), "client_id": rp.DEMO_CLIENT_ID, "scope": rp.DEMO_SCOPE},
    )


def _flows(request) -> dict:
    """The demo RP's flows in progress, from its own cookie (``rp.seal``)."""
    return rp.unseal(request.COOKIES.get(FLOWS_COOKIE))


def _keeping(store, response, request):
    """``response`` carrying the flows of ``store`` back to the browser."""
    response.set_cookie(
        FLOWS_COOKIE,
        rp.seal(store),
        max_age=rp.FLOW_LIFETIME,
        path="/rp/",
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return response


def _error(request, error, description="", status=400):
    return render(
        request,
        "demo/rp_error.html",
        {"error": error, "error_description": description, "issuer": rp.issuer()},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def rp_login(request):
    """Start the authorization code flow (PKCE) against the OP."""
    # No prompt by default: consent is remembered (offline_access included), so a second sign-in
    # goes straight through. ?prompt=login asks for the password again, ?prompt=consent shows the page.
    prompt = request.POST.get("prompt") or request.GET.get("prompt")
    extra = {"prompt": prompt} if prompt in ("login", "consent", "none") else {}
    store = _flows(request)
    try:
        url = rp.begin(store, extra)
    except Exception as exc:  # discovery failed, OP unreachable, misconfiguration...
        logger.exception("Demo RP could not start the flow")
        return _error(
            request,
            "could_not_start",
            f"The demo relying party could not contact the OP at {rp.issuer()}: {exc}",
            status=502,
        )
    return _keeping(store, redirect(url), request)


@require_GET
def rp_callback(request):
    """The redirect_uri: code -> token -> ID token verification -> userinfo."""
    params = request.GET.dict()
    store = _flows(request)
    return _keeping(store, _callback(request, params, store), request)


def _callback(request, params, store):
    if "error" in params:
        # The OP refused (e.g. access_denied when the user declined consent).
        # Forget the flow; there is nothing to exchange.
        store.get(rp.SESSION_KEY, {}).pop(params.get("state", ""), None)
        return _error(request, params["error"], params.get("error_description", ""))

    if "code" not in params or "state" not in params:
        return _error(request, "invalid_request", "The callback needs the code and state parameters.")

    try:
        result = rp.finalize(store, params)
    except rp.UnknownState:
        return _error(
            request,
            "unknown_state",
            "This authorization response doesn't match a sign-in started from this browser "
            f"(it was already used, or it is older than {rp.FLOW_LIFETIME // 60} minutes). Start again.",
        )
    except Exception as exc:
        logger.exception("Demo RP could not complete the flow")
        return _error(request, "rp_error", f"{type(exc).__name__}: {exc}", status=502)

    if result.get("error"):
        return _error(request, result["error"], result.get("error_description", ""))

    id_token = _as_dict(result.get("id_token"))
    userinfo = _as_dict(result.get("userinfo"))
    return render(
        request,
        "demo/rp_result.html",
        {
            "issuer": result.get("issuer") or rp.issuer(),
            "id_token": _rows(id_token),
            "userinfo": _rows(userinfo),
            "id_token_json": json.dumps(id_token, indent=2, sort_keys=True, default=str),
            "userinfo_json": json.dumps(userinfo, indent=2, sort_keys=True, default=str),
            "access_token": result.get("token"),
            # RP-initiated logout with this sign-in's ID token: the OP signs out without asking
            "logout_url": rp.logout_url(result.get("id_token_jwt")),
        },
    )
