"""The generic protocol view: a Django request -> idpyoidc ``parse_request`` -> ``process_request`` ->
``do_response`` -> an ``HttpResponse``: the one way every protocol request goes. Each endpoint family
subclasses it in a module of its own."""

import logging

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from idpyoidc.server.exception import ClientAuthenticationError, InvalidClient, UnAuthorizedClient, UnknownClient

from oidc_provider import throttling
from oidc_provider.conf import oidc_settings
from oidc_provider.server import get_server
from oidc_provider.storage.unit_of_work import WRITES, unit_of_work
from oidc_provider.views.request import ProtocolView, http_info, repeated_parameter
from oidc_provider.views.responses import (
    body_too_large,
    create_response,
    invalid_client,
    is_error,
    oauth_error,
    too_many_requests,
)

logger = logging.getLogger(__name__)

CLIENT_AUTH_ERRORS = (ClientAuthenticationError, InvalidClient, UnAuthorizedClient, UnknownClient)


class EndpointView(ProtocolView):
    """A protocol endpoint. Subclasses set ``endpoint_name`` and the HTTP methods they accept."""

    endpoint_name = None
    http_method_names = ["get", "post"]
    transaction_policy = WRITES  # how its unit of work holds the database (storage.unit_of_work)
    no_store = True
    multi_valued = ()  # parameters that may repeat; idpyoidc gets them as lists
    authenticates_client = False  # failed client authentications here count against the failure limits
    rate_limit = None  # the setting with this endpoint's per-client request limit

    def dispatch(self, request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return oauth_error("invalid_request", "Invalid Content-Length")
        if length > oidc_settings.MAX_REQUEST_BODY:
            return body_too_large()
        try:
            return super().dispatch(request, *args, **kwargs)
        except RequestDataTooBig:  # DATA_UPLOAD_MAX_MEMORY_SIZE, below MAX_REQUEST_BODY
            return body_too_large()
        except TooManyFieldsSent:  # DATA_UPLOAD_MAX_NUMBER_FIELDS
            return oauth_error("invalid_request", "Too many parameters", status=413)

    def get(self, request, *args, **kwargs):
        return self.handle(request, request.GET)

    def post(self, request, *args, **kwargs):
        return self.handle(request, request.POST)

    @property
    def endpoint(self):
        return get_server().get_endpoint(self.endpoint_name)

    def request_arg(self, params):
        return {**params.dict(), **{key: params.getlist(key) for key in self.multi_valued if key in params}}

    def error_response(self, error: dict):
        return oauth_error(error.get("error", "invalid_request"), error.get("error_description", ""))

    def handle(self, request, params):
        repeated = repeated_parameter(params, self.multi_valued)
        if repeated:
            return self.error_response(
                {"error": "invalid_request", "error_description": f"Repeated parameter: {repeated}"}
            )
        endpoint = self.endpoint
        info = self.http_info(request)
        with unit_of_work(self.transaction_policy):
            try:
                parsed = endpoint.parse_request(self.request_arg(params), http_info=info)
            except CLIENT_AUTH_ERRORS as err:
                logger.info("client authentication failed at %s: %s", self.endpoint_name, type(err).__name__)
                return self.failure_limited(request, params) or self.client_auth_failed()
            except Exception as err:  # hostile input reaches idpyoidc's parsers first
                logger.info("unparseable request at %s: %s", self.endpoint_name, type(err).__name__)
                return self.error_response({"error": "invalid_request", "error_description": "Malformed request"})
            if is_error(parsed) and parsed.get("error") == "invalid_client":
                return self.failure_limited(request, params) or self.error_response(parsed)
            throttled = self.request_limited(request, params, parsed)
            if throttled:
                return throttled
            if is_error(parsed):
                return self.error_response(parsed)
            result = endpoint.process_request(parsed, http_info=info)
            if is_error(result):
                return self.error_response(result)
            return create_response(endpoint.do_response(request=parsed, **result), no_store=self.no_store)

    def http_info(self, request) -> dict:
        return http_info(request)

    def failure_limited(self, request, params):
        """Count a failed client authentication against its client at its address and against the
        address; past either limit, the 429 to answer instead of the failure. Only failures are
        judged: a request that authenticates is never refused for failures, its own or others'."""
        if not self.authenticates_client:
            return None
        address = throttling.client_address(request)
        client = throttling.pair(throttling.claimed_client_id(request, params), address)
        wait = throttling.spend(
            ("authn-failure", client, oidc_settings.CLIENT_AUTHN_FAILURE_LIMIT),
            ("authn-failure-address", address, oidc_settings.CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT),
        )
        if not wait:
            return None
        logger.warning("failed client authentications over the limit at %s", self.endpoint_name)
        return too_many_requests(wait)

    def request_limited(self, request, params, parsed):
        """Count a request that passed client authentication against ``rate_limit``: per client when
        the client proved who it is; per client and address when it did not (a public client, which
        anyone can name) or when the request was refused (idpyoidc's error does not say whether the
        client authenticated). Past the limit, the 429 to answer."""
        limit = getattr(oidc_settings, self.rate_limit) if self.rate_limit else None
        if not limit:
            return None
        if not is_error(parsed) and parsed.get("authenticated"):
            subject = parsed["client_id"]
        else:
            client_id = throttling.claimed_client_id(request, params) if is_error(parsed) else parsed.get("client_id")
            subject = throttling.pair(client_id, throttling.client_address(request))
        wait = throttling.spend((self.endpoint_name, subject, limit))
        if not wait:
            return None
        logger.warning("rate limit reached at %s", self.endpoint_name)
        return too_many_requests(wait)

    def client_auth_failed(self):
        return invalid_client()
