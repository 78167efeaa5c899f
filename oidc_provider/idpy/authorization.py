"""The OIDC authorization endpoint, with the 5.0.0 defects on its path repaired."""

from idpyoidc.message import oidc
from idpyoidc.message.oidc import verified_claim_name
from idpyoidc.server.exception import UnknownClient
from idpyoidc.server.oauth2.authorization import check_unknown_scopes_policy, get_uri, join_query, max_age
from idpyoidc.server.oidc.authorization import Authorization as IdpyAuthorization

from oidc_provider.conf import oidc_settings
from oidc_provider.idpy.authn import DjangoLogin, authn_event
from oidc_provider.idpy.fast import code
from oidc_provider.idpy.front_channel import FrontChannel, nonce_missing_problem
from oidc_provider.idpy.request_object import (
    RequestObjectError,
    fetch_request_uri,
    merge,
    verify_request_object,
)
from oidc_provider.protocol import CLAIMS_MEMBERS, PAR_REQUEST_URI_PREFIX
from oidc_provider.response_types import CODE, canonical


def registered_redirect_uri(cinfo, redirect_uri) -> bool:
    """Defect 60: RFC 9700 §4.1.3 and OIDC Core §3.1.2.1 want the redirect_uri to match a
    registered one by simple string comparison (RFC 3986 §6.2.1). Stock ``verify_uri`` unquotes
    the URI first and matches its query as a set, so ``%2F``-encodings, reordered or added query
    parameters pass."""
    if not cinfo or not isinstance(redirect_uri, str):
        return False
    registered = cinfo.get("registered_redirect_uris")
    if registered is None:
        registered = [u if isinstance(u, str) else join_query(*u) for u in cinfo.get("redirect_uris") or []]
    return redirect_uri in registered


def answer_prompt_login(request):
    """Defect 14: after the login that ``prompt=login`` asked for, take ``login`` out of the request's
    ``prompt``: stock ``setup_auth`` asks for a login whenever ``prompt`` holds it, also right after
    one, so the request loops back to the login page. ``Message`` ignores an assigned empty list, so
    a ``prompt`` left empty is deleted."""
    if "prompt" not in request:
        return
    prompt = [p for p in request["prompt"] if p != "login"]
    del request["prompt"]
    if prompt:
        request["prompt"] = prompt


def ignore_other_claims_members(request) -> None:
    """Defect 105: take every member but ``CLAIMS_MEMBERS`` out of the parsed request's ``claims`` (OIDC Core §5.5:
    "any members used that are not understood MUST be ignored"). idpyoidc also reads ``access_token``
    and ``introspection`` members, and releases the claims they name into JWT access tokens and
    introspection responses, which the consent page never showed nor a remembered consent covered;
    a junk claim request there made the token endpoint answer 500 (as defect 104)."""
    claims = request.get("claims")
    if claims is None:
        return
    for member in [m for m in claims.keys() if m not in CLAIMS_MEMBERS]:
        del claims[member]


def claims_request_problem(claims) -> str | None:
    """Defect 104: OIDC Core §5.5 wants each claim of the ``claims`` parameter to be ``null`` or an
    object (with ``values`` an array, §5.5.1); stock takes any JSON there, and matching the user's
    claims against ``{"email": 5}`` or ``{"email": {"values": 3}}`` raises (a 500 at the token and
    userinfo endpoints)."""
    for target in CLAIMS_MEMBERS:
        for spec in ((claims or {}).get(target) or {}).values():
            if spec is None:
                continue
            if not isinstance(spec, dict) or not isinstance(spec.get("values", []), list):
                return f"A claim in the claims parameter's {target} member is not null or a claim request object"
    return None


OPENID = "openid"
OFFLINE_ACCESS = "offline_access"


def is_plain_oauth(request) -> bool:
    """Is ``request`` a plain OAuth 2.0 authorization request (RFC 6749 §4.1), one without the
    ``openid`` scope (OIDC Core §3.1.2.1: then it is no OpenID Connect request)?"""
    return OPENID not in (request.get("scope") or [])


class AuthorizationRequest(oidc.AuthorizationRequest):
    def verify(self, **kwargs):
        """Defect 110: the stock OIDC request refuses any request without ``openid`` in its scope
        (``openid not in scope``), so an OP built on it cannot serve RFC 6749 clients on its one
        authorization endpoint. A request with a ``scope`` but no ``openid`` gets every other check
        of the OIDC request (``response_type``, ``prompt``, ``id_token_hint``...) by verifying it as
        if ``openid`` were there, and without ``offline_access``, whose stock check defect 40 skips
        (``verify_request``); its scope is put back as asked, whether or not it passed."""
        nonce_missing_problem(self)  # defect 162
        if "scope" not in self or OPENID in self["scope"]:  # a missing scope stays invalid_request
            return super().verify(**kwargs)
        scope = self["scope"]
        self["scope"] = [OPENID, *(s for s in scope if s != OFFLINE_ACCESS)]
        try:
            return super().verify(**kwargs)
        finally:
            self["scope"] = scope


