"""Dynamic client registration (RFC 7591) behind ``REGISTRATION_POLICY``, and client configuration
(RFC 7592) with the registration access token."""

import json

from django.db import transaction
from django.db.models import F
from django.http.request import RawPostDataException

from oidc_provider import throttling
from oidc_provider.conf import oidc_settings
from oidc_provider.metadata import INVALID, MetadataError, clean_registration, sector_document_problem
from oidc_provider.models import InitialAccessToken
from oidc_provider.views.base import EndpointView
from oidc_provider.views.responses import bearer_challenge, oauth_error, too_many_requests


def sector_problem(body) -> str | None:
    """Why the sector document of this registration does not list its redirect URIs (OpenID Connect
    Registration 1.0 §5), or None (also for a body the endpoint refuses on its own). It is fetched
    here, before the registration's transaction: ``outbound`` sends nothing inside one."""
    try:
        metadata = clean_registration(json.loads(body))
    except (ValueError, TypeError, RecursionError, MetadataError):  # hostile JSON nests deep
        return None
    uri = metadata.get("sector_identifier_uri")
    return sector_document_problem(uri, metadata["redirect_uris"]) if uri else None


def _may_register(request, policy) -> bool:
    """Whether the initial access token (if the policy wants one) is usable now: nothing is fetched
    for a request that will be refused anyway."""
    if policy != "initial_access_token":
        return True
    header = request.headers.get("Authorization", "")
    return header.startswith("Bearer ") and InitialAccessToken.usable(header[7:].strip()).exists()


class RegistrationView(EndpointView):
    """POST client metadata as JSON; 201 with the client's id, secret and registration access token."""

    endpoint_name = "registration"
    http_method_names = ["post"]

    def request_arg(self, params):
        return self.request.body

    def handle(self, request, params):
        policy = oidc_settings.REGISTRATION_POLICY
        if policy == "none":
            return oauth_error(
                "access_denied", "This provider does not accept dynamic client registration.", status=403
            )
        wait = throttling.spend(
            ("registration", throttling.client_address(request), oidc_settings.REGISTRATION_RATE_LIMIT)
        )
        if wait:  # every attempt counts, refused ones too: guessed initial access tokens included
            return too_many_requests(wait)
        if _may_register(request, policy):
            try:
                body = request.body
            except RawPostDataException:  # a form body, read as such: refused by the endpoint
                body = b""
            problem = sector_problem(body)
            if problem:
                return oauth_error(INVALID, problem)
        with transaction.atomic():
            token = None
            if policy == "initial_access_token":
                header = request.headers.get("Authorization", "")
                if not header.startswith("Bearer "):
                    return bearer_challenge()  # RFC 7591 §3: the initial access token is a bearer token
                token = InitialAccessToken.usable(header[7:].strip()).select_for_update().first()
                if token is None:
                    return bearer_challenge("The initial access token is unknown, expired or used up")
            response = super().handle(request, params)
            if token is not None and response.status_code == 201:
                InitialAccessToken.objects.filter(pk=token.pk).update(uses_left=F("uses_left") - 1)
        return response


class ClientConfigurationView(EndpointView):
    """RFC 7592: GET reads the client's configuration. idpyoidc 5.0.0 has no update or delete."""

    endpoint_name = "registration_read"
    http_method_names = ["get", "put", "delete"]

    def put(self, request, *args, **kwargs):
        return oauth_error("invalid_request", "Updating a registered client (RFC 7592 §2.2) is not supported.")

    def delete(self, request, *args, **kwargs):
        # RFC 7592 §2.3: a server that does not support deletion answers 405
        response = oauth_error(
            "invalid_request", "Deleting a registered client (RFC 7592 §2.3) is not supported.", status=405
        )
        response["Allow"] = "GET"
        return response

    def handle(self, request, params):
        if not request.headers.get("Authorization"):
            return bearer_challenge()  # RFC 6750 §3.1: no token, no error details
        return super().handle(request, params)

    def client_auth_failed(self):
        return bearer_challenge("Unknown registration access token or client_id")  # RFC 7592 §2.1
