"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and the pages a person sees on the
way: the confirmation, and the signed-out page that loads the clients' front-channel logout URLs
(Front-Channel Logout 1.0) before it continues to the post-logout redirect."""

from django.contrib import auth
from django.core import signing
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_exempt
from idpyoidc.message.oidc import verified_claim_name

from oidc_provider.conf import oidc_settings
from oidc_provider.logout import end_op_session, end_session_endpoint, id_token_in_op_session
from oidc_provider.storage.clients import client_row
from oidc_provider.views.pages import destination, error_page, vetted
from oidc_provider.views.request import has_nul, repeated_parameter
from oidc_provider.views.responses import is_error

CONFIRM_SALT = "oidc_provider.logout.confirm"  # as signed into confirmation pages already served
LOGOUT_ERROR = "This sign-out request cannot be completed"


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


def signed_out(request, frontchannel_urls, target, lang, direct):
    """Straight to the client when no front-channel URL has to be loaded first. A client that
    registered itself is never continued to unasked (RFC 9700 §4.11.2: anyone could register a
    ``post_logout_redirect_uri`` and send browsers there): the page shows its host and a link."""
    if target and direct and not frontchannel_urls:
        return HttpResponseRedirect(target)
    context = {
        "frontchannel_urls": frontchannel_urls,
        "continue_url": target,
        "auto_continue": direct,
        "host": destination(target) if target else "",
    }
    return page(request, "oidc_provider/signed_out.html", context, lang)


def log_out(request, target, lang, direct):
    """End the OP session (tokens revoked, back-channel logout sent) and the Django session."""
    frontchannel_urls = end_op_session(request)
    auth.logout(request)
    return signed_out(request, frontchannel_urls, target, lang, direct)


@method_decorator([csrf_exempt, xframe_options_deny], name="dispatch")
class EndSessionView(View):
    """The end_session_endpoint, GET or POST (RP-Initiated Logout 1.0 §2)."""

    http_method_names = ["get", "post"]

    def get(self, request):
        return self.end_session(request, request.GET)

    def post(self, request):
        return self.end_session(request, request.POST)

    def end_session(self, request, params):
        repeated = repeated_parameter(params)
        if repeated:
            return error_page(request, f"Repeated parameter: {repeated}", title=LOGOUT_ERROR)
        if has_nul(params):
            return error_page(request, "Malformed request", title=LOGOUT_ERROR)
        endpoint = end_session_endpoint()
        parsed = endpoint.parse_request(params.dict())
        if is_error(parsed):
            return error_page(request, parsed["error_description"], title=LOGOUT_ERROR)
        hint = parsed.get(verified_claim_name("id_token_hint"))
        client_id = parsed.get("client_id")
        if hint is not None:
            if client_id and client_id not in hint["aud"]:
                return error_page(request, "client_id is not the audience of id_token_hint.", title=LOGOUT_ERROR)
            client_id = client_id or hint["aud"][0]
        target = endpoint.post_logout_target(parsed, client_id)  # defects 5, 60
        lang = language(parsed.get("ui_locales"))
        client = client_row(client_id)
        direct = vetted(client)
        if not request.user.is_authenticated:
            return signed_out(request, [], target, lang, direct)
        if hint is not None and id_token_in_op_session(request, hint):
            return log_out(request, target, lang, direct)
        # §2: without a hint of the current session, the user is asked
        pending = signing.dumps({"target": target, "lang": lang, "direct": direct}, salt=CONFIRM_SALT)
        return page(request, "oidc_provider/logout_confirm.html", {"client": client, "pending": pending}, lang)


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
            return error_page(
                request,
                "This sign-out request has expired. Go back to the application and start again.",
                title=LOGOUT_ERROR,
            )
        if request.POST.get("decision") != "logout":
            return page(request, "oidc_provider/signed_out.html", {"stayed": True}, pending["lang"])
        direct = pending.get("direct", False)  # absent from a page served before this release: ask
        if not request.user.is_authenticated:
            return signed_out(request, [], pending["target"], pending["lang"], direct)
        return log_out(request, pending["target"], pending["lang"], direct)