# OIDC Core §3.1.2.6: the error for each request-object parameter this OP does not take.
UNSUPPORTED_PARAMETERS = {"request": "request_not_supported", "request_uri": "request_uri_not_supported"}
# Defect 202: idpyoidc keeps what it verified (an id_token_hint, a request object) in the request
# message itself, under these names (``__verified_*``, and ``verified_id_token_hint`` where the OIDC
# request message puts the hint), and trusts what it finds there: a client's parameter of such a name
# is none of the authorization endpoint's, and is ignored (RFC 6749 §3.1) by being dropped.
VERIFIED_PREFIXES = (verified_claim_name(""), "verified_")


def without_verified_names(params: dict) -> dict:
    """``params`` without those named as idpyoidc's verified values (defect 202)."""
    return {k: v for k, v in params.items() if not k.startswith(VERIFIED_PREFIXES)}


class Authorization(FrontChannel, IdpyAuthorization):  # FrontChannel: hybrid and implicit response types
    request_cls = AuthorizationRequest  # defect 110

    def __init__(self, upstream_get, **kwargs):
        """Defect 207: idpyoidc's OIDC endpoint appends ``_do_request_uri`` and ``_post_parse_request`` to
        the steps after parsing that its OAuth 2.0 base has already appended, so each request went
        through both twice. Each step is kept once, in its first place."""
        super().__init__(upstream_get, **kwargs)
        self.post_parse_request = list(dict.fromkeys(self.post_parse_request))

    def parse_request(self, request, http_info=None, fetched=None, **kwargs):
        """Defect 64: discovery said ``request_parameter_supported: false``, yet the stock request
        message unpacked a ``request`` object (unsigned included) and let it replace ``scope``,
        ``state`` and the rest. With REQUEST_OBJECTS off both parameters are refused before anything
        reads them; on, the object is verified and merged here (``request_objects``) and idpyoidc
        only ever sees the merged parameters (defects 140, 141). ``fetched``: what the view fetched
        of a ``request_uri`` before its unit of work (``request_object.fetch_request_uri``)."""
        if isinstance(request, dict) and ("request" in request or "request_uri" in request):
            request = self.request_objects(request, fetched)
            if isinstance(request, self.error_cls):
                return request
        if isinstance(request, dict):  # defect 202
            request = without_verified_names(request)
        parsed = super().parse_request(request, http_info=http_info, **kwargs)
        if "error" not in parsed and is_plain_oauth(parsed) and "claims" in parsed:
            del parsed["claims"]  # no ID token, no userinfo: nothing a claims request could name
        if "error" not in parsed:
            ignore_other_claims_members(parsed)  # defect 105
        problem = None if "error" in parsed else claims_request_problem(parsed.get("claims"))
        return self.error_cls(error="invalid_request", error_description=problem) if problem else parsed

    def request_objects(self, request: dict, fetched=None):
        """The parameters of a request with a ``request`` or ``request_uri`` (RFC 9101, OIDC Core
        §6): those of its verified object (``request_object.merge``), or the error to answer."""
        uri = request.get("request_uri")
        if not oidc_settings.REQUEST_OBJECTS or (isinstance(uri, str) and uri.startswith(PAR_REQUEST_URI_PREFIX)):
            name = "request" if "request" in request else "request_uri"
            return self.error_cls(
                error=UNSUPPORTED_PARAMETERS[name], error_description=f"The {name} parameter is not supported"
            )
        if "request" in request and "request_uri" in request:
            return self.error_cls(error="invalid_request", error_description="Send request or request_uri, not both")
        if (
            not isinstance(request.get("client_id"), str)
            or self.upstream_get("context").cdb.get(request["client_id"]) is None
        ):
            raise UnknownClient(request.get("client_id"))  # as for a request without an object
        try:
            token = request.get("request")
            if "request_uri" in request:
                if fetched is None or fetched.uri != uri:
                    fetched = fetch_request_uri(request["client_id"], uri)
                if fetched.error:
                    raise fetched.error
                token = fetched.token
            claims = verify_request_object(token, request["client_id"])
            return merge(request, claims)
        except RequestObjectError as err:
            return self.error_cls(error=err.error, error_description=err.description)

    def _do_request_uri(self, request, client_id, context, **kwargs):
        """Defect 141: the stock step fetches any ``request_uri`` with idpyoidc's own HTTP client (no
        size cap, no address check, inside the caller's transaction; any URI at all when the client
        registered no ``request_uris``) and merges an object it verified with no ``iss``, ``aud``,
        ``exp`` or ``jti`` check. ``request_objects`` resolved the request before this step: the
        request reaching it has no ``request_uri``."""
        return request

    def response_mode(self, request, response_args=None, return_uri="", fragment_enc=None, **kwargs):
        """Defect 63: for ``form_post`` the stock method formats an HTML page with the response
        values unescaped (``FORM_POST``/``inputs()``: a ``state`` of ``"/><script>`` runs on the OP's
        origin), and formats it before ``authz_part2`` adds ``iss`` (RFC 9207 §2), so the page has
        none. Here no HTML is made: the response is returned as for ``query`` (``iss`` is added to it
        afterwards) and the view renders the form; an error is returned as the error itself."""
        if request.get("response_mode") in ("query", "fragment"):  # defect 164
            return self.encoded_response_mode(request, response_args, return_uri, **kwargs)
        if request.get("response_mode") != "form_post":
            return super().response_mode(request, response_args, return_uri, fragment_enc, **kwargs)
        if "error" in response_args:
            return {k: v for k, v in response_args.items() if k in ("error", "error_description", "state")}
        return {**kwargs, "response_args": response_args, "return_uri": return_uri}

    def verified_redirect_uri(self, request):
        """Where an error about ``request`` (parsed or not) may be sent: its redirect_uri if that belongs
        to its active client, else None. Defect 60: only a registered URI, exactly; stock ``get_uri``
        alone takes any its lenient match accepts."""
        if not request.get("client_id") or not request.get("redirect_uri"):
            return None
        context = self.upstream_get("context")
        try:
            if not registered_redirect_uri(context.cdb.get(request["client_id"]), request["redirect_uri"]):
                return None
            return get_uri(context, request, "redirect_uri")
        except Exception:  # an unknown or inactive client, a fragment: nowhere to send anything
            return None

    def id_token_hint_fits(self, request, uid) -> bool:
        """Does the request's ``id_token_hint``, if it has one, name the signed-in user ``uid``?

        Defect 17: idpyoidc stores the verified hint as ``verified_id_token_hint`` and looks for
        ``__verified_it_token_hint``, so it never tells whose session the client means (OIDC Core
        §3.1.2.1); and it would compare ``sub`` with a user id. The hint's ``sid`` names the user; its
        signature was checked against the key jar, and its issuer must be this OP (a client's own keys
        are in the key jar too)."""
        id_token = request.get("verified_id_token_hint")  # sic: not verified_claim_name()
        if id_token is None:
            return True
        context = self.upstream_get("context")
        if id_token.get("iss") != context.issuer or not id_token.get("sid"):
            return False
        try:
            return context.session_manager.decrypt_session_id(id_token["sid"])[0] == uid
        except Exception:  # not a session id of this OP's
            return False

    def _post_parse_request(self, request, client_id, context, **kwargs):
        """Defect 60: exact redirect_uri matching before idpyoidc's lenient one."""
        if "redirect_uri" in request and not registered_redirect_uri(
            context.cdb.get(client_id), request["redirect_uri"]
        ):
            return self.authentication_error_response(
                request, error="invalid_request", error_description="redirect_uri is not registered for this client"
            )
        supported = [set(rt.split()) for rt in context.provider_info.get("response_types_supported", [])]
        if "response_type" in request and set(request["response_type"]) not in supported:
            # Defect 95: the stock answer is invalid_request, the spec's unsupported_response_type
            return self.authentication_error_response(
                request, error="unsupported_response_type", error_description="response_type is not supported"
            )
        refused = self.response_type_refusal(request, context.cdb.get(client_id))  # defects 160, 161
        if refused:
            return self.authentication_error_response(request, error=refused[0], error_description=refused[1])
        if is_plain_oauth(request) and not [s for s in self.grantable_scopes(request) if s != OFFLINE_ACCESS]:
            # RFC 6749 §3.3: a plain OAuth 2.0 request must leave a scope its client may be granted
            return self.authentication_error_response(
                request, error="invalid_scope", error_description="No requested scope is allowed for this client"
            )
        return super()._post_parse_request(request, client_id, context, **kwargs)

    def signed_in(self, request, redirect_uri, acr=None, cookie=None, **kwargs):
        """``(picked authentication method, identity, authn_time)`` when the site's login has the user and
        nothing asks for another login: no ``prompt=login``, the hinted user (``req_user``) if any, no OP
        session id to check (``DjangoLogin`` gives none): every request ``views.authorization`` passes on.
        Else None: the stock ``setup_auth`` decides."""
        picked = self.pick_authn_method(request, redirect_uri, acr, **kwargs)
        authn = picked.get("method")
        if not isinstance(authn, DjangoLogin) or "login" in request.get("prompt", []):
            return None
        age = 0 if request.get("upm_answer") == "true" else max_age(request)
        identity, authn_time = authn.authenticated_as(
            request.get("client_id"), cookie, authorization=kwargs.get("authn", ""), max_age=age
        )
        identity = self._unwrap_identity(identity) if identity else None
        if identity and "sid" not in identity and kwargs.get("req_user", identity["uid"]) == identity["uid"]:
            return picked, identity, authn_time
        return None

    def setup_auth(self, request, redirect_uri, cinfo, cookie=None, acr=None, **kwargs):
        """Speed rewrite (docs/speed-rewrites.md): before it knows whether a login is needed, the stock
        method URL-encodes the whole request for a login page (``authn_args_gather``) and formats it for
        a debug message (``re_authenticate``), ~27 µs. A request of a user ``signed_in`` gets the session
        the stock method makes, without them; anything else is the stock method's."""
        signed_in = self.signed_in(request, redirect_uri, acr, cookie, **kwargs)
        if signed_in is None:
            return super().setup_auth(request, redirect_uri, cinfo, cookie, acr, **kwargs)
        picked, identity, authn_time = signed_in
        session_id = self.create_session(request, identity["uid"], picked["acr"], authn_time, picked["method"])
        return {"session_id": session_id, "identity": identity, "user": identity["uid"]}

    def process_request(self, request=None, http_info=None, **kwargs):
        """Speed rewrite (docs/speed-rewrites.md): a ``code`` request of a user ``signed_in`` is answered by
        ``fast.code.issue``, as the stock method answers it without its layers (the session made, then
        looked up again to authorize it and again to mint its code; a session cookie nothing sends); any
        other (a login to ask for, another response type, session management on) by the stock method."""
        context = self.upstream_get("context")
        if (
            "error" not in request
            and canonical(request.get("response_type")) == CODE
            and "check_session_iframe" not in context.provider_info
        ):
            check_unknown_scopes_policy(request, request["client_id"], context)  # the stock method's first step
            user = self.do_request_user(request_info=request, **kwargs)
            signed_in = self.signed_in(request, request["redirect_uri"], **user)
            if signed_in is not None:
                return code.issue(self, request, *signed_in)
        return super().process_request(request, http_info=http_info, **kwargs)

    def _unwrap_identity(self, identity):
        """Defect 1: the stock method base64-decodes the uid and crashes on ids like ``"140"``."""
        return identity

    def create_session(self, request, user_id, acr, time_stamp, authn_method):
        """The stock method with its authentication event made by ``authn_event`` (defects 2, 3)."""
        context = self.upstream_get("context")
        return context.session_manager.create_session(
            authn_event=authn_event(user_id, acr, time_stamp, authn_method),
            auth_req=request,
            user_id=user_id,
            client_id=request["client_id"],
            token_usage_rules=context.authz.usage_rules(request["client_id"]),
        )

    def verify_request(self, request, keyjar, client_id, verify_args, lap=0):
        """Defect 40: stock refuses the whole request when ``offline_access`` comes without
        ``prompt=consent``; OIDC Core §11 says to *ignore* it unless other conditions permit offline
        access. Whether they do depends on the user, unknown here: the scope is kept and the stock
        check skipped; ``views.authorization.AuthorizationFlow`` takes ``offline_access`` out of the
        grant unless the user consents to it on the consent page, a remembered consent covers it, or
        the client is trusted (``ConsentPolicy.grants_offline_access``)."""
        scope = list(request.get("scope", []))
        if "offline_access" not in scope or "consent" in request.get("prompt", []):
            return super().verify_request(request, keyjar, client_id, verify_args, lap)
        request["scope"] = [s for s in scope if s != "offline_access"]
        error = super().verify_request(request, keyjar, client_id, verify_args, lap)
        request["scope"] = scope
        return error

    def grantable_scopes(self, request) -> list:
        """The request's scopes its client may be granted (stock filters the grant the same way)."""
        context = self.upstream_get("context")
        return context.scopes_handler.filter_scopes(list(request.get("scope", [])), client_id=request["client_id"])
