"""The authorization endpoint and the pages a person sees on its way: login hand-off, consent and
switching account.

The parsed request (not the URL) waits in the Django session while the user logs in or consents:
a stored URL would replay a consumed PAR ``request_uri`` and the original ``prompt``. The request's
``ui_locales`` chooses the language of the pages it shows (else ``LocaleMiddleware``'s choice).
"""

import secrets
from contextlib import nullcontext
from urllib.parse import urlencode

from django.contrib import auth
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views import View
from idpyoidc.message.oidc import AuthorizationRequest
from idpyoidc.server.exception import UnknownClient
from idpyoidc.time_util import utc_time_sans_frac

from oidc_provider.conf import oidc_settings
from oidc_provider.consent import OFFLINE_ACCESS, requested_claims
from oidc_provider.idpy.authorization import answer_prompt_login
from oidc_provider.idpy.pushed_authorization import (
    PushedRequestRefused,
    front_channel_parameters,
    pushed_request_required,
)
from oidc_provider.idpy.request_object import fetch_request_uri
from oidc_provider.logout import end_op_session, op_session_ended, op_session_key
from oidc_provider.protocol import PAR_REQUEST_URI_PREFIX, RESPONSE_MODES
from oidc_provider.response_types import default_response_mode
from oidc_provider.server import get_server
from oidc_provider.session_keys import AUTH_TIME_SESSION_KEY, LOGIN_ID_SESSION_KEY
from oidc_provider.storage.clients import client_row
from oidc_provider.storage.session_tree_rows import OPSessionEnded
from oidc_provider.storage.unit_of_work import GRANTS, unit_of_work
from oidc_provider.views.consent_page import consent_context
from oidc_provider.views.end_session import language, signed_out
from oidc_provider.views.pages import error_page, form_post, never_framed, redirect, vetted
from oidc_provider.views.request import ProtocolView, has_nul, http_info, repeated_parameter
from oidc_provider.views.responses import is_error

PENDING_SESSION_KEY = "oidc_provider.pending"
MAX_PENDING = 10
# What people read on the error page (the OAuth error descriptions sent to clients stay English).
EXPIRED = _("This sign-in request has expired. Go back to the application and start again.")
CLIENT_GONE = _("The application is no longer registered here.")
CHANGED = _("The application's registration has changed since this sign-in began. Go back to it and start again.")
MALFORMED = _("The application sent a sign-in request this site cannot read.")
NOT_REGISTERED = _("The application that sent you here is not registered at this site.")
NO_CLIENT_ID = _("The application that sent you here did not say which application it is.")
NO_RETURN = _("The application that sent you here did not say where to return to.")
UNREGISTERED_RETURN = _("The application that sent you here asked to return to an address it has not registered.")
REPEATED = _("The sign-in request names the parameter “%(name)s” more than once.")
# Parameters that name the account a request is for (id_token_hint also as idpyoidc verified it).
HINTS = ("login_hint", "id_token_hint", "verified_id_token_hint")
PAGE_TITLE = _("This sign-in request cannot be completed")
# What the page before a self-registered client's error response says, per OAuth error code (RFC 6749
# §4.1.2.1, OIDC Core §3.1.2.6): the error_description is for the client's code, and stays English.
REDIRECTED_ERRORS = {
    "access_denied": _("The sign-in was refused: the application does not get access to your account."),
    "login_required": _("You are not signed in at this site, and the application asked not to show a sign-in page."),
    "consent_required": _("You have not allowed this application yet, and it asked not to show the consent page."),
    "interaction_required": _("The application asked not to show any page, but this sign-in needs you to act."),
    "invalid_scope": _("The application asked for access this site does not give it."),
    "unauthorized_client": _("The application is not allowed to sign you in this way."),
    "unsupported_response_type": _("The application is not allowed to sign you in this way."),
}
REDIRECTED_ERROR = _("The application's sign-in request could not be completed.")
# Why a pushed request's request_uri (RFC 9126 §4) gives no request, per reason (its error: invalid_request_uri).
PUSHED_REFUSED = {
    "used": _("This sign-in request was already used. Go back to the application and start again."),
    "expired": EXPIRED,
    "unknown": _("This sign-in request is unknown here. Go back to the application and start again."),
    "repeated": MALFORMED,
    "malformed": MALFORMED,
    "no_client_id": NO_CLIENT_ID,
}


