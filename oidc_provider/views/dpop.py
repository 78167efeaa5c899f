"""DPoP (RFC 9449) at the HTTP edge: the proof of a token or userinfo request checked before idpyoidc
sees the request (``idpy.dpop``), and the errors and challenges of RFC 9449 §5 and §7.1."""

from oidc_provider import protocol
from oidc_provider.conf import oidc_settings
from oidc_provider.idpy import dpop
from oidc_provider.views.responses import oauth_error

HEADER = "HTTP_DPOP"  # the DPoP header, as WSGI names it (read from META: request.headers builds every header)


def token_request_proof(request):
    """The checked proof of a token request (None without a DPoP header, or with DPoP switched off:
    RFC 9449 §5, a server that does not do DPoP ignores the header). Raises ``dpop.InvalidProof``.
    Defect 183: stock never registers its token-endpoint check, and takes a repeated header."""
    raw = request.META.get(HEADER)
    if raw is None or not dpop.enabled():
        return None
    return dpop.check_proof(raw, request.method, protocol.PATHS["token"])


def pushed_request_proof(request):
    """The checked proof of a pushed authorization request (RFC 9449 §10.1), None as for a token request.
    Raises ``dpop.InvalidProof``."""
    raw = request.META.get(HEADER)
    if raw is None or not dpop.enabled():
        return None
    return dpop.check_proof(raw, request.method, protocol.PATHS["pushed_authorization"])


def resource_request_proof(request, access_token: str):
    """The checked proof of a protected-resource request presenting ``access_token`` with the DPoP
    scheme (RFC 9449 §7): its ``ath`` must hash that token. Raises ``dpop.InvalidProof``."""
    return dpop.check_proof(request.META.get(HEADER), request.method, protocol.PATHS["userinfo"], access_token)


def invalid_proof(err):
    """RFC 9449 §5: a refused proof at the token endpoint."""
    return oauth_error("invalid_dpop_proof", str(err))


def dpop_challenge(error="invalid_token", description="Invalid token", status=401):
    """RFC 9449 §7.1: a resource's ``DPoP`` challenge, with the algorithms it accepts."""
    algs = " ".join(oidc_settings.DPOP_SIGNING_ALGS)
    response = oauth_error(error, description, status=status)
    response["WWW-Authenticate"] = f'DPoP algs="{algs}", error="{error}", error_description="{description}"'
    return response
