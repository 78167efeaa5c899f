"""The userinfo endpoint with RFC 6750 semantics (defects 20, 21)."""

from idpyoidc.server.oidc.userinfo import UserInfo as IdpyUserInfo

from oidc_provider.idpy import dpop
from oidc_provider.idpy.tokens import find_token, is_live


class UserInfo(IdpyUserInfo):
    def process_request(self, request=None, **kwargs):
        """Defects 20/21: an unknown, revoked or expired token, or one whose session is gone, is
        ``invalid_token``, never an exception. Defect 47: a token without ``openid`` in its scope
        (client credentials: no user) is ``insufficient_scope``; stock raises on it."""
        info, token = find_token(self.upstream_get("context"), request["access_token"], classes=["access_token"])
        if token is None or not is_live(info, token):
            return self.error_cls(error="invalid_token", error_description="Invalid Token")
        problem = binding_problem(token)
        if problem:
            return self.error_cls(error="invalid_token", error_description=problem)
        if "openid" not in token.scope:
            return self.error_cls(error="insufficient_scope", error_description="The token has no openid scope")
        return super().process_request(request, **kwargs)


def binding_problem(token):
    """RFC 9449 §7: a bound token only with the DPoP scheme and a proof of its key (defect 185: stock
    takes it as a bearer token); a bearer token not with the DPoP scheme."""
    bound, presentation = dpop.jkt_of(token), dpop.current()
    if bound:
        presentation.challenge = True
        if presentation.scheme != "DPoP":
            return "The token is DPoP-bound: present it with the DPoP scheme and a proof"
        if presentation.proof is None or presentation.proof.jkt != bound:
            return "The DPoP proof's key is not the token's"
    elif presentation.scheme == "DPoP":
        return "The token is not DPoP-bound"
    return None