def authorization_endpoint():
    return get_server().get_endpoint("authorization")


def redirect_error(request, params: dict, redirect_uri, error, description=""):
    """An authorization error response (RFC 6749 §4.1.2.1) with ``iss`` (RFC 9207). A client that
    registered itself gets it through a page the person clicks on (RFC 9700 §4.11.2): with
    ``prompt=none`` it could otherwise send anyone's browser anywhere it registered."""
    args = {"error": error}
    if description:
        args["error_description"] = description
    if params.get("state"):
        args["state"] = params["state"]
    args["iss"] = oidc_settings.ISSUER
    direct = vetted(client_row(params.get("client_id")))
    page = {"title": PAGE_TITLE, "description": REDIRECTED_ERRORS.get(error, REDIRECTED_ERROR)}
    # OIDC Core §3.2.2.6, §3.3.2.6: the error of a type returning tokens goes where they would (fragment)
    mode = params.get("response_mode")
    if mode not in RESPONSE_MODES:
        mode = default_response_mode(params.get("response_type"))
    if mode == "form_post":
        return form_post(request, redirect_uri, args, auto_submit=direct, context=page)
    if mode == "fragment":
        return redirect(request, f"{redirect_uri}#{urlencode(args)}", direct, page)
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(request, f"{redirect_uri}{separator}{urlencode(args)}", direct, page)


def auth_time(request) -> int:
    stamp = request.session.get(AUTH_TIME_SESSION_KEY)
    if stamp:
        return int(stamp)
    last_login = request.user.last_login  # sessions that predate the app
    return int(last_login.timestamp()) if last_login else utc_time_sans_frac()


def store_pending(request, parsed, fresh_login=False) -> str:
    now = utc_time_sans_frac()
    pending = {
        k: v
        for k, v in request.session.get(PENDING_SESSION_KEY, {}).items()
        if v["created"] + oidc_settings.PENDING_REQUEST_LIFETIME > now
    }
    key = secrets.token_urlsafe(16)
    # a fresh login is one that replaces the login current now
    login_before = request.session.get(LOGIN_ID_SESSION_KEY, "") if fresh_login else None
    pending[key] = {"request": parsed.to_json(), "created": now, "login_before": login_before}
    request.session[PENDING_SESSION_KEY] = dict(sorted(pending.items(), key=lambda kv: kv[1]["created"])[-MAX_PENDING:])
    return key


def load_pending(request, key, pop=False):
    pending = request.session.get(PENDING_SESSION_KEY, {})
    entry = pending.get(key or "")
    if entry is None or entry["created"] + oidc_settings.PENDING_REQUEST_LIFETIME < utc_time_sans_frac():
        return None
    if pop:
        del pending[key]
        request.session[PENDING_SESSION_KEY] = pending
    return entry


def page_language(ui_locales) -> str:
    """The language of the pages of a request with ``ui_locales`` (OIDC Core §3.1.2.1: a list, or the
    raw space-separated parameter): its first that the site offers, else the language
    ``LocaleMiddleware`` chose."""
    return language(ui_locales.split() if isinstance(ui_locales, str) else ui_locales)


def matches_login_hint(user, hint) -> bool:
    email_field = user.get_email_field_name() if hasattr(user, "get_email_field_name") else "email"
    return hint in (user.get_username(), getattr(user, email_field, None))


