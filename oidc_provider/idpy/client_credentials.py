"""The client_credentials grant (RFC 6749 §4.4): an access token for the client itself."""

from secrets import token_hex

from cryptojwt.utils import qualified_name
from idpyoidc.message.oauth2 import AuthorizationRequest, CCAccessTokenRequest
from idpyoidc.server.oauth2.token_helper import TokenEndpointHelper
from idpyoidc.server.session.token import AccessToken
from idpyoidc.time_util import utc_time_sans_frac

from oidc_provider.idpy.session_tree import insert_grant

# The session tree's first level for tokens that no user authorized (idpyoidc's own path).
NO_USER = "client_credentials"
# Scopes about a user or for refresh tokens mean nothing here.
USER_ONLY_SCOPES = {"openid", "offline_access"}
_REQUEST, _TOKEN = qualified_name(AuthorizationRequest), qualified_name(AccessToken)


def client_scopes(client_info) -> list:
    return [s for s in client_info.get("allowed_scopes", []) if s not in USER_ONLY_SCOPES]


def grant_data(client_id, scope, rules, now):
    """What idpyoidc's ``Grant.dump`` makes of a client-credentials grant before its token is minted
    (the tests compare the two): ``sub`` names the client (RFC 9068 §2.2: no user is involved), the
    token's audience is the client, and only the access token's usage rules are kept (the only
    class it mints: the others would weigh its row down)."""
    return {"sub": client_id, "used": 0, "extra": {}, "scope": scope, "claims": {}, "revoked": False,
            "issued_at": now, "resources": [client_id], "expires_at": 0, "not_before": 0,
            "usage_rules": {"access_token": rules},
            # its payload claims (client_id, sub) are read from its authorization request
            "authorization_request": {_REQUEST: {"client_id": client_id, "scope": " ".join(scope)}}}


class ClientCredentialsHelper(TokenEndpointHelper):
    """Defect 8: the stock helper raises on a client's second request, answers ``token_type:
    access_token`` and, for an unauthenticated request, compares the whole client record with the
    secret. Here every request gets a grant of its own that lives as long as its one token.

    The grant is written as its dump, not built as idpyoidc objects, minted into and dumped: nothing
    else in the request reads it. Its token is minted by idpyoidc's handler, with the claims
    ``Grant.mint_token`` would give a JWT."""

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
        client = context.cdb[client_id]
        scope = req.get("scope") or client_scopes(client)
        rules = context.authz.usage_rules(client_id).get("access_token", {})
        handler = context.session_manager.token_handler["access_token"]
        now = utc_time_sans_frac()
        expires_at = now + (rules.get("expires_in") or handler.lifetime)
        # ids shaped as idpyoidc's (32 hex characters); random ones cost a fifteenth of its uuid1
        path = [NO_USER, client_id, token_hex(16)]
        session_id = context.session_manager.encrypted_branch_id(*path)
        grant = grant_data(client_id, scope, rules, now)
        token = {"id": token_hex(16), "name": AccessToken.__name__, "used": 0, "scope": scope, "claims": {},
                 "revoked": False, "issued_at": now, "resources": [], "expires_at": expires_at, "not_before": 0,
                 "token_type": "Bearer", "token_class": "access_token", "usage_rules": rules}
        payload = {}
        if client.get("access_token_format") == "jwt":  # an opaque token carries only its session id
            # ``Grant.payload_arguments`` for this grant: no claims about a user, as there is none
            payload = {"scope": scope, "aud": [client_id], "jti": token_hex(16), "client_id": client_id, "sub": client_id}
        token["value"] = handler(session_id=session_id, usage_rules=rules, **payload)
        insert_grant(path, {**grant, "used": 1, "expires_at": expires_at, "issued_token": [{_TOKEN: token}]})
        response = {"access_token": token["value"], "token_type": "Bearer", "expires_in": expires_at - now}
        if scope:
            response["scope"] = scope
        return response
