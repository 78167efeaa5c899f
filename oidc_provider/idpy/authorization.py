"""The OIDC authorization endpoint, with the 5.0.0 defects on its path repaired."""

from idpyoidc.server.authn_event import create_authn_event
from idpyoidc.server.oauth2.authorization import join_query
from idpyoidc.server.oidc.authorization import Authorization as IdpyAuthorization
from idpyoidc.time_util import utc_time_sans_frac


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


class Authorization(IdpyAuthorization):
    def _post_parse_request(self, request, client_id, context, **kwargs):
        """Defect 60: exact redirect_uri matching before idpyoidc's lenient one."""
        if "redirect_uri" in request and not registered_redirect_uri(context.cdb.get(client_id), request["redirect_uri"]):
            return self.authentication_error_response(
                request, error="invalid_request", error_description="redirect_uri is not registered for this client"
            )
        return super()._post_parse_request(request, client_id, context, **kwargs)

    def _unwrap_identity(self, identity):
        """Defect 1: the stock method base64-decodes the uid and crashes on ids like ``"140"``."""
        return identity

    def create_session(self, request, user_id, acr, time_stamp, authn_method):
        """Defect 2: ``auth_time`` must be the real login time (stock passes ``time_stamp=``, which
        is ignored). Defect 3: the event stays valid for the configured authn lifetime counted from
        now, so userinfo does not break an hour after a long-ago login."""
        context = self.upstream_get("context")
        authn_event = create_authn_event(
            user_id,
            authn_info=acr,
            authn_time=time_stamp,
            valid_until=utc_time_sans_frac() + authn_method.kwargs.get("expires_in", 3600),
        )
        return context.session_manager.create_session(
            authn_event=authn_event,
            auth_req=request,
            user_id=user_id,
            client_id=request["client_id"],
            token_usage_rules=context.authz.usage_rules(request["client_id"]),
        )

    def verify_request(self, request, keyjar, client_id, verify_args, lap=0):
        """Defect 40: OIDC Core §11 says an OP MUST *ignore* ``offline_access`` asked for without
        ``prompt=consent`` unless other conditions permit offline access; stock rejects the whole
        request. Here the scope is dropped, except for trusted clients (``skip_consent``): an
        administrator trusting the client is that other condition."""
        scope = list(request.get("scope", []))
        if "offline_access" not in scope or "consent" in request.get("prompt", []):
            return super().verify_request(request, keyjar, client_id, verify_args, lap)
        request["scope"] = [s for s in scope if s != "offline_access"]
        error = super().verify_request(request, keyjar, client_id, verify_args, lap)
        if error is None and (self.upstream_get("context").cdb.get(client_id) or {}).get("skip_consent"):
            request["scope"] = scope
        return error