class AuthorizationFlow:
    """Decides, for a parsed request, between login, consent, an error and the code response."""

    def __init__(self, request, parsed):
        self.request = request
        self.parsed = parsed
        self.prompt = list(parsed.get("prompt", []))

    def error(self, error, description=""):
        return redirect_error(self.request, self.parsed.to_dict(), self.parsed["redirect_uri"], error, description)

    def sign_out_if_ended(self):
        """An OP session ended elsewhere (the admin) takes the Django session with it: the user signs
        in again. Checked here before the consent page only: a grant is refused anyway when its OP
        session has ended (``storage.session_tree_rows.OPSessionEnded``, then ``start_over``)."""
        if self.request.user.is_authenticated and op_session_ended(self.request):
            auth.logout(self.request)
            return True
        return False

    def start_over(self):
        """The grant was refused because the OP session ended while this request ran: sign out and
        take the request again (the login page, or ``login_required`` with ``prompt=none``)."""
        auth.logout(self.request)
        return AuthorizationFlow(self.request, self.parsed).run()

    def scopes(self) -> list:
        """The scopes asked for that the client may be granted: what the consent page shows."""
        return authorization_endpoint().grantable_scopes(self.parsed)

    def ignore_offline_access_without_consent(self, client):
        """OIDC Core §11 (defect 40): ``offline_access`` is granted only with consent to it, given
        on the consent page, remembered (``CONSENT_LIFETIME``), or the administrator's (a trusted
        client); otherwise the request for it is ignored: the grant has no refresh token."""
        scope = list(self.parsed.get("scope", []))
        if OFFLINE_ACCESS in scope and not oidc_settings.CONSENT_POLICY().grants_offline_access(
            self.request.user, client
        ):
            self.parsed["scope"] = [s for s in scope if s != OFFLINE_ACCESS]

    def run(self, resumed=False):
        if "none" in self.prompt and len(self.prompt) > 1:
            return self.error("invalid_request", "prompt=none cannot be combined with other values")
        user = self.request.user
        login_needed = not user.is_authenticated or "login" in self.prompt
        if user.is_authenticated and not resumed:
            max_age = self.parsed.get("max_age")
            if max_age is not None and utc_time_sans_frac() > auth_time(self.request) + int(max_age):
                login_needed = True
            hint = self.parsed.get("login_hint")
            if hint and not matches_login_hint(user, hint):
                login_needed = True
            if not authorization_endpoint().id_token_hint_fits(self.parsed, str(user.pk)):  # defect 17
                login_needed = True
        if login_needed:
            if "none" in self.prompt:
                return self.error("login_required", "The user is not logged in")
            return self.redirect_to_login()
        client = client_row(self.parsed["client_id"])
        if "none" in self.prompt:  # no page may ask for offline access: ignored unless consented to
            self.ignore_offline_access_without_consent(client)
        claims = requested_claims(self.parsed)
        if oidc_settings.CONSENT_POLICY().needs_consent(user, client, self.scopes(), self.prompt, claims):
            if self.sign_out_if_ended():
                return self.run(resumed)
            if "none" in self.prompt:
                return self.error("consent_required", "The user has not consented")
            key = store_pending(self.request, self.parsed)
            return HttpResponseRedirect(f"{reverse('oidc_provider:consent')}?{urlencode({'k': key})}")
        return self.issue()

    def redirect_to_login(self):
        fresh = "login" in self.prompt or self.request.user.is_authenticated
        key = store_pending(self.request, self.parsed, fresh_login=fresh)
        resume = f"{reverse('oidc_provider:authorization-resume')}?{urlencode({'k': key})}"
        response = redirect_to_login(resume, oidc_settings.LOGIN_URL)
        hint = self.parsed.get("login_hint")
        if hint:
            response["Location"] += "&" + urlencode({"login_hint": hint})
        return response

    def issue(self, consented=False):
        """The response of the request's type (code, hybrid or implicit) in its response mode;
        ``consented``: the user allowed it on the consent page just now. Call it
        in ``in_one_unit``: the grant is written when the unit ends."""
        if not consented:
            self.ignore_offline_access_without_consent(client_row(self.parsed["client_id"]))
        endpoint = authorization_endpoint()
        user = self.request.user
        authn = {"uid": str(user.pk), "authn_time": auth_time(self.request)}
        with unit_of_work(op_session=op_session_key(self.request)):
            result = endpoint.process_request(self.parsed, http_info=http_info(self.request), authn=authn)
            if "http_response" in result:  # idpyoidc still wants a login (e.g. max_age): do it
                return self.redirect_to_login()
            args = result.get("response_args", {})
            if is_error(result) or is_error(args):  # every error response takes redirect_error's way
                error = result if is_error(result) else args
                return self.error(error["error"], error.get("error_description", ""))
            mode = self.parsed.get("response_mode") or default_response_mode(self.parsed["response_type"])
            if mode == "form_post":  # defect 63: never idpyoidc's HTML
                return form_post(self.request, result["return_uri"], args)
            # what idpyoidc's do_response makes of it, without re-making the message; fragment: OAuth 2.0
            # Multiple Response Type Encoding Practices §2.1
            return HttpResponseRedirect(args.request(result["return_uri"], fragment_enc=mode == "fragment"))


