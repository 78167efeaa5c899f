"""Pushed authorization requests (RFC 9126): the PAR endpoint, and the ``request_uri`` it issues
taken back at the authorization endpoint.

idpyoidc 5.0.0's ``oauth2.pushed_authorization.PushedAuthorization`` is not used (defects 150 to 159):
it keeps pushes in a dict of one process (``context.par_db``) forever, under ``urn:uuid:`` names, with
the client's credentials in them, checks a push with fewer rules than an authorization request, and
hands a pushed request to whichever client names it. Here the client authenticates as at the token
endpoint, the pushed parameters pass the authorization endpoint's own ``parse_request`` (every rule of
an authorization request: exact redirect_uri, response type, scope, PKCE, claims), and what is kept
is a ``PushedRequest`` row (``storage/pushed_requests.py``): short-lived, single-use, any worker's.
"""

import json

from idpyoidc.message import Message
from idpyoidc.message.oauth2 import ResponseMessage
from idpyoidc.server.endpoint import Endpoint
from idpyoidc.server.exception import ClientAuthenticationError

from oidc_provider.conf import oidc_settings
from oidc_provider.idpy.request_object import RequestObjectError, merge, verify_request_object
from oidc_provider.protocol import PAR_REQUEST_URI_PREFIX
from oidc_provider.storage import pushed_requests
from oidc_provider.storage.clients import client_row

# The client's credentials (RFC 6749 §2.3.1, RFC 7523 §2.2): they authenticate the push and are never
# part of the request kept (defect 159).
AUTHN_PARAMETERS = ("client_secret", "client_assertion", "client_assertion_type")
REQUEST_OBJECT_REFUSED = "The request parameter is not supported"
REQUEST_URI_REFUSED = "request_uri must not be pushed (RFC 9126 §2.1)"
# RFC 9449 §10.1: a push whose DPoP proof and dpop_jkt name different keys is refused
DPOP_JKT_MISMATCH = "The DPoP proof's key is not the request's dpop_jkt"
CLIENT_ID_MISMATCH = "client_id does not match the authenticated client"
PUSH_REQUIRED = "This client must use pushed authorization requests (RFC 9126 §6)"
PUSH_REQUIRED_BY_OP = "This server requires pushed authorization requests (RFC 9126 §5)"


def refused_parameter(params) -> str | None:
    """A ``request_uri`` is never pushed (RFC 9126 §2.1, defect 155); a ``request`` object may be
    (RFC 9126 §3), but not while request objects are switched off."""
    if "request_uri" in params:
        return REQUEST_URI_REFUSED
    if "request" in params and not oidc_settings.REQUEST_OBJECTS:
        return REQUEST_OBJECT_REFUSED
    return None


