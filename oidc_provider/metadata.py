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


def signing_alg_problem(alg: str):
    """Why ``alg`` cannot be a client's ``*_signed_response_alg``, or None (empty: the OP's default)."""
    if alg and alg not in oidc_settings.SIGNING_ALGS:
        return f"{alg} is not offered. Offered: {', '.join(oidc_settings.SIGNING_ALGS)}."
    return None


def jwks_problem(jwks):
    """Why ``jwks`` is not a JWK Set of public keys (RFC 7517 §5), or None."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        return 'Not a JWK Set: expected {"keys": [...]} with at least one key.'
    from cryptojwt.key_bundle import KeyBundle

    from oidc_provider.storage.keys import PRIVATE_MEMBERS

    for key in jwks["keys"]:
        if not isinstance(key, dict) or not key.get("kty"):
            return "Every key needs a kty."
        if PRIVATE_MEMBERS & set(key):
            return "A key holds private material: register the public keys only."
        try:
            if not KeyBundle(keys=[dict(key)], ignore_invalid_keys=False).keys():
                return f"Unusable key (kty {key['kty']})."
        except Exception:  # cryptojwt raises many types for a malformed key
            return f"Unusable key (kty {key['kty']})."
    return None


def jwks_uri_problem(uri: str):
    """Why ``uri`` cannot be a client's jwks_uri, or None: https (http only with DEBUG)."""
    from django.conf import settings

    problem = redirect_uri_problem(uri)
    if problem:
        return problem
    if not uri.startswith("https://") and not settings.DEBUG:
        return f"{uri} must be https."
    return None


def client_keys_problem(method: str, jwks, jwks_uri: str):
    """Why a client's key registration does not fit its auth method (RFC 7591 §2), or None."""
    if jwks and jwks_uri:
        return "Give jwks or jwks_uri, not both (RFC 7591 §2)."
    if method == "private_key_jwt" and not (jwks or jwks_uri):
        return "private_key_jwt needs the client's public keys: jwks or jwks_uri."
    return None
