"""WebFinger (RFC 7033) for issuer discovery (OIDC Discovery 1.0 §2): which OP an identifier of one
of this site's users (``acct:alice@example.com``, ``https://example.com/alice``) belongs to.

Mounted at the site's root (``/.well-known/webfinger``, RFC 7033 §4), not under the issuer's path:
see ``oidc_provider.site_urls`` and docs/webfinger.md. Only the users ``WEBFINGER_USERS`` names
(``"all"``: every active user) are discoverable; every other user, existing or not, gets the same
404, from the same database query.
"""

import json
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpResponse
from django.http.request import split_domain_port
from django.views import View

from oidc_provider import throttling
from oidc_provider.conf import oidc_settings

ISSUER_REL = "http://openid.net/specs/connect/1.0/issuer"
CONTENT_TYPE = "application/jrd+json"
# Longer resources are refused as malformed: no identifier of a user comes near it.
MAX_RESOURCE_LENGTH = 1024
HEADERS = {
    "Access-Control-Allow-Origin": "*",  # RFC 7033 §5: queried from browsers of any origin
    "Cache-Control": "no-store",  # who is discoverable changes with the setting and the users
}
NOT_FOUND = {"error": "not_found", "error_description": "Unknown resource"}


def _answer(body, status):
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    for key, value in HEADERS.items():
        response[key] = value
    return response


def bad_request(description):
    return _answer({"error": "invalid_request", "error_description": description}, 400)


def not_found():
    return _answer(NOT_FOUND, 404)


class WebFingerView(View):
    http_method_names = ["get", "head", "options"]

    def options(self, request, *args, **kwargs):
        response = super().options(request, *args, **kwargs)
        response["Access-Control-Allow-Origin"] = "*"
        return response

    def get(self, request):
        wait = throttling.spend(("webfinger", throttling.client_address(request), oidc_settings.WEBFINGER_RATE_LIMIT))
        if wait:
            response = _answer(
                {"error": "temporarily_unavailable", "error_description": "Too many requests; retry later"}, 429
            )
            response["Retry-After"] = str(wait)
            return response
        resources = request.GET.getlist("resource")
        if not resources:
            return bad_request("The resource parameter is missing")
        if len(resources) > 1:
            return bad_request("The resource parameter is repeated")
        resource = resources[0]
        problem = malformed(resource)
        if problem:
            return bad_request(problem)
        found = find(resource, request)
        if found is None:
            return not_found()
        rels = request.GET.getlist("rel")  # RFC 7033 §4.3: only the relations asked for, if any
        links = [{"rel": ISSUER_REL, "href": oidc_settings.ISSUER}] if not rels or ISSUER_REL in rels else []
        return _answer({"subject": resource, "links": links}, 200)


def malformed(resource):
    """Why ``resource`` is no URI we can read (RFC 7033 §4.2: a 400), or ``""``."""
    if not resource:
        return "The resource parameter is empty"
    if len(resource) > MAX_RESOURCE_LENGTH:
        return "The resource is too long"
    if not resource.isprintable() or any(c.isspace() for c in resource):
        return "The resource is not a URI"
    scheme, sep, rest = resource.partition(":")
    if not sep or not scheme or not scheme[0].isascii() or not scheme[0].isalpha():
        return "The resource is not a URI"
    if not all(c.isascii() and (c.isalnum() or c in "+-.") for c in scheme):
        return "The resource is not a URI"
    if scheme.lower() == "acct":
        local, at, host = rest.rpartition("@")
        if not at or not local or not host:
            return "An acct URI is acct:user@host (RFC 7565)"
    return ""


def our_hosts(request):
    """The hosts (``host[:port]``, lower case) whose identifiers this OP answers for: the issuer's,
    and the host the request was sent to if ALLOWED_HOSTS names it literally (not by ``*`` or a
    ``.domain`` pattern, which would let any Host header claim users)."""
    hosts = {urlsplit(oidc_settings.ISSUER).netloc.lower()}
    requested = request.get_host().lower()  # Django has checked it against ALLOWED_HOSTS
    domain, _port = split_domain_port(requested)
    if domain in {h.lower() for h in settings.ALLOWED_HOSTS}:
        hosts.add(requested)
    return hosts


def find(resource, request):
    """``True`` when ``resource`` names this OP's host or a discoverable user of it; else None."""
    scheme, _, rest = resource.partition(":")
    scheme = scheme.lower()
    if scheme == "acct":
        local, _, host = rest.rpartition("@")
        if host.lower() not in our_hosts(request):
            return None
        return discoverable(unquote(local, errors="strict"), host.lower()) if _decodes(local) else None
    if scheme not in ("http", "https"):
        return None
    try:
        parts = urlsplit(resource)
        netloc = parts.netloc.lower()
    except ValueError:  # an invalid IPv6 literal
        return None
    if parts.query or parts.fragment or "@" in netloc or netloc not in our_hosts(request):
        return None
    if parts.path in ("", "/"):
        return True  # the host itself (OIDC Discovery §2.2.3): nothing about any user
    name = parts.path[1:]
    if "/" in name or not _decodes(name):
        return None
    return discoverable(unquote(name, errors="strict"), netloc)


def _decodes(text):
    try:
        unquote(text, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def discoverable(name, host):
    """Is the user ``name`` (a username, or an email address: ``name`` itself if it has an ``@``,
    else ``name@host``) discoverable? One query whatever the answer, and none when no user is."""
    allowed = oidc_settings.WEBFINGER_USERS
    if not allowed:
        return None
    User = get_user_model()
    email_field = User.get_email_field_name()
    has_email = any(f.name == email_field for f in User._meta.get_fields())
    email = (name if "@" in name else f"{name}@{split_domain_port(host)[0]}").lower()
    match = Q(**{User.USERNAME_FIELD: name})
    if has_email:
        match |= Q(**{f"{email_field}__iexact": email})
    users = [u for u in User._default_manager.filter(match)[:3] if getattr(u, "is_active", True)]
    by_name = [u for u in users if getattr(u, User.USERNAME_FIELD) == name]
    by_email = [u for u in users if has_email and (getattr(u, email_field) or "").lower() == email]
    user = by_name[0] if by_name else by_email[0] if len(by_email) == 1 else None
    if user is None:
        return None
    if allowed == "all":
        return True
    address = (getattr(user, email_field) or "").lower() if has_email else ""
    listed = getattr(user, User.USERNAME_FIELD) in allowed or (address and address in {e.lower() for e in allowed})
    return True if listed else None
