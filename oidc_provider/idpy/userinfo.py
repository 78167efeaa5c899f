"""The userinfo endpoint with RFC 6750 semantics (defects 20, 21)."""

from idpyoidc.server.oidc.userinfo import UserInfo as IdpyUserInfo


class UserInfo(IdpyUserInfo):
    def process_request(self, request=None, **kwargs):
        """Defects 20/21: an unknown, revoked or expired token, or one whose session is gone, is
        ``invalid_token``, never an exception."""
        mngr = self.upstream_get("context").session_manager
        try:
            info = mngr.get_session_info_by_token(request["access_token"], grant=True, handler_key="access_token")
        except Exception:  # the token handlers raise many types for a bad or foreign token
            return self.error_cls(error="invalid_token", error_description="Invalid Token")
        token = info["grant"].get_token(request["access_token"])
        if token is None or token.token_class != "access_token" or not token.is_active() or info["grant"].is_active() is False:
            return self.error_cls(error="invalid_token", error_description="Invalid Token")
        return super().process_request(request, **kwargs)
