"""The refresh_token grant (RFC 6749 §6, OIDC Core §12) with rotation and replay detection."""

from idpyoidc.message.oidc import RefreshAccessTokenRequest
from idpyoidc.server.oidc.token_helper.refresh_token import RefreshTokenHelper as IdpyRefreshTokenHelper
from idpyoidc.time_util import utc_time_sans_frac

from oidc_provider.conf import oidc_settings
from oidc_provider.idpy import dpop
from oidc_provider.idpy.fast.opaque import other_spelling
from oidc_provider.idpy.grant_tokens import minted_from
from oidc_provider.idpy.token import MintingFixes, refresh_deadline


def revoke_family(grant):
    """RFC 9700 §4.14.2: a rotated-out refresh token came back, so one of its holders is an
    attacker. Every token of the grant stops working, and the grant mints no more."""
    grant.revoke_token()
    grant.revoke()


def just_rotated(grant, token, now) -> bool:
    """Was ``token`` rotated out less than REFRESH_TOKEN_REUSE_WINDOW ago (its successor issued
    since)? Its client presenting it again then is retrying, not replaying. Its successors are read by
    their parent (``idpy.grant_tokens.minted_from``), not among all the grant's tokens."""
    window = oidc_settings.REFRESH_TOKEN_REUSE_WINDOW
    return any(now - t.issued_at < window for t in minted_from(grant, token.value, "refresh_token"))


def respelt(grant, value):
    """Defect 208: the token of ``grant`` that ``value``, which the grant does not hold, spells otherwise
    (``idpy.fast.opaque``), or None. Only a holder of the token can spell it so, and it is answered as that
    token would be, but never accepted: a live one presented by another client revokes nothing, a rotated-out
    one is a replay."""
    other = other_spelling(value)
    return grant.get_token(other) if other != value else None


class RefreshTokenHelper(MintingFixes, IdpyRefreshTokenHelper):
    def post_parse_request(self, request, client_id="", **kwargs):
        """Replaces the stock checks. Defect 42: an inactive refresh token is ``invalid_grant`` and a
        wider scope ``invalid_scope`` (RFC 6749 §5.2, §6), not ``invalid_request``; the scope is
        compared with the presented token's own. Defect 43: replaying a rotated-out (or revoked)
        refresh token revokes its family, unless its own client presents it again within
        REFRESH_TOKEN_REUSE_WINDOW of its rotation (a retry); presented by another client, it revokes
        the family too. Defect 6: a token of a revoked grant is dead."""
        request = dpop.drop_claimed_key(RefreshAccessTokenRequest(**request.to_dict()))
        if not request.get("refresh_token"):
            return self.error_cls(error="invalid_request", error_description="Missing refresh_token")
        manager = self.endpoint.upstream_get("context").session_manager
        value = request["refresh_token"]
        try:
            token_info = manager.token_info(value, "refresh_token")
            manager.want_token(token_info["sid"], value, "refresh_token")
            info = manager.get_session_info(token_info["sid"], grant=True)
        except Exception:  # not one of our refresh tokens, or its grant is gone
            return self.error_cls(error="invalid_grant", error_description="Invalid refresh token")
        grant = info["grant"]
        token = grant.get_token(value)
        if token is None:
            token = respelt(grant, value)
            if token is not None and not token.revoked:  # a live token, misspelt
                return self.error_cls(error="invalid_grant", error_description="Invalid refresh token")
        # A token pruned from its row (revoked or expired) is told apart by the expiry sealed in it.
        now = utc_time_sans_frac()
        expires_at = token.expires_at if token else min(int(token_info["exp"]), refresh_deadline(grant))
        expired = bool(expires_at) and expires_at < now
        owner = info["client_id"] == client_id
        if not expired and grant.is_active() and (token is None or token.revoked):
            if owner and token is not None and just_rotated(grant, token, now):
                # a retry (a lost response, two tabs at once): refused, and the successor stays valid
                return self.error_cls(error="invalid_grant", error_description="Refresh token already used")
            revoke_family(grant)
            if owner:
                return self.error_cls(
                    error="invalid_grant",
                    error_description="Refresh token reused: every token of this grant is revoked",
                )
        if not owner:  # another client's token, live or not: it learns nothing about it
            return self.error_cls(error="invalid_grant", error_description="Invalid refresh token")
        if expired or not grant.is_active():
            return self.error_cls(error="invalid_grant", error_description="Refresh token expired or revoked")
        if not dpop.proven(dpop.jkt_of(token)):  # RFC 9449 §5: a public client's bound token
            return self.error_cls(
                error="invalid_dpop_proof", error_description="The refresh token is bound to another DPoP key"
            )
        if "scope" in request and not set(request["scope"]) <= set(grant.find_scope(token)):
            return self.error_cls(error="invalid_scope", error_description="Scope wider than the refresh token's")
        return request

    def process_request(self, req, **kwargs):
        """Defect 44: RFC 6749 §6 keeps a new refresh token's scope identical to the presented one's;
        stock gives it the narrowed scope of the request, and drops it entirely (losing offline
        access, the old token being revoked) when the narrowed scope lacks ``offline_access``."""
        manager = self.endpoint.upstream_get("context").session_manager
        info = manager.get_session_info_by_token(req["refresh_token"], grant=True, handler_key="refresh_token")
        scope = info["grant"].find_scope(info["grant"].get_token(req["refresh_token"]))
        return super().process_request(req, issue_refresh="offline_access" in scope, **kwargs)

    def _mint_token(self, token_class, grant, session_id, client_id, based_on=None, **kwargs):
        if token_class == "refresh_token" and based_on is not None:
            kwargs["scope"] = grant.find_scope(based_on)  # defect 44
        return super()._mint_token(token_class, grant, session_id, client_id, based_on=based_on, **kwargs)
