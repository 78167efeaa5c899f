"""Token exchange (RFC 8693) under a per-client policy (``Client.token_exchange``, or the
``TOKEN_EXCHANGE_POLICY`` setting), mapped to idpyoidc's helper config in storage/clients.py."""

from idpyoidc.message.oauth2 import TokenExchangeRequest
from idpyoidc.message.oidc import TokenErrorResponse
from idpyoidc.server.oauth2.token_helper import validate_token_exchange_policy as idpy_validate_token_exchange_policy
from idpyoidc.server.oidc.token_helper.token_exchange import TokenExchangeHelper as IdpyTokenExchangeHelper
from idpyoidc.time_util import utc_time_sans_frac

from oidc_provider.idpy import dpop
from oidc_provider.idpy.token import MintingFixes
from oidc_provider.idpy.tokens import find_token, is_live, visible_to
from oidc_provider.metadata import TOKEN_TYPE_URNS

TOKEN_CLASSES = {urn: name for name, urn in TOKEN_TYPE_URNS.items()}


def validate_token_exchange_policy(request, context, subject_token, audience=(), resource=(), scope=None):
    """idpyoidc's policy check, after refusing targets the policy does not list. Defect 103: the stock
    check lets any ``audience`` through when the policy lists none."""
    for param, allowed in (("audience", audience), ("resource", resource)):
        unknown = set(request.get(param, [])) - set(allowed)
        if unknown:
            return TokenErrorResponse(
                error="invalid_target", error_description=f"Not an allowed {param}: {' '.join(sorted(unknown))}"
            )
    return idpy_validate_token_exchange_policy(
        request, context, subject_token, audience=audience, resource=resource, scope=scope
    )


class TokenExchangeHelper(MintingFixes, IdpyTokenExchangeHelper):
    def post_parse_request(self, request, client_id="", **kwargs):
        """Defect 16: stock lets any client exchange any token. Here the subject token must be live and
        issued to the caller or name it in its audience, else it is ``invalid_request`` like an
        unknown one (RFC 8693 §2.2.2). An omitted ``requested_token_type`` gets the policy's default
        before the policy is checked (stock checks only a present one, then issues an access token).
        An omitted ``subject_token_type`` is taken from the token: idpyoidc's documented example
        request sends none. Defect 206: stock exchanges a DPoP-bound subject token without a proof, for a
        bearer token; here the request needs a proof of the token's key (RFC 9449 §7.1), and the access
        token it issues is bound to that key, as any minted with a proof is."""
        dpop.drop_claimed_key(request)
        context = self.endpoint.upstream_get("context")
        config = context.cdb[client_id]["token_exchange"]
        if config is None:
            return self.error_cls(
                error="unauthorized_client", error_description="The client's token exchange policy is invalid"
            )
        if not request.get("subject_token"):
            return self.error_cls(error="invalid_request", error_description="Missing subject_token")
        hint = TOKEN_CLASSES.get(request.get("subject_token_type"))
        info, token = find_token(context, request["subject_token"], first=hint, classes=list(TOKEN_TYPE_URNS))
        if token is None or not is_live(info, token) or not visible_to(info, token, client_id):
            return self.error_cls(error="invalid_request", error_description="Subject token invalid")
        if not dpop.proven(dpop.jkt_of(token)):  # defect 206
            return self.error_cls(
                error="invalid_dpop_proof", error_description="The subject token is bound to another DPoP key"
            )
        if "subject_token_type" not in request:
            request["subject_token_type"] = TOKEN_TYPE_URNS[token.token_class]
        if "requested_token_type" not in request:
            request["requested_token_type"] = config["default_requested_token_type"]
        request = super().post_parse_request(request, client_id, **kwargs)
        if "error" not in request:  # never more than the caller may ask for itself, in the subject's order
            allowed = set(context.scopes_handler.filter_scopes(request["scope"], client_id=client_id))
            request["scope"] = [s for s in token.scope if s in allowed]
        return request

    def process_request(self, request, **kwargs):
        """Defect 101: stock puts a token minted for another client in an ``ExchangeGrant`` with 60 s
        usage rules and no audience. Defect 102: it then overwrites the new token's expiry with the
        subject's, so ``expires_in``, the row and a JWT's ``exp`` disagree. Here the token gets its class's
        lifetime, never beyond the subject token's, in a grant with the caller's usage rules, and
        its audience is the requested targets (or the caller). Defect 70: stock leaves a refresh
        token exchanged by its own client for a refresh token live, so the rotation chain forks into
        two that each refresh on; here the subject is rotated out, as a refresh does, and presenting
        it again is a replay."""
        context = self.endpoint.upstream_get("context")
        manager = context.session_manager
        info, subject = find_token(
            context, request["subject_token"], first=TOKEN_CLASSES[request["subject_token_type"]]
        )
        client_id = request["client_id"]
        targets = list(dict.fromkeys(request.get("resource", []) + request.get("audience", [])))
        session_id, grant = info["branch_id"], info["grant"]
        if client_id != info["client_id"]:
            session_id = manager.create_exchange_session(
                # kept in the grant row: the exchange parameters, never the client's credentials
                exchange_request=TokenExchangeRequest(
                    client_id=client_id, **{k: v for k, v in request.items() if k in TokenExchangeRequest.c_param}
                ),
                original_grant=grant,
                original_session_id=session_id,
                user_id=info["user_id"],
                client_id=client_id,
                scopes=request["scope"],
            )
            exchange_grant = manager[session_id]
            exchange_grant.usage_rules = context.authz.usage_rules(client_id)
            exchange_grant.resources = targets or [client_id]
            exchange_grant.expires_at = grant.expires_at
            grant = exchange_grant
        lifetime = subject.expires_at - utc_time_sans_frac() if subject.expires_at else None
        token = self._mint_token(
            TOKEN_CLASSES[request["requested_token_type"]],
            grant,
            session_id,
            client_id,
            based_on=subject,
            scope=request["scope"],
            token_args={"resources": targets} if targets else None,
            token_type="Bearer",
            lifetime=lifetime,
        )
        if token.token_class == subject.token_class == "refresh_token" and client_id == info["client_id"]:
            subject.revoke()
        return self.token_exchange_response(token, request["requested_token_type"])
