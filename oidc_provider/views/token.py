"""The token endpoint family: token (OIDC Core §3.1.3, RFC 6749 §3.2), introspection (RFC 7662) and
revocation (RFC 7009). Each authenticates the client and counts its failures."""

from oidc_provider.idpy import dpop
from oidc_provider.storage.unit_of_work import READ_ONLY, SPENDS
from oidc_provider.views.base import EndpointView
from oidc_provider.views.dpop import invalid_proof, token_request_proof


class TokenView(EndpointView):
    endpoint_name = "token"
    http_method_names = ["post"]
    transaction_policy = SPENDS  # codes and refresh tokens are single-use
    authenticates_client = True
    rate_limit = "TOKEN_RATE_LIMIT"
    multi_valued = ("audience", "resource")  # RFC 8693 §2.1, RFC 8707 §2

    def handle(self, request, params):
        """RFC 9449 §5: a DPoP proof, when sent, is checked first; its key binds what is minted."""
        try:
            proof = token_request_proof(request)
        except dpop.InvalidProof as err:
            return invalid_proof(err)
        with dpop.presented(proof):
            return super().handle(request, params)


class IntrospectionView(EndpointView):
    """RFC 7662."""

    endpoint_name = "introspection"
    http_method_names = ["post"]
    transaction_policy = READ_ONLY
    authenticates_client = True
    rate_limit = "INTROSPECTION_RATE_LIMIT"


class RevocationView(EndpointView):
    """RFC 7009."""

    endpoint_name = "token_revocation"
    http_method_names = ["post"]
    transaction_policy = SPENDS  # revoking changes grant rows: locked, as the token endpoint locks them
    authenticates_client = True
