"""The pages the OP shows a browser on its way back to a client: the form_post page, the interstitial
before a redirect to a client nobody vetted, and the error page.

Every value reaches the page through a template's autoescaping (never idpyoidc's HTML). The form_post
page and the interstitial also get a Content-Security-Policy that allows only their own constant
style and submit script (by hash) and a form post to the client's origin only, and are kept out of
caches and ``Referer`` headers: they carry the code, ``state`` and the error.
"""

import base64
import hashlib
import re
from urllib.parse import urlsplit

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string

STYLE_TEMPLATE = "oidc_provider/page.css"
SUBMIT_SCRIPT_TEMPLATE = "oidc_provider/form_post.js"
# What a CSP host-source may hold; anything else in a redirect URI's origin is not put in the header.
CSP_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*:(//[a-z0-9.\-\[\]:]+)?")


def never_framed(response):
    """OP pages must not be framed by another site (clickjacking of consent; RFC 9700 §4.16)."""
    response["X-Frame-Options"] = "DENY"
    response["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


def error_page(request, description, status=400, title="This sign-in request cannot be completed"):
    """Errors that cannot be sent to a verified redirect_uri are shown, never redirected."""
    context = {"title": title, "description": description}
    return never_framed(render(request, "oidc_provider/error.html", context, status=status))


def vetted(client) -> bool:
    """RFC 9700 §4.11.2: a client that registered itself may be anyone's, so the OP does not send a
    browser on to it unasked; one an administrator made (admin, ``createclient``) or marked trusted
    (``skip_consent``) is redirected to directly."""
    return client is not None and (client.registered_via != "registration" or client.skip_consent)


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
    """The headers of a page that carries response parameters (code, state, error)."""
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
    }
    response = render(request, "oidc_provider/form_post.html", context)
    return locked_down(response, form_action=csp_origin(action), script=auto_submit)


def redirect(request, url, direct, context=None):
    """A redirect to ``url``, or, when not ``direct``, a page with one link to it, the host shown."""
    if direct:
        return HttpResponseRedirect(url)
    response = render(request, "oidc_provider/continue.html", {**(context or {}), "url": url, "host": destination(url)})
    return locked_down(response)
