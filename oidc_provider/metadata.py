"""Rules for client metadata (RFC 7591 names), shared by the admin form, createclient and registration."""

from urllib.parse import urlsplit

from oidc_provider.conf import oidc_settings

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE]
RESPONSE_TYPES = ["code"]
# Grants that need a client able to authenticate (RFC 6749 §4.4; token exchange is not for public clients).
CONFIDENTIAL_GRANT_TYPES = ["client_credentials", TOKEN_EXCHANGE]
ACCESS_TOKEN_FORMATS = ["opaque", "jwt"]

# RFC 8693 §3 token type identifiers, by the short names policies use.
TOKEN_TYPE_URNS = {
    "access_token": "urn:ietf:params:oauth:token-type:access_token",
    "refresh_token": "urn:ietf:params:oauth:token-type:refresh_token",
}
EXCHANGE_POLICY_KEYS = {"subject_token_types", "requested_token_types", "audiences", "scopes"}


def redirect_uri_problem(uri: str):
    """Why ``uri`` is not an absolute http(s) URI without fragment (RFC 6749 §3.1.2), or None."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in uri):
        return f"{uri} is not an absolute http(s) URI."
    if "#" in uri:
        return f"{uri} must not contain a fragment."
    return None


def scope_problem(scopes: list):
    """Why ``scopes`` is not an allowed-scope list for a client, or None."""
    known = list(oidc_settings.SCOPES_TO_CLAIMS)
    unknown = [s for s in scopes if s not in known]
    if unknown:
        return f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(known)}."
    if scopes and "openid" not in scopes:
        return "The scope must include openid."
    return None


def grant_types_problem(grant_types: list, redirect_uris: list, is_public: bool):
    """Why this combination of grant types, redirect URIs and client type cannot work, or None."""
    if not grant_types:
        return "At least one grant type is required."
    unknown = [g for g in grant_types if g not in GRANT_TYPES]
    if unknown:
        return f"Unknown grant type(s): {', '.join(unknown)}."
    confidential_only = [g for g in grant_types if g in CONFIDENTIAL_GRANT_TYPES]
    if is_public and confidential_only:
        return f"A public client cannot use {', '.join(confidential_only)}: it has no credentials."
    if "authorization_code" in grant_types and not redirect_uris:
        return "authorization_code needs at least one redirect URI."
    if "refresh_token" in grant_types and not {"authorization_code", TOKEN_EXCHANGE} & set(grant_types):
        return "refresh_token needs authorization_code or token exchange: refresh tokens come from those."
    return None


def token_exchange_problem(policy):
    """Why ``policy`` is not a token-exchange policy (see docs/token-exchange.md), or None."""
    if not isinstance(policy, dict):
        return "The policy must be a JSON object."
    unknown = set(policy) - EXCHANGE_POLICY_KEYS
    if unknown:
        return f"Unknown key(s): {', '.join(sorted(unknown))}. Known: {', '.join(sorted(EXCHANGE_POLICY_KEYS))}."
    for key in ("subject_token_types", "requested_token_types"):
        types = policy.get(key)
        if not isinstance(types, list) or not types or not set(types) <= set(TOKEN_TYPE_URNS):
            return f"{key} must be a non-empty list of {' and/or '.join(TOKEN_TYPE_URNS)}."
    for key in ("audiences", "scopes"):
        values = policy.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            return f"{key} must be a list of non-empty strings."
    unknown_scopes = set(policy.get("scopes", [])) - set(oidc_settings.SCOPES_TO_CLAIMS)
    if unknown_scopes:
        return f"Unknown scope(s) in scopes: {', '.join(sorted(unknown_scopes))}."
    return None