def in_one_unit(flow, step):
    """``step()`` of ``flow`` in one unit of work: each row read once, a grant written at the end,
    a transaction only if needed. When that write is refused, the OP session having ended, start over."""
    try:
        with unit_of_work(GRANTS):
            return step()
    except OPSessionEnded:
        return flow.start_over()


def refusal(params, error) -> str:
    """Why a request's ``error`` cannot go back to its client, as the person is told."""
    if not params.get("client_id"):
        return NO_CLIENT_ID
    # invalid_client, unauthorized_client: what this view and idpyoidc answer for an unknown client
    if error in ("invalid_client", "unauthorized_client") or client_row(params["client_id"]) is None:
        return NOT_REGISTERED
    if not params.get("redirect_uri"):
        return NO_RETURN
    return UNREGISTERED_RETURN


class AuthorizationView(ProtocolView):
    """OIDC Core §3.1.2: GET and POST (defect: idpyoidc's examples take GET only)."""

    http_method_names = ["get", "post"]

    def get(self, request):
        return self.authorize(request, request.GET)

    def post(self, request):
        return self.authorize(request, request.POST)

    def authorize(self, request, params):
        try:  # before the unit of work: a used request_uri stays used whatever happens next
            pushed = front_channel_parameters(params)
        except PushedRequestRefused as refused:
            error = "invalid_request_uri" if refused.reason in ("unknown", "used", "expired") else "invalid_request"
            return error_page(request, PUSHED_REFUSED[refused.reason], error=error)
        if pushed is not None:
            params = QueryDict(mutable=True)
            params.update(pushed)
        ui_locales = params.get("ui_locales", "")
        # without ui_locales the pages' language is the one LocaleMiddleware made current: nothing to switch
        with translation.override(page_language(ui_locales)) if ui_locales else nullcontext():
            fetched = prefetch_request_uri(params)
            try:  # as in_one_unit, the parsing included: the flow is known only once the request is parsed
                with unit_of_work(GRANTS):
                    return self._authorize(request, params, fetched, pushed=pushed is not None)
            except OPSessionEnded:
                return self.flow.start_over()

    def _authorize(self, request, params, fetched=None, pushed=False):
        if has_nul(params):
            return error_page(request, MALFORMED)
        repeated = repeated_parameter(params)
        flat = params.dict()
        if repeated:
            redirect_uri = authorization_endpoint().verified_redirect_uri(flat)  # defect 60
            if redirect_uri:
                return redirect_error(request, flat, redirect_uri, "invalid_request", f"Repeated parameter: {repeated}")
            return error_page(request, REPEATED % {"name": repeated})
        try:
            parsed = authorization_endpoint().parse_request(flat, http_info=http_info(request), fetched=fetched)
        except UnknownClient:  # what idpyoidc raises for a client_id unknown or inactive here
            parsed = {"error": "invalid_client", "error_description": "Unknown client"}
        except Exception:  # e.g. idpyoidc's DecodeError for a claims parameter that is no JSON object
            parsed = {"error": "invalid_request", "error_description": "Malformed request"}
        if is_error(parsed):
            # where the error may go (defect 60), looked for only when there is one
            redirect_uri = authorization_endpoint().verified_redirect_uri(flat)
            # unauthorized_client goes back too: a redirect_uri is verified only for a known client
            if redirect_uri and parsed["error"] != "invalid_client":
                return redirect_error(request, flat, redirect_uri, parsed["error"], parsed.get("error_description", ""))
            return error_page(request, refusal(flat, parsed["error"]), error=parsed["error"])
        self.flow = AuthorizationFlow(request, parsed)
        required = None if pushed else pushed_request_required(parsed["client_id"])
        if required:  # RFC 9126 §5, §6 (defect 158)
            return self.flow.error("invalid_request", required)
        return self.flow.run()


def prefetch_request_uri(params):
    """A request's ``request_uri`` (RFC 9101 §5.2), fetched before the request's unit of work: no
    request goes out inside a database transaction. None when there is nothing to fetch (no such
    parameter, a PAR one, request objects off, or a request refused before its parameters are read)."""
    uris = params.getlist("request_uri")
    if (
        not oidc_settings.REQUEST_OBJECTS
        or len(uris) != 1
        or uris[0].startswith(PAR_REQUEST_URI_PREFIX)
        or "request" in params
        or has_nul(params)
        or repeated_parameter(params)
    ):
        return None
    return fetch_request_uri(params.get("client_id"), uris[0])


