"""The HTTP answers of the protocol endpoints: idpyoidc's results as responses, and the OAuth errors
and challenges the views give themselves."""

from django.http import HttpResponse, JsonResponse
from idpyoidc.message import Message

from oidc_provider.conf import oidc_settings

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def is_error(result) -> bool:
    """Is an idpyoidc result (a message or a dict) an error?"""
    return isinstance(result, (Message, dict)) and "error" in result


def oauth_error(error, description="", status=400, headers=None):
    """A JSON OAuth error (RFC 6749 §5.2) that is never cached."""
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = JsonResponse(body, status=status)
    for key, value in {**NO_STORE, **(headers or {})}.items():
        response[key] = value
    return response


def invalid_client(description="Client authentication failed"):
    return oauth_error(
        "invalid_client", description, status=401, headers={"WWW-Authenticate": f'Basic realm="{oidc_settings.ISSUER}"'}
    )


def too_many_requests(retry_after):
    """RFC 6585 §4 with ``Retry-After``. The body is ``temporarily_unavailable`` (RFC 6749
    §4.1.2.1: the server cannot handle the request now), which generic clients treat as
    retryable; ``slow_down`` belongs to RFC 8628's device-code polling and clients outside it
    do not know it."""
    return oauth_error(
        "temporarily_unavailable",
        "Too many requests; retry later",
        status=429,
        headers={"Retry-After": str(retry_after)},
    )


def body_too_large():
    """RFC 9110 §15.5.14, as a JSON OAuth error: bad input gets a spec-shaped answer, never a 5xx."""
    return oauth_error("invalid_request", "Request body too large", status=413)


def bearer_challenge(description=None, error="invalid_token", status=401):
    """RFC 6750 §3: a 401 for a missing bearer token (bare challenge, no body) or, with a
    ``description``, an ``error`` (``invalid_token`` 401, ``insufficient_scope`` 403)."""
    challenge = f'Bearer realm="{oidc_settings.ISSUER}"'
    if description is None:
        response = HttpResponse(status=401)
        for key, value in NO_STORE.items():
            response[key] = value
    else:
        challenge += f', error="{error}", error_description="{description}"'
        response = oauth_error(error, description, status=status)
    response["WWW-Authenticate"] = challenge
    return response


def create_response(result: dict, status=200, no_store=True) -> HttpResponse:
    """Turn idpyoidc's ``do_response`` output into an ``HttpResponse``."""
    headers = dict(result.get("http_headers") or [])
    content_type = headers.pop("Content-type", None) or headers.pop("Content-Type", "application/json")
    response = HttpResponse(result["response"], status=result.get("response_code", status), content_type=content_type)
    for key, value in headers.items():
        response[key] = value
    if no_store:
        for key, value in NO_STORE.items():
            response[key] = value
    return response
