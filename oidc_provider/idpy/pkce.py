"""PKCE (RFC 7636) with the checks idpyoidc 5.0.0 leaves out."""

import re

from idpyoidc.message.oidc import TokenErrorResponse
from idpyoidc.server.oauth2.add_on import pkce
from idpyoidc.server.token.exception import UnknownToken

VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")  # RFC 7636 §4.1


def check_code_verifier(request, client_id, context, **kwargs):
    """Defect 23: refuse a ``code_verifier`` without a prior ``code_challenge`` (PKCE downgrade,
    RFC 9700 §4.8.2) and a verifier of the wrong syntax or length."""
    if request.get("grant_type") != "authorization_code" or "code" not in request:
        return request
    try:
        info = context.session_manager.get_session_info_by_token(
            request["code"], grant=True, handler_key="authorization_code"
        )
    except (KeyError, ValueError, UnknownToken):
        return TokenErrorResponse(error="invalid_grant", error_description="Unknown code")
    challenged = "code_challenge" in info["grant"].authorization_request
    verifier = request.get("code_verifier")
    if verifier is not None and not challenged:
        return TokenErrorResponse(error="invalid_grant", error_description="code_verifier without code_challenge")
    if verifier is not None and not VERIFIER.match(verifier):
        return TokenErrorResponse(error="invalid_grant", error_description="Malformed code_verifier")
    return request


def add_support(endpoint, **kwargs):
    """idpyoidc's PKCE add-on plus ``check_code_verifier`` at the token endpoint."""
    pkce.add_support(endpoint, **kwargs)
    if "token" in endpoint:
        endpoint["token"].post_parse_request.append(check_code_verifier)
