"""The userinfo endpoint (OIDC Core §5.3), with RFC 6750's errors and challenges."""

from oidc_provider.storage.unit_of_work import READ_ONLY
from oidc_provider.views.base import EndpointView
from oidc_provider.views.responses import bearer_challenge, oauth_error


class UserInfoView(EndpointView):
    """OIDC Core §5.3 with RFC 6750 errors (defects 20, 21)."""

    endpoint_name = "userinfo"
    transaction_policy = READ_ONLY

    # RFC 6750 §3.1: these errors come with a Bearer challenge
    CHALLENGE_STATUS = {"invalid_token": 401, "insufficient_scope": 403}

    def error_response(self, error: dict):
        code = error.get("error", "invalid_token")
        if code not in self.CHALLENGE_STATUS:
            return oauth_error(code, error.get("error_description", ""))
        response = bearer_challenge(
            error.get("error_description") or "Invalid token", code, self.CHALLENGE_STATUS[code]
        )
        if code == "insufficient_scope":  # RFC 6750 §3: the scope that would do (OIDC Core §5.3)
            response["WWW-Authenticate"] += ', scope="openid"'
        return response

    def handle(self, request, params):
        if not (request.headers.get("Authorization") or "access_token" in params):
            return bearer_challenge()  # RFC 6750 §3.1: no token, no error details
        return super().handle(request, params)

    def client_auth_failed(self):
        return self.error_response({"error": "invalid_token", "error_description": "Invalid token"})
