"""Rules for client metadata (RFC 7591 names), shared by the admin form, createclient and registration."""

from urllib.parse import urlsplit

from oidc_provider.conf import oidc_settings

GRANT_TYPES = ["authorization_code", "refresh_token"]
RESPONSE_TYPES = ["code"]


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
