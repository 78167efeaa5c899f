"""The client_credentials grant (RFC 6749 §4.4): an access token for the client itself."""

from idpyoidc.message.oauth2 import AuthorizationRequest, CCAccessTokenRequest
from idpyoidc.server.oauth2.token_helper import TokenEndpointHelper
from idpyoidc.time_util import utc_time_sans_frac

from oidc_provider.idpy.token import MintingFixes

# The session tree's first level for tokens that no user authorized (idpyoidc's own path).
NO_USER = "client_credentials"
# Scopes about a user or for refresh tokens mean nothing here.
USER_ONLY_SCOPES = {"openid", "offline_access"}


def client_scopes(client_info) -> list:
    return [s for s in client_info.get("allowed_scopes", []) if s not in USER_ONLY_SCOPES]


class ClientCredentialsHelper(MintingFixes, TokenEndpointHelper):
    """Defect 8: the stock helper raises on a client's second request, answers ``token_type:
    access_token`` and, for an unauthenticated request, compares the whole client record with the
    secret. Here every request gets a grant of its own that lives as long as its one token."""

    def post_parse_request(self, request, client_id="", **kwargs):
        request = CCAccessTokenRequest(**request.to_dict())
        if not request.get("authenticated"):  # RFC 6749 §4.4: confidential clients only
            return self.error_cls(error="unauthorized_client", error_description="client_credentials needs client authentication")
        allowed = client_scopes(self.endpoint.upstream_get("context").cdb[client_id])
        extra = [s for s in request.get("scope", []) if s not in allowed]
        if extra:
            return self.error_cls(error="invalid_scope", error_description=f"Scope not allowed: {' '.join(extra)}")
        return request

    def process_request(self, req, **kwargs):
        context = self.endpoint.upstream_get("context")
        client_id = req["client_id"]
        scope = req.get("scope") or client_scopes(context.cdb[client_id])
        manager = context.session_manager
        session_id = manager.add_grant(
            [NO_USER, client_id],
            scope=scope,
            sub=client_id,  # RFC 9068 §2.2: sub names the client when no user is involved
            resources=[client_id],
            # the grant's payload claims (client_id, sub) are read from its authorization request
            authorization_request=AuthorizationRequest(client_id=client_id, scope=scope),
            # the only token it ever mints: the other classes' rules would only weigh its row down
            usage_rules={"access_token": context.authz.usage_rules(client_id).get("access_token", {})},
        )
        grant = manager[session_id]
        token = self._mint_token("access_token", grant, session_id, client_id, scope=scope, token_type="Bearer")
        grant.expires_at = token.expires_at
        response = {"access_token": token.value, "token_type": "Bearer", "expires_in": token.expires_at - utc_time_sans_frac()}
        if scope:
            response["scope"] = scope
        return response
