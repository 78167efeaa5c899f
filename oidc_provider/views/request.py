"""What the views read of a Django request before idpyoidc does: the checks every endpoint makes of
its parameters, and the HTTP details idpyoidc is given; and the view class of the requests clients
send."""

from django.views import View
from django.views.decorators.csrf import csrf_exempt


class ProtocolView(View):
    """A view of requests that clients and other sites' pages send, never with this site's CSRF token
    (their security is the protocol's): exempt as the view function, made once. ``method_decorator``
    on ``dispatch`` re-wraps the method in every request (~4 µs)."""

    @classmethod
    def as_view(cls, **initkwargs):
        return csrf_exempt(super().as_view(**initkwargs))


def http_info(request) -> dict:
    """What idpyoidc reads of the HTTP request: the one header it reads (client authentication's
    ``authorization``) and the method. Not the URL: only its DPoP add-on reads that, and it is not
    configured. Not the other headers: idpyoidc formats what it is given into a log message on every
    request, and building them all from ``META`` cost more than the rest of this (~10 µs)."""
    authorization = request.META.get("HTTP_AUTHORIZATION")
    return {
        "headers": {} if authorization is None else {"authorization": authorization},
        "method": request.method,
        # no cookies: the browser's login session is Django's, and idpyoidc would log them
        "cookie": [],
    }


def repeated_parameter(params, multi_valued=()):
    """RFC 6749 §3.1/§3.2: request parameters MUST NOT be included more than once (except those an
    extension defines as repeatable)."""
    for key, values in params.lists():
        if len(values) > 1 and key not in multi_valued:
            return key
    return None


def has_nul(params) -> bool:
    """A NUL character in any parameter: no database stores it (PostgreSQL raises), so such a request
    is refused before anything reads it."""
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in params.lists())
