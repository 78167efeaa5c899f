"""Which response types the OP serves, and what each one needs (docs/hybrid-and-implicit.md).

A response type is a space-separated set (OAuth 2.0 Multiple Response Type Encoding Practices §3:
the order of its values does not matter); here each is compared in one canonical spelling, that of
``protocol.ALL_RESPONSE_TYPES``."""

from oidc_provider.conf import oidc_settings
from oidc_provider.protocol import ALL_RESPONSE_TYPES, IMPLICIT

CANONICAL = {frozenset(rt.split()): rt for rt in ALL_RESPONSE_TYPES}
CODE = "code"


def canonical(response_type) -> str | None:
    """``response_type`` (a string or a list of its values) in its canonical spelling, or None if
    it is none the OP knows (a repeated value, ``none``, anything else)."""
    values = response_type.split() if isinstance(response_type, str) else list(response_type or [])
    if len(set(values)) != len(values):
        return None
    return CANONICAL.get(frozenset(values))


def enabled() -> list:
    """The response types of the ``RESPONSE_TYPES`` setting, canonical, in ``ALL_RESPONSE_TYPES`` order."""
    chosen = {canonical(rt) for rt in oidc_settings.RESPONSE_TYPES}
    return [rt for rt in ALL_RESPONSE_TYPES if rt in chosen]


def implicit_enabled() -> bool:
    """Is a response type enabled that needs the ``implicit`` grant type (one returning a token)?"""
    return any(IMPLICIT in grant_types_for(rt) for rt in enabled())


def front_channel(response_type: str) -> bool:
    """Does ``response_type`` return a token (ID token or access token) from the authorization endpoint?"""
    return response_type != CODE


def grant_types_for(response_type: str) -> set:
    """The grant types a client using ``response_type`` must register (OIDC Registration §2 table):
    ``authorization_code`` for a code, ``implicit`` for tokens from the authorization endpoint."""
    values = set(response_type.split())
    return ({"authorization_code"} if CODE in values else set()) | ({IMPLICIT} if values - {CODE} else set())


def default_response_mode(response_type) -> str:
    """OAuth 2.0 Multiple Response Type Encoding Practices §2.1, §3: ``query`` for ``code`` alone,
    ``fragment`` for every type that returns a token from the authorization endpoint."""
    rt = canonical(response_type)
    return "fragment" if rt is not None and front_channel(rt) else "query"


def response_types_problem(response_types: list, grant_types: list) -> str | None:
    """Why a client's ``response_types`` cannot be registered with its ``grant_types``, or None: each
    must be enabled at this OP, and a type returning tokens from the authorization endpoint needs the
    grant types of OIDC Registration §2 (``implicit``, and ``authorization_code`` with a code);
    ``implicit`` without such a type is refused. (``code`` alone keeps the older rule of each caller:
    a client of other grants only may carry it unused.)"""
    if not response_types:
        return "At least one response type is required."
    if len(set(map(canonical, response_types))) != len(response_types):
        return "A response type is listed twice."
    allowed = enabled()
    spelled = [canonical(rt) for rt in response_types]
    unknown = [str(rt) for rt, c in zip(response_types, spelled, strict=True) if c is None or c not in allowed]
    if unknown:
        return f"Not enabled at this provider: {', '.join(unknown)}. Enabled: {', '.join(allowed)}."
    needed = set().union(*(grant_types_for(rt) for rt in spelled if front_channel(rt)))
    missing = sorted(needed - set(grant_types))
    if missing:
        return f"These response types need the grant type(s) {', '.join(missing)} (OIDC Registration §2)."
    if IMPLICIT in grant_types and IMPLICIT not in needed:
        return "The implicit grant type needs a response type that returns a token from the authorization endpoint."
    return None