def still_registered(parsed) -> bool:
    """Is a pending request's redirect_uri still one of its client's? An administrator may have removed
    it (or the client) while the user was logging in or reading the consent page: then nothing, not
    even an error, is sent there."""
    return authorization_endpoint().verified_redirect_uri(parsed) is not None


def pending_request(request, key, pop=False):
    """The authorization request waiting under ``key`` for the signed-in user, or None."""
    if not request.user.is_authenticated:
        return None
    entry = load_pending(request, key, pop=pop)
    return None if entry is None else AuthorizationRequest().from_json(entry["request"])


class ResumeView(View):
    """Where the site's login sends the user back to: continue the stored request."""

    def get(self, request):
        entry = load_pending(request, request.GET.get("k"), pop=True)
        if entry is None:
            return error_page(request, EXPIRED)
        parsed = AuthorizationRequest().from_json(entry["request"])
        with translation.override(page_language(parsed.get("ui_locales"))):
            if not still_registered(parsed):
                return error_page(request, CHANGED)
            if (
                entry["login_before"] is not None
                and request.session.get(LOGIN_ID_SESSION_KEY, "") == entry["login_before"]
            ):
                # the user came back without logging in again: ask again
                return AuthorizationFlow(request, parsed).redirect_to_login()
            answer_prompt_login(parsed)  # defect 14
            flow = AuthorizationFlow(request, parsed)
            return in_one_unit(flow, lambda: flow.run(resumed=True))


class ConsentView(View):
    """Shows who asks for what and where it goes; allow or deny."""

    template_name = "oidc_provider/consent.html"

    def get(self, request):
        key = request.GET.get("k")
        parsed = pending_request(request, key)
        if parsed is None:
            return error_page(request, EXPIRED)
        with translation.override(page_language(parsed.get("ui_locales"))):
            client = client_row(parsed["client_id"])
            if client is None:  # deleted or deactivated since the request was made
                return error_page(request, CLIENT_GONE)
            if not still_registered(parsed):
                return error_page(request, CHANGED)
            scopes = AuthorizationFlow(request, parsed).scopes()
            context = {**consent_context(client, parsed, scopes), "key": key, "user": request.user}
            response = never_framed(render(request, self.template_name, context))
        response["Cache-Control"] = "no-store"  # it names the user and the pending request's key
        # the key is in this page's URL: other sites (the client's logo, policy and terms) never see it
        response["Referrer-Policy"] = "same-origin"
        return response

    def post(self, request):
        key = request.POST.get("k")
        parsed = pending_request(request, key, pop=True)
        if parsed is None:
            return error_page(request, EXPIRED)
        with translation.override(page_language(parsed.get("ui_locales"))):
            client = client_row(parsed["client_id"])
            if client is None:  # its redirect_uri is no longer one to send anything to
                return error_page(request, CLIENT_GONE)
            if not still_registered(parsed):
                return error_page(request, CHANGED)
            flow = AuthorizationFlow(request, parsed)
            if request.POST.get("decision") != "allow":
                return flow.error("access_denied", "The user denied the request")
            oidc_settings.CONSENT_POLICY().remember(request.user, client, flow.scopes())
            return in_one_unit(flow, lambda: flow.issue(consented=True))


class SwitchAccountView(View):
    """The consent page's "Not you?": sign out, sign in as someone else, and answer the same request.

    Signing out ends the OP session as any logout does (its grants revoked, back-channel logout sent,
    the front-channel logout pages loaded on the way). A link, not a form: its ``k`` is the pending
    request's key, a secret of this browser's session that another site cannot know, so no other site
    can sign the user out through it (it is the CSRF token); following it spends it."""

    http_method_names = ["get"]

    def get(self, request):
        parsed = pending_request(request, request.GET.get("k"), pop=True)
        if parsed is None:
            return error_page(request, EXPIRED)
        lang = page_language(parsed.get("ui_locales"))
        frontchannel_urls = end_op_session(request)
        auth.logout(request)
        for hint in HINTS:  # they name the account being left
            if hint in parsed:
                del parsed[hint]
        login = AuthorizationFlow(request, parsed).redirect_to_login()
        return signed_out(request, frontchannel_urls, request.build_absolute_uri(login["Location"]), lang, direct=True)
