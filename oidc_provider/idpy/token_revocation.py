"""Token revocation (RFC 7009)."""

from idpyoidc.server.oauth2.token_revocation import TokenRevocation as IdpyTokenRevocation

from oidc_provider.idpy.tokens import find_token

REVOCABLE = ("access_token", "refresh_token")


class TokenRevocation(IdpyTokenRevocation):
    def process_request(self, request=None, **kwargs):
        """Defect 46: stock stores each request's token types and policy on the endpoint object, which
        all threads share, raises on tokens whose grant is gone, and revokes only the
        presented refresh token. Here nothing is stored on ``self``; revoking a refresh token revokes
        every token of its grant (RFC 7009 §2.1), an access token only itself; unknown, malformed
        and expired tokens answer 200 (§2.2), and so does another client's token, left alone: an
        error there would tell a caller which values are live tokens."""
        request = self.request_cls(**request)
        info, token = find_token(self.upstream_get("context"), request["token"], first=request.get("token_type_hint"))
        if token is None or info["client_id"] != request["client_id"]:
            return {"response_msg": "OK"}
        if token.token_class not in REVOCABLE:
            return self.error_cls(
                error="unsupported_token_type", error_description=f"Cannot revoke {token.token_class}"
            )
        if token.token_class == "refresh_token":
            info["grant"].revoke_token()
        else:
            token.revoke()
        return {"response_msg": "OK"}
