"""The pages the OP shows a browser on its way back to a client: the form_post page, the interstitial
before a redirect to a client nobody vetted, and the error page.

Every value reaches the page through a template's autoescaping (never idpyoidc's HTML). The form_post
page and the interstitial also get a Content-Security-Policy that allows only their own constant
style and submit script (by hash) and a form post to the client's origin only, and are kept out of
caches and ``Referer`` headers: they carry the code, ``state`` and the error.

An error page shows a reference that the ``oidc_provider.pages`` log has with the cause, so that the
person can quote it and the site's operator find what went wrong.
"""

import base64
import hashlib
import logging
import re
import secrets
from urllib.parse import urlsplit

from django.http import HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from oidc_provider.conf import oidc_settings
from oidc_provider.redaction import redact

STYLE_TEMPLATE = "oidc_provider/page.css"
SUBMIT_SCRIPT_TEMPLATE = "oidc_provider/form_post.js"
# What a CSP host-source may hold; anything else in a redirect URI's origin is not put in the header.
CSP_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*:(//[a-z0-9.\-\[\]:]+)?")
REFERENCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # base32: no 0/O or 1/I to misread
REFERENCE_LENGTH = 10  # 50 bits: short to read out, and unique in practice
LOGGED_LENGTH = 200  # characters of each request-borne value a log line keeps

logger = logging.getLogger("oidc_provider.pages")


def never_framed(response):
    """OP pages must not be framed by another site (clickjacking of consent; RFC 9700 §4.16)."""
    response["X-Frame-Options"] = "DENY"
    response["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


def home_url() -> str:
    """The site's home page (``HOME_URL``: a URL, a path or a URL pattern's name), the way off an OP page
    that has no application to go back to."""
    return resolve_url(oidc_settings.HOME_URL)


def loggable(value) -> str:
    """``value`` fit for one log line: at most ``LOGGED_LENGTH`` characters, and every character that
    is not printable (CR, LF, other controls, bidi overrides) and the backslash escaped, so that no
    request can start a line of its own or disguise one; in double quotes (``"`` escaped) when it is
    empty or holds a space, ``=`` or ``"``, so that it stays one ``key=value`` field (logfmt) and adds none."""
    text = str(value)
    cut = text[:LOGGED_LENGTH]
    escaped = "".join(
        ch if ch.isprintable() and ch not in '\\"' else ('\\"' if ch == '"' else ch.encode("unicode_escape").decode())
        for ch in cut
    ) + ("…" if len(text) > LOGGED_LENGTH else "")
    return f'"{escaped}"' if not escaped or any(ch in escaped for ch in ' ="') else escaped


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def claimed_client_id(request) -> str:
    """The ``client_id`` the request names (not authenticated: a front-channel request)."""
    return request.GET.get("client_id") or request.POST.get("client_id") or ""


def error_page(request, description, status=400, title=None, error="invalid_request", client_id=None):
    """Errors that cannot be sent to a verified redirect_uri are shown, never redirected: the
    ``description``, the OAuth ``error`` code, and a reference the WARNING it logs carries too, with
    the cause. ``client_id`` defaults to the one the request names."""
    reference = new_reference()
    with translation.override("en"):  # the log is the operator's, in one language
        logger.warning(
            "error page %s: error=%s client_id=%s path=%s description=%s",
            reference,
            loggable(error),
            loggable(claimed_client_id(request) if client_id is None else client_id),
            loggable(request.path),
            loggable(redact(str(description))),  # it may quote a request's value
        )
    context = {
        "title": title or _("This sign-in request cannot be completed"),
        "description": description,
        "error": error,
        "reference": reference,
        "home_url": home_url(),
    }
    return never_framed(render(request, "oidc_provider/error.html", context, status=status))


def vetted(client) -> bool:
    """RFC 9700 §4.11.2: a client that registered itself may be anyone's, so the OP does not send a
    browser on to it unasked; one someone answers for (``Client.is_vetted``) is redirected to directly."""
    return client is not None and client.is_vetted


def origin(uri: str) -> tuple[str, str]:
    """``uri``'s scheme and host (and port) as a browser reads them: ``\\`` is ``/``, and the host
    is in its A-label form (IDNA), lower-cased, so that ``аpple.com`` (a Cyrillic ``а``) shows as
    ``xn--pple-43d.com``. Registration refuses such URIs (``metadata.url_problem``); rows stored
    before it did may hold them."""
    parts = urlsplit(uri.replace("\\", "/"))
    host = parts.netloc.rpartition("@")[2]
    try:
        host = host.encode("idna").decode()
    except UnicodeError:  # not a domain name: shown escaped, never as a look-alike
        host = host.encode("ascii", "backslashreplace").decode()
    return parts.scheme.lower(), host.lower()


def destination(uri: str) -> str:
    """What the person is told they are going to: the host (and port), or the scheme of a
    private-use URI (RFC 8252 §7.1)."""
    scheme, host = origin(uri)
    return host or f"{scheme}:"


def csp_origin(uri: str) -> str:
    """The CSP source of ``uri``'s origin (scheme and host), ``'none'`` if it cannot be written as one."""
    scheme, host = origin(uri)
    source = f"{scheme}://{host}" if host else f"{scheme}:"
    return source if CSP_ORIGIN.fullmatch(source) else "'none'"


def csp_hash(template_name: str) -> str:
    """The CSP hash-source of a constant template's text, as the pages include it."""
    digest = hashlib.sha256(render_to_string(template_name).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def locked_down(response, form_action="'none'", script=False):
    """The headers of a page that carries response parameters (code, state, error). The page is
    rendered with ``strict_csp`` set: a site's ``base.html`` leaves out what the policy would block."""
    policy = ["default-src 'none'", f"style-src {csp_hash(STYLE_TEMPLATE)}"]
    if script:
        policy.append(f"script-src {csp_hash(SUBMIT_SCRIPT_TEMPLATE)}")
    policy += [f"form-action {form_action}", "frame-ancestors 'none'", "base-uri 'none'"]
    response["Content-Security-Policy"] = "; ".join(policy)
    response["X-Frame-Options"] = "DENY"
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    response["Referrer-Policy"] = "no-referrer"
    return response


def form_fields(args) -> list:
    """Response parameters as (name, value) pairs; a list value (``scope``) space-separated."""
    return [(name, " ".join(value) if isinstance(value, list) else str(value)) for name, value in args.items()]


def form_post(request, action, args, auto_submit=True, context=None):
    """OAuth 2.0 Form Post Response Mode: the parameters in a form POSTed to the redirect URI, by
    script, or by the visible button (no script, or a client nobody vetted: ``auto_submit`` False)."""
    context = {
        **(context or {}),
        "action": action,
        "fields": form_fields(args),
        "host": destination(action),
        "auto_submit": auto_submit,
        "strict_csp": True,
    }
    response = render(request, "oidc_provider/form_post.html", context)
    return locked_down(response, form_action=csp_origin(action), script=auto_submit)


def redirect(request, url, direct, context=None):
    """A redirect to ``url``, or, when not ``direct``, a page with one link to it, the host shown."""
    if direct:
        return HttpResponseRedirect(url)
    context = {**(context or {}), "url": url, "host": destination(url), "strict_csp": True}
    response = render(request, "oidc_provider/continue.html", context)
    return locked_down(response)
