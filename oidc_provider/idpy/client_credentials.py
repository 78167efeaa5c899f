"""The client_credentials grant (RFC 6749 §4.4): an access token for the client itself."""

from idpyoidc.message.oauth2 import CCAccessTokenRequest
from idpyoidc.server.oauth2.token_helper import TokenEndpointHelper

from oidc_provider.idpy import dpop
from oidc_provider.idpy.fast.client_credentials import issue_token

# Scopes about a user or for refresh tokens mean nothing here.
USER_ONLY_SCOPES = {"openid", "offline_access"}


def client_scopes(client_info) -> list:
    return [s for s in client_info.get("allowed_scopes", []) if s not in USER_ONLY_SCOPES]


class ClientCredentialsHelper(TokenEndpointHelper):
    """Defect 8: the stock helper raises on a client's second request, answers ``token_type:
    access_token`` and, for an unauthenticated request, compares the whole client record with the
    secret. Here every request gets a grant of its own that lives as long as its one token, a
    ``Bearer`` one (``idpy.fast.client_credentials``)."""

    def post_parse_request(self, request, client_id="", **kwargs):
        request = CCAccessTokenRequest(**request.to_dict())
        if not request.get("authenticated"):  # RFC 6749 §4.4: confidential clients only
            return self.error_cls(
                error="unauthorized_client", error_description="client_credentials needs client authentication"
            )
        allowed = client_scopes(self.endpoint.upstream_get("context").cdb[client_id])
        extra = [s for s in request.get("scope", []) if s not in allowed]
        if extra:
            return self.error_cls(error="invalid_scope", error_description=f"Scope not allowed: {' '.join(extra)}")
        return request

    def process_request(self, req, **kwargs):
        context = self.endpoint.upstream_get("context")
        client_id = req["client_id"]
        client = context.cdb[client_id]
        scope = req.get("scope") or client_scopes(client)
        jkt = dpop.binding_for("access_token", client)
        if jkt:
            dpop.current().bound.append("access_token")
        response = issue_token(context, client_id, client, scope, jkt)
        if scope:
            response["scope"] = scope
        return response
