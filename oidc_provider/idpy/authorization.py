"""The OIDC authorization endpoint, with the 5.0.0 defects on its path repaired."""

from idpyoidc.server.authn_event import create_authn_event
from idpyoidc.server.oidc.authorization import Authorization as IdpyAuthorization
from idpyoidc.time_util import utc_time_sans_frac


class Authorization(IdpyAuthorization):
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
