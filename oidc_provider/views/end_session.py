"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and the pages a person sees on the
way: the confirmation, and the result: signed out (its page loads the clients' front-channel logout
URLs, Front-Channel Logout 1.0, before it continues to the post-logout redirect), or still signed in.
Either result offers the next step: back to the application, or to the site's home page."""

from django.contrib import auth
from django.core import signing
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_exempt
from idpyoidc.message.oidc import verified_claim_name

from oidc_provider.conf import oidc_settings
from oidc_provider.logout import end_op_session, end_session_endpoint, id_token_in_op_session
from oidc_provider.storage.clients import client_row
from oidc_provider.views.pages import destination, error_page, home_url, vetted
from oidc_provider.views.request import has_nul, repeated_parameter
from oidc_provider.views.responses import is_error

CONFIRM_SALT = "oidc_provider.logout.confirm"  # as signed into confirmation pages already served
LOGOUT_ERROR = _("This sign-out request cannot be completed")
EXPIRED = _("This sign-out request has expired. Go back to the application and start again.")
# The descriptions of idpy.end_session's parse_request, as the error page shows them
PARSE_ERRORS = {
    "id_token_hint is not an ID token of this provider": _("id_token_hint is not an ID token of this provider"),
    "Malformed request": _("Malformed request"),
}


def language(ui_locales) -> str:
    """The first of the client's ``ui_locales`` the site can show, else the current language."""
    for tag in ui_locales or []:
        try:
            return translation.get_supported_language_variant(tag)
        except LookupError:
            continue
    return translation.get_language()


def page(request, template, context, lang, status=200):
    """A logout page in ``lang``, never cached, and never named in a ``Referer`` (its URL may hold
    ``id_token_hint``; the front-channel frames and the continue link would send it)."""
    with translation.override(lang):
        response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def logout_error(request, description, lang, error="invalid_request"):
    with translation.override(lang):
        response = error_page(request, description, title=LOGOUT_ERROR, error=error)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def outcome(target, direct):
    """The next step of a result page: the verified ``post_logout_redirect_uri`` (with its host, and
    whether the client is vetted: an unvetted one's host comes with a warning), or the site's home."""
    if target:
        return {"continue_url": target, "host": destination(target), "vetted": direct}
    return {"home_url": home_url()}


def signed_out(request, frontchannel_urls, target, lang, direct, ended=False):
    """Straight to the client when no front-channel URL has to be loaded first. A client that
    registered itself is never continued to unasked (RFC 9700 §4.11.2: anyone could register a
    ``post_logout_redirect_uri`` and send browsers there): the page shows its host and a link."""
    if target and direct and not frontchannel_urls:
        return HttpResponseRedirect(target)
    context = {
        **outcome(target, direct),
        "frontchannel_urls": frontchannel_urls,
        "auto_continue": bool(target and direct and frontchannel_urls),
        "ended": ended,  # this request ended a session (else there was none to end)
    }
    return page(request, "oidc_provider/signed_out.html", context, lang)


def stayed(request, target, lang, direct):
    """The person chose to stay signed in: nothing ended. The application's verified
    ``post_logout_redirect_uri`` is offered as a link back (never followed by itself: RP-Initiated
    Logout 1.0 §3 redirects *after* a logout), with the request's ``state`` so the application can
    match its request; the page does not claim a logout happened."""
    return page(request, "oidc_provider/signed_out.html", {**outcome(target, direct), "stayed": True}, lang)


def log_out(request, target, lang, direct):
    """End the OP session (tokens revoked, back-channel logout sent) and the Django session."""
    frontchannel_urls = end_op_session(request)
    auth.logout(request)
    return signed_out(request, frontchannel_urls, target, lang, direct, ended=True)


@method_decorator([csrf_exempt, xframe_options_deny], name="dispatch")
class EndSessionView(View):
    """The end_session_endpoint, GET or POST (RP-Initiated Logout 1.0 §2)."""

    http_method_names = ["get", "post"]

    def get(self, request):
        return self.end_session(request, request.GET)

    def post(self, request):
        return self.end_session(request, request.POST)

    def end_session(self, request, params):
        lang = language(params.get("ui_locales", "").split())  # the errors' language too
        repeated = repeated_parameter(params)
        if repeated:
            return logout_error(request, format_lazy(_("Repeated parameter: {}"), repeated), lang)
        if has_nul(params):
            return logout_error(request, PARSE_ERRORS["Malformed request"], lang)
        endpoint = end_session_endpoint()
        parsed = endpoint.parse_request(params.dict())
        if is_error(parsed):
            description = parsed["error_description"]
            return logout_error(request, PARSE_ERRORS.get(description, description), lang, error=parsed["error"])
        hint = parsed.get(verified_claim_name("id_token_hint"))
        client_id = parsed.get("client_id")
        if hint is not None:
            if client_id and client_id not in hint["aud"]:
                return logout_error(request, _("client_id is not the audience of id_token_hint."), lang)
            client_id = client_id or hint["aud"][0]
        target = endpoint.post_logout_target(parsed, client_id)  # defects 5, 60
        client = client_row(client_id)
        direct = vetted(client)
        if not request.user.is_authenticated:
            return signed_out(request, [], target, lang, direct)
        if hint is not None and id_token_in_op_session(request, hint):
            return log_out(request, target, lang, direct)
        # §2: without a hint of the current session, the user is asked
        pending = signing.dumps({"target": target, "lang": lang, "direct": direct}, salt=CONFIRM_SALT)
        response = page(request, "oidc_provider/logout_confirm.html", {"client": client, "pending": pending}, lang)
        # its form POSTs to this site: under no-referrer a browser sends "Origin: null", which Django's CSRF
        # check refuses; same-origin still keeps the URL (and its id_token_hint) from every other site
        response["Referrer-Policy"] = "same-origin"
        return response


@method_decorator(xframe_options_deny, name="dispatch")
class LogoutConfirmView(View):
    """The confirmation form's target (CSRF-protected): sign out, or stay signed in."""

    http_method_names = ["post"]

    def post(self, request):
        try:
            pending = signing.loads(
                request.POST.get("pending", ""), salt=CONFIRM_SALT, max_age=oidc_settings.PENDING_REQUEST_LIFETIME
            )
        except signing.BadSignature:
            return logout_error(request, EXPIRED, translation.get_language())
        target, lang = pending["target"], pending["lang"]
        direct = pending.get("direct", False)  # absent from a page served before this release: ask
        if not request.user.is_authenticated:  # signed out meanwhile (another tab): say so, either way
            return signed_out(request, [], target, lang, direct)
        if request.POST.get("decision") != "logout":
            return stayed(request, target, lang, direct)
        return log_out(request, target, lang, direct)
