"""Token introspection (RFC 7662)."""

from idpyoidc.server.oauth2.introspection import Introspection as IdpyIntrospection

from oidc_provider.claims import user_by_id
from oidc_provider.conf import oidc_settings
from oidc_provider.idpy import dpop
from oidc_provider.idpy.tokens import find_token, is_live, visible_to


class Introspection(IdpyIntrospection):
    def process_request(self, request=None, **kwargs):
        """Defect 45: stock answers ``active: true`` for tokens of a revoked grant or session (defect
        6), raises on tokens whose grant is gone, refuses a token's own client when the token's
        audience names others, trusts no hint, and reports the user's primary key as ``username``.
        Here: ``{"active": false}`` for whatever is unknown, dead or not the caller's to see."""
        request = self.request_cls(**request)
        inactive = {"response_args": self.response_cls(active=False)}
        info, token = find_token(self.upstream_get("context"), request["token"], first=request.get("token_type_hint"))
        if token is None or not is_live(info, token) or not visible_to(info, token, request["client_id"]):
            return inactive
        answer = self._introspect(token, info["client_id"], info["grant"])
        if answer is None:  # an authorization code
            return inactive
        # RFC 7662 §2.2 token_type is an RFC 6749 §5.1 type; a refresh token has none (RFC 8693's N_A)
        answer["token_type"] = "Bearer" if token.token_class == "access_token" else "N_A"
        if dpop.jkt_of(token) and token.token_class == "access_token":  # RFC 9449 §6.2
            answer["token_type"] = "DPoP"
        user = oidc_settings.INTROSPECTION_USERNAME and user_by_id(info["user_id"])
        if user:
            answer["username"] = user.get_username()
        response = self.response_cls(**answer)
        response.weed()
        response["active"] = True
        if dpop.jkt_of(token):  # defect 188, RFC 9449 §6.2; a Message drops a dict given to its constructor
            response["cnf"] = {"jkt": dpop.jkt_of(token)}
        return {"response_args": response}
