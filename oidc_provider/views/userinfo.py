"""The userinfo endpoint (OIDC Core §5.3), with RFC 6750's errors and challenges, and RFC 9449's for
tokens presented with the DPoP scheme."""

from oidc_provider.idpy import dpop
from oidc_provider.storage.unit_of_work import READ_ONLY
from oidc_provider.views.base import EndpointView
from oidc_provider.views.dpop import dpop_challenge, resource_request_proof
from oidc_provider.views.responses import bearer_challenge, oauth_error


class UserInfoView(EndpointView):
    """OIDC Core §5.3 with RFC 6750 errors (defects 20, 21)."""

    endpoint_name = "userinfo"
    transaction_policy = READ_ONLY  # a DPoP proof's jti is still recorded (autocommit: storage.assertions)

    # RFC 6750 §3.1: these errors come with a Bearer challenge
    CHALLENGE_STATUS = {"invalid_token": 401, "insufficient_scope": 403}

    def error_response(self, error: dict):
        code = error.get("error", "invalid_token")
        if code not in self.CHALLENGE_STATUS:
            return oauth_error(code, error.get("error_description", ""))
        description = error.get("error_description") or "Invalid token"
        presentation = dpop.current()
        if presentation.scheme == "DPoP" or presentation.challenge:  # RFC 9449 §7.1
            return dpop_challenge(code, description, self.CHALLENGE_STATUS[code])
        response = bearer_challenge(description, code, self.CHALLENGE_STATUS[code])
        if code == "insufficient_scope":  # RFC 6750 §3: the scope that would do (OIDC Core §5.3)
            response["WWW-Authenticate"] += ', scope="openid"'
        return response

    def handle(self, request, params):
        authorization = request.META.get("HTTP_AUTHORIZATION") or ""
        if not (authorization or "access_token" in params):
            return bearer_challenge()  # RFC 6750 §3.1: no token, no error details
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "dpop" or not dpop.enabled():
            with dpop.presented(None, scheme="Bearer"):
                return super().handle(request, params)
        token = token.strip()
        if not token or "access_token" in params:  # RFC 6750 §2: one way of presenting a token
            return dpop_challenge("invalid_request", "One DPoP access token in the Authorization header", 400)
        try:
            proof = resource_request_proof(request, token)
        except dpop.InvalidProof as err:
            return dpop_challenge("invalid_dpop_proof", str(err))
        with dpop.presented(proof, scheme="DPoP"):
            return super().handle(request, params)

    def http_info(self, request) -> dict:
        """idpyoidc finds the token in a ``Bearer`` header; a DPoP one's proof was checked already."""
        info = super().http_info(request)
        if dpop.current().scheme == "DPoP":
            info["headers"]["authorization"] = "Bearer " + info["headers"]["authorization"].partition(" ")[2].strip()
        return info

    def client_auth_failed(self):
        return self.error_response({"error": "invalid_token", "error_description": "Invalid token"})
