"""One generic view: a Django request -> idpyoidc ``parse_request`` -> ``process_request`` ->
``do_response`` -> an ``HttpResponse``: the one way every protocol request goes."""

import logging

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from idpyoidc.message import Message
from idpyoidc.server.exception import ClientAuthenticationError, InvalidClient, UnAuthorizedClient, UnknownClient

from oidc_provider import throttling
from oidc_provider.conf import oidc_settings
from oidc_provider.server import get_server
from oidc_provider.storage.unit_of_work import unit_of_work

logger = logging.getLogger(__name__)

CLIENT_AUTH_ERRORS = (ClientAuthenticationError, InvalidClient, UnAuthorizedClient, UnknownClient)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def http_info(request) -> dict:
    """What idpyoidc reads of the HTTP request: the headers (client authentication reads
    ``authorization``) and the method. Not the URL: only its DPoP add-on reads that, and it is not
    configured."""
    return {
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "method": request.method,
        # no cookies: the OP's session is Django's, and idpyoidc would log them
        "cookie": [],
    }


def repeated_parameter(params, multi_valued=()):
    """RFC 6749 §3.1/§3.2: request parameters MUST NOT be included more than once (except those an
    extension defines as repeatable)."""
    for key, values in params.lists():
        if len(values) > 1 and key not in multi_valued:
            return key
    return None


def has_nul(params) -> bool:
    """A NUL character in any parameter: no database stores it (PostgreSQL raises), so such a request
    is refused before anything reads it."""
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in params.lists())


def is_error(result) -> bool:
    return isinstance(result, (Message, dict)) and "error" in result


def oauth_error(error, description="", status=400, headers=None):
    """A JSON OAuth error (RFC 6749 §5.2) that is never cached."""
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = JsonResponse(body, status=status)
    for key, value in {**NO_STORE, **(headers or {})}.items():
        response[key] = value
    return response


def invalid_client(description="Client authentication failed"):
    return oauth_error(
        "invalid_client", description, status=401, headers={"WWW-Authenticate": f'Basic realm="{oidc_settings.ISSUER}"'}
    )


def too_many_requests(retry_after):
    """RFC 6585 §4 with ``Retry-After``. The body is ``temporarily_unavailable`` (RFC 6749
    §4.1.2.1: the server cannot handle the request now), which generic clients treat as
    retryable; ``slow_down`` belongs to RFC 8628's device-code polling and clients outside it
    do not know it."""
    return oauth_error(
        "temporarily_unavailable", "Too many requests; retry later", status=429, headers={"Retry-After": str(retry_after)}
    )


def body_too_large():
    """RFC 9110 §15.5.14, as a JSON OAuth error: bad input gets a spec-shaped answer, never a 5xx."""
    return oauth_error("invalid_request", "Request body too large", status=413)


def bearer_challenge(description=None, error="invalid_token", status=401):
    """RFC 6750 §3: a 401 for a missing bearer token (bare challenge, no body) or, with a
    ``description``, an ``error`` (``invalid_token`` 401, ``insufficient_scope`` 403)."""
    challenge = f'Bearer realm="{oidc_settings.ISSUER}"'
    if description is None:
        response = HttpResponse(status=401)
        for key, value in NO_STORE.items():
            response[key] = value
    else:
        challenge += f', error="{error}", error_description="{description}"'
        response = oauth_error(error, description, status=status)
    response["WWW-Authenticate"] = challenge
    return response


def create_response(result: dict, status=200, no_store=True) -> HttpResponse:
    """Turn idpyoidc's ``do_response`` output into an ``HttpResponse``."""
    headers = dict(result.get("http_headers") or [])
    content_type = headers.pop("Content-type", None) or headers.pop("Content-Type", "application/json")
    response = HttpResponse(result["response"], status=result.get("response_code", status), content_type=content_type)
    for key, value in headers.items():
        response[key] = value
    if no_store:
        for key, value in NO_STORE.items():
            response[key] = value
    return response


@method_decorator(csrf_exempt, name="dispatch")
class EndpointView(View):
    """A protocol endpoint. Subclasses set ``endpoint_name`` and the HTTP methods they accept."""

    endpoint_name = None
    http_method_names = ["get", "post"]
    lock = False  # lock grant rows: this endpoint spends single-use things
    read_only = False  # this endpoint never writes the session tree: no transaction, no flush
    lazy = False  # open the transaction only when needed (storage.unit_of_work)
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
            return self.error_response({"error": "invalid_request", "error_description": f"Repeated parameter: {repeated}"})
        endpoint = self.endpoint
        info = http_info(request)
        with unit_of_work(lock=self.lock, read_only=self.read_only, lazy=self.lazy):
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

    def failure_limited(self, request, params):
        """Count a failed client authentication against its client at its address and against the
        address; past either limit, the 429 to answer instead of the failure. Only failures are
        judged: a request that authenticates is never refused for failures, its own or others'."""
        if not self.authenticates_client:
            return None
        address = throttling.client_address(request)
        client = throttling.pair(throttling.claimed_client_id(request, params), address)
        wait = throttling.spend(("authn-failure", client, oidc_settings.CLIENT_AUTHN_FAILURE_LIMIT),
                                ("authn-failure-address", address, oidc_settings.CLIENT_AUTHN_FAILURE_ADDRESS_LIMIT))
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


class TokenView(EndpointView):
    endpoint_name = "token"
    http_method_names = ["post"]
    lock = True
    lazy = True
    authenticates_client = True
    rate_limit = "TOKEN_RATE_LIMIT"
    multi_valued = ("audience", "resource")  # RFC 8693 §2.1, RFC 8707 §2


class IntrospectionView(EndpointView):
    """RFC 7662."""

    endpoint_name = "introspection"
    http_method_names = ["post"]
    read_only = True
    authenticates_client = True
    rate_limit = "INTROSPECTION_RATE_LIMIT"


class RevocationView(EndpointView):
    """RFC 7009."""

    endpoint_name = "token_revocation"
    http_method_names = ["post"]
    lock = True
    lazy = True  # client authentication may fetch a jwks_uri, which is never done inside a transaction
    authenticates_client = True


class UserInfoView(EndpointView):
    """OIDC Core §5.3 with RFC 6750 errors (defects 20, 21)."""

    endpoint_name = "userinfo"
    read_only = True

    # RFC 6750 §3.1: these errors come with a Bearer challenge
    CHALLENGE_STATUS = {"invalid_token": 401, "insufficient_scope": 403}

    def error_response(self, error: dict):
        code = error.get("error", "invalid_token")
        if code not in self.CHALLENGE_STATUS:
            return oauth_error(code, error.get("error_description", ""))
        return bearer_challenge(error.get("error_description") or "Invalid token", code, self.CHALLENGE_STATUS[code])

    def handle(self, request, params):
        if not (request.headers.get("Authorization") or "access_token" in params):
            return bearer_challenge()  # RFC 6750 §3.1: no token, no error details
        return super().handle(request, params)

    def client_auth_failed(self):
        return self.error_response({"error": "invalid_token", "error_description": "Invalid token"})


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
