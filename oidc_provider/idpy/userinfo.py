"""The userinfo endpoint with RFC 6750 semantics (defects 20, 21)."""

from idpyoidc.server.oidc.userinfo import UserInfo as IdpyUserInfo

from oidc_provider.idpy.tokens import find_token, is_live


class UserInfo(IdpyUserInfo):
    def process_request(self, request=None, **kwargs):
        """Defects 20/21: an unknown, revoked or expired token, or one whose session is gone, is
        ``invalid_token``, never an exception. Defect 47: a token without ``openid`` in its scope
        (client credentials: no user) is ``insufficient_scope``; stock raises on it."""
        info, token = find_token(self.upstream_get("context"), request["access_token"], classes=["access_token"])
        if token is None or not is_live(info, token):
            return self.error_cls(error="invalid_token", error_description="Invalid Token")
        if "openid" not in token.scope:
            return self.error_cls(error="insufficient_scope", error_description="The token has no openid scope")
        return super().process_request(request, **kwargs)
