"""The pushed authorization request endpoint (RFC 9126 §2): the client authenticates as at the token
endpoint, with the same body limit, failure limits and ``no-store``; its pushes are counted against
``PAR_RATE_LIMIT``."""

from django.http import Http404

from oidc_provider.conf import oidc_settings
from oidc_provider.idpy import dpop
from oidc_provider.idpy.pushed_authorization import DPOP_JKT_MISMATCH
from oidc_provider.storage.unit_of_work import GRANTS
from oidc_provider.views.base import EndpointView
from oidc_provider.views.dpop import invalid_proof, pushed_request_proof
from oidc_provider.views.request import has_nul
from oidc_provider.views.responses import oauth_error


class PushedAuthorizationView(EndpointView):
    endpoint_name = "pushed_authorization"
    http_method_names = ["post"]
    # its writes (a client assertion's or request object's jti, then the pushed request's row) each stand
    # alone, and no transaction is open while a client's jwks_uri is fetched (outbound refuses that)
    transaction_policy = GRANTS
    authenticates_client = True
    rate_limit = "PAR_RATE_LIMIT"

    def handle(self, request, params):
        if not oidc_settings.PAR_ENABLED:
            raise Http404
        if has_nul(params):  # no database stores it; the authorization endpoint refuses it too
            return oauth_error("invalid_request", "Malformed request")
        try:  # RFC 9449 §10.1: a proof at the push binds the code as dpop_jkt does
            proof = pushed_request_proof(request)
        except dpop.InvalidProof as err:
            return invalid_proof(err)
        if proof is not None:
            if params.getlist("dpop_jkt") not in ([], [proof.jkt]):
                return oauth_error("invalid_dpop_proof", DPOP_JKT_MISMATCH)
            params = params.copy()
            params.setlist("dpop_jkt", [proof.jkt])
        client_ids = params.getlist("client_id")
        if len(client_ids) > 1 and len(set(client_ids)) == 1:
            # the authorization request's client_id and client_secret_post's (RFC 6749 §2.3.1), as
            # clients (authlib) send both: one value, not ambiguous; different values stay refused
            params = params.copy()
            params.setlist("client_id", client_ids[:1])
        return super().handle(request, params)
