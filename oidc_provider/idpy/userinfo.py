"""The userinfo endpoint with RFC 6750 semantics (defects 20, 21); signed and encrypted responses as
the client registered them (OIDC Core §5.3.2, ``idpy/encryption.py``)."""

import json

from cryptojwt.jwt import JWT
from idpyoidc.message import Message
from idpyoidc.server.oidc.userinfo import UserInfo as IdpyUserInfo
from idpyoidc.server.util import OAUTH2_NOCACHE_HEADERS

from oidc_provider.claims import want_users_with_grants
from oidc_provider.idpy import dpop, encryption
from oidc_provider.idpy.tokens import find_token, is_live


class UserInfo(IdpyUserInfo):
    def get_client_id_from_token(self, context, token, request=None):
        """The first read of the token's grant (client authentication): its user comes in the same round
        trip, for the claims (``claims.want_users_with_grants``)."""
        want_users_with_grants()
        return super().get_client_id_from_token(context, token, request)

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
        return self.encryption_ready(super().process_request(request, **kwargs))

    def encryption_ready(self, result):
        """Defect 171: a client that registered ``userinfo_encrypted_response_alg`` and has no key to
        encrypt to is told so (``invalid_client``, docs/encryption.md), before ``do_response``."""
        if isinstance(result, dict) and "response_args" in result:
            client_info = self.upstream_get("context").cdb[result["client_id"]]
            missing = encryption.prepare(self.upstream_get("attribute", "keyjar"), client_info, "userinfo")
            if missing:
                return self.error_cls(error="invalid_client", error_description=missing)
        return result

    def do_response(self, response_args=None, request=None, client_id="", **kwargs):
        """Defect 173: stock encrypts only when the client registered both ``_alg`` and ``_enc``; one
        that gave only the alg (the enc then defaults to A128CBC-HS256, OIDC Registration §2) got its
        claims in clear JSON. Here: signed if the client asked (``iss`` and ``aud``, OIDC Core
        §5.3.2), then encrypted if it asked (``cty: JWT`` when nested); either is ``application/jwt``."""
        if kwargs.get("error"):
            return super().do_response(response_args, request, client_id=client_id, **kwargs)
        context = self.upstream_get("context")
        keyjar = self.upstream_get("attribute", "keyjar")
        client_info = context.cdb[client_id]
        claims = response_args.to_dict() if isinstance(response_args, Message) else dict(response_args)
        sign_alg = client_info.get("userinfo_signed_response_alg")
        if sign_alg:
            body, cty = JWT(keyjar, iss=context.issuer, sign_alg=sign_alg).pack(claims, recv=client_id), "JWT"
        else:
            body, cty = json.dumps(claims), ""
        encrypted = encryption.algorithms(client_info, "userinfo") is not None
        if encrypted:
            body = encryption.encrypt(keyjar, client_info, "userinfo", body, cty)
        content_type = "application/jwt" if sign_alg or encrypted else "application/json"
        return {"response": body, "http_headers": [("Content-type", content_type), *OAUTH2_NOCACHE_HEADERS]}


def binding_problem(token):
    """RFC 9449 §7: a bound token only with the DPoP scheme and a proof of its key (defect 185: stock
    takes it as a bearer token); a bearer token not with the DPoP scheme."""
    bound, presentation = dpop.jkt_of(token), dpop.current()
    if bound:
        presentation.challenge = True
        if presentation.scheme != "DPoP":
            return "The token is DPoP-bound: present it with the DPoP scheme and a proof"
        if not dpop.proven(bound):
            return "The DPoP proof's key is not the token's"
    elif presentation.scheme == "DPoP":
        return "The token is not DPoP-bound"
    return None
