"""Discovery: the provider configuration document (OIDC Discovery 1.0 §4) and the OP's public keys
(RFC 7517), both cacheable and served without a transaction."""

from django.http import HttpResponse
from django.views import View

from oidc_provider.conf import oidc_settings
from oidc_provider.server import get_server
from oidc_provider.views.base import EndpointView
from oidc_provider.views.request import http_info
from oidc_provider.views.responses import create_response


class ProviderConfigurationView(EndpointView):
    endpoint_name = "provider_config"
    http_method_names = ["get"]
    no_store = False

    def get(self, request, *args, **kwargs):
        """Discovery takes no parameters (any are ignored) and changes only with the settings, which
        rebuild the server: the document is built once per server, then served with no transaction."""
        server = get_server()
        document = getattr(server, "oidc_provider_discovery", None)
        if document is None:
            endpoint = server.get_endpoint(self.endpoint_name)
            parsed = endpoint.parse_request({}, http_info=http_info(request))
            document = endpoint.do_response(request=parsed, **endpoint.process_request(parsed))
            server.oidc_provider_discovery = document
        return create_response(document, no_store=False)


class JWKSView(View):
    """The OP's public keys: current, next and retired, never a private member (RFC 7517 §5).

    Served from the worker's key set (no query); cacheable for JWKS_MAX_AGE, which rotation
    respects (a next key is published that long before it signs), with an ETag for revalidation.
    """

    def get(self, request):
        published = get_server().keyjar.published
        headers = {"Cache-Control": f"public, max-age={oidc_settings.JWKS_MAX_AGE}", "ETag": published.etag}
        if etag_matches(request.headers.get("If-None-Match", ""), published.etag):
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(published.body, content_type="application/json")
        for key, value in headers.items():
            response[key] = value
        return response


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison against a list of entity tags, or ``*``."""
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in (t.removeprefix("W/") for t in tags)