class PushedAuthorization(Endpoint):
    """``POST /par``: authenticate the client, check the pushed parameters as an authorization request
    and keep them; 201 with their ``request_uri`` and ``expires_in`` (RFC 9126 §2.2)."""

    request_cls = Message
    response_cls = ResponseMessage
    error_cls = ResponseMessage
    request_format = "urlencoded"
    response_format = "json"
    response_placement = "body"
    endpoint_name = "pushed_authorization_request_endpoint"
    name = "pushed_authorization"
    endpoint_type = "oauth2"
    _supports = {}
    # RFC 9126 §2: an assertion's aud may also be this endpoint's URL (idpy/client_authn.IssuerAudience)
    accepts_own_url_as_audience = True

    def parse_request(self, request, http_info=None, **kwargs):
        """``request``: the push's form parameters. Returns the error, or ``client_id``,
        ``authenticated`` and the ``parameters`` to keep. A failed client authentication raises, as
        at the token endpoint (``views.base.EndpointView`` answers 401)."""
        refused = refused_parameter(request)
        if refused:
            return self.error_cls(error="invalid_request", error_description=refused)
        auth_info = self.client_authentication(self.request_cls(**request), http_info or {}, endpoint=self)
        client_id = auth_info.get("client_id")
        if not client_id:  # nothing usable: neither a credential nor a client_id
            raise ClientAuthenticationError("No client authentication")
        if request.get("client_id", client_id) != client_id:
            return self.error_cls(error="invalid_request", error_description=CLIENT_ID_MISMATCH)
        parameters = {k: v for k, v in request.items() if k not in AUTHN_PARAMETERS}
        parameters["client_id"] = client_id
        if "request" in parameters:  # RFC 9126 §3: verified (its jti spent) once, here; its parameters kept
            bound = parameters.get("dpop_jkt")  # the key of this push's DPoP proof (RFC 9449 §10.1)
            try:
                parameters = merge(parameters, verify_request_object(parameters["request"], client_id))
            except RequestObjectError as err:
                return self.error_cls(error=err.error, error_description=err.description)
            if bound is not None:  # outside the object, yet not to be lost with the rest of the form
                if parameters.get("dpop_jkt", bound) != bound:
                    return self.error_cls(error="invalid_dpop_proof", error_description=DPOP_JKT_MISMATCH)
                parameters["dpop_jkt"] = bound
        # Defect 154: the rules of the authorization endpoint, PKCE included, at push time; without the
        # client's credentials and headers, as a browser would bring the request.
        authorization = self.upstream_get("endpoint", "authorization")
        parsed = authorization.parse_request(dict(parameters), http_info={"headers": {}, "cookie": []})
        if "error" in parsed:
            return self.error_cls(error=parsed["error"], error_description=parsed.get("error_description", ""))
        return {
            "client_id": client_id,
            "authenticated": auth_info.get("method") not in ("public", "none"),
            "parameters": parameters,
        }

    def process_request(self, request=None, **kwargs):
        lifetime = oidc_settings.PAR_LIFETIME
        request_uri = pushed_requests.store(request["client_id"], request["parameters"], lifetime)
        return {"response_args": {"request_uri": request_uri, "expires_in": lifetime}}

    def do_response(self, response_args=None, request=None, **kwargs):
        """Defect 157: 201 Created (RFC 9126 §2.2), not 200. ``views.responses.create_response`` adds
        ``no-store``."""
        return {
            "response": json.dumps(response_args),
            "http_headers": [("Content-type", "application/json")],
            "response_code": 201,
        }


class PushedRequestRefused(Exception):
    """A front-channel ``request_uri`` of this server that gives no request: ``reason`` is
    ``no_client_id``, ``repeated``, ``malformed`` or ``storage.pushed_requests.Unredeemable``'s (``unknown``, ``used``,
    ``expired``)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def is_pushed_request_uri(value) -> bool:
    return isinstance(value, str) and value.startswith(PAR_REQUEST_URI_PREFIX)


def front_channel_parameters(params) -> dict | None:
    """RFC 9126 §4: for ``/authorize?client_id=…&request_uri=urn:ietf:params:oauth:request_uri:…``,
    the parameters pushed under that request_uri, which is used up; every other query parameter is
    ignored. None when the request names no request_uri of this server's (also when PAR is off).
    Raises ``PushedRequestRefused``."""
    if not oidc_settings.PAR_ENABLED or not is_pushed_request_uri(params.get("request_uri")):
        return None
    if len(params.getlist("request_uri")) > 1 or len(params.getlist("client_id")) > 1:
        raise PushedRequestRefused("repeated")
    client_id = params.get("client_id")
    if not client_id:
        raise PushedRequestRefused("no_client_id")
    if "\x00" in client_id:  # no database compares it (PostgreSQL raises)
        raise PushedRequestRefused("malformed")
    try:
        return pushed_requests.redeem(params["request_uri"], client_id)
    except pushed_requests.Unredeemable as err:
        raise PushedRequestRefused(err.reason) from err


def pushed_request_required(client_id) -> str | None:
    """Why an authorization request of ``client_id`` that was not pushed is refused (RFC 9126 §5, §6),
    or None."""
    if oidc_settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS:
        return PUSH_REQUIRED_BY_OP
    client = client_row(client_id)
    if client is not None and client.require_pushed_authorization_requests:
        return PUSH_REQUIRED
    return None
