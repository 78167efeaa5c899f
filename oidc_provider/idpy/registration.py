"""Dynamic client registration (RFC 7591) and client configuration read (RFC 7592), with the
5.0.0 defects on their path repaired. Clients are stored as rows by ``save_registered_client``."""

import copy
import json

from idpyoidc.message import OPTIONAL_LIST_OF_STRINGS, SINGLE_OPTIONAL_STRING, oidc
from idpyoidc.message.oidc import SINGLE_OPTIONAL_BOOLEAN
from idpyoidc.server.oidc.read_registration import RegistrationRead as IdpyRegistrationRead
from idpyoidc.server.oidc.registration import Registration as IdpyRegistration
from idpyoidc.server.oidc.registration import comb_uri

from oidc_provider.crypto import generate_client_secret
from oidc_provider.idpy.client_db import save_registered_client
from oidc_provider.metadata import INVALID, MetadataError, clean_registration
from oidc_provider.protocol import SECRET_METHODS

# Names the stock messages lack: RFC 7591 §2 and the final RP-Initiated Logout 1.0 §3.1.
EXTRA_METADATA = {
    "post_logout_redirect_uris": OPTIONAL_LIST_OF_STRINGS,
    "scope": SINGLE_OPTIONAL_STRING,
    "software_id": SINGLE_OPTIONAL_STRING,
    "software_version": SINGLE_OPTIONAL_STRING,
    "require_pushed_authorization_requests": SINGLE_OPTIONAL_BOOLEAN,  # RFC 9126 §6
}


class RegistrationRequest(oidc.RegistrationRequest):
    """Defect 26: ``post_logout_redirect_uris`` (and RFC 7591's ``scope``) were dropped."""

    c_param = {**oidc.RegistrationRequest.c_param, **EXTRA_METADATA}


class RegistrationResponse(oidc.RegistrationResponse):
    c_param = {**oidc.RegistrationResponse.c_param, **EXTRA_METADATA}


class Registration(IdpyRegistration):
    request_cls = RegistrationRequest
    response_cls = RegistrationResponse

    def parse_request(self, request, http_info=None, **kwargs):
        """Validate the JSON body against the metadata this OP honours before idpyoidc sees it (its
        deserialiser would turn a string into a one-element list); idpyoidc gets only that metadata."""
        try:
            metadata = clean_registration(json.loads(request) if isinstance(request, (str, bytes)) else request)
        except MetadataError as err:
            return self.error_cls(error=err.error, error_description=err.description)
        except ValueError:  # not JSON
            return self.error_cls(error=INVALID, error_description="The request body must be a JSON object.")
        return super().parse_request(metadata, http_info=http_info, **kwargs)

    def client_authentication(self, request, http_info=None, **kwargs):
        """Defect 34: registration requests carry no client authentication (RFC 7591 §3), but the
        stock method guesses one from the Authorization header, which holds the initial access token
        (checked by the view), and answers ``invalid_client``."""
        return {}

    def match_claim(self, claim, val):
        """Defect 35: the stock method looks the space-separated ``scope`` up as one value in
        ``scopes_supported``, so a registered scope was always dropped. It was validated already."""
        if claim == "scope":
            return val
        return super().match_claim(claim, val)

    def add_client_secret(self, cinfo, client_id, context):
        """Defect 122: the stock secret is the SHA-224 hex digest of the time, 16 random bytes and the
        client id: 128 bits of randomness in 56 characters, shorter than RFC 7518 §3.2 wants of an
        HS384 or HS512 key (48 and 64 bytes), which ``client_secret_jwt`` clients sign with. Ours is
        ``crypto.generate_client_secret``'s, as the admin and ``createclient`` give."""
        secret = generate_client_secret()
        cinfo["client_secret"] = secret
        expires_at = self.client_secret_expiration_time()
        if expires_at:
            cinfo["client_secret_expires_at"] = expires_at
        return secret

    def process_request(self, request=None, **kwargs):
        """Register through idpyoidc, then store the client as a row in the same transaction.

        Defect 36: stock error codes (``invalid_configuration_request``, ``invalid_request``…) are not
        RFC 7591 §3.2.2's, a public client is given a secret, and ``client_secret_expires_at``
        (REQUIRED with a secret, RFC 7591 §3.2.1) is left out when the secret does not expire.
        Defect 71: a ``private_key_jwt`` client is given a secret too (a second credential, which
        worked wherever a secret does): only ``client_secret_*`` clients get one.
        """
        set_secret = request.get("token_endpoint_auth_method") in SECRET_METHODS
        jwks = copy.deepcopy(request.get("jwks"))  # importing it into the key jar mutates it (drops "use")
        # Defect 132: stock fetches sector_identifier_uri itself, inside the registration's transaction;
        # the view fetched and checked it before (``views.registration.sector_problem``).
        sector_identifier_uri = request.get("sector_identifier_uri", "")
        if sector_identifier_uri:
            del request["sector_identifier_uri"]
        # Defect 142: stock keeps request_uris as [base, fragment] pairs and refuses a query in one;
        # they were checked (metadata.request_uris_problem) and are stored as registered.
        request_objects = {k: request[k] for k in ("request_uris", "request_object_signing_alg") if k in request}
        for name in request_objects:
            del request[name]
        result = super().process_request(request, set_secret=set_secret, **kwargs)
        if "error" in result:
            error = result["error"] if result["error"] == "invalid_redirect_uri" else INVALID
            return self.error_cls(error=error, error_description=result.get("error_description", ""))
        response = result["response_args"]
        cinfo = self.upstream_get("context").cdb[response["client_id"]]
        extra = {"subject_type": request.get("subject_type", "public"), **request_objects}
        response.update(request_objects)
        if request.get("dpop_bound_access_tokens"):
            extra["dpop_bound_access_tokens"] = response["dpop_bound_access_tokens"] = True
        if sector_identifier_uri:
            extra["sector_identifier_uri"] = response["sector_identifier_uri"] = sector_identifier_uri
        save_registered_client({**cinfo, **extra, "jwks": jwks} if jwks else {**cinfo, **extra})
        if "client_secret" in response:
            response.setdefault("client_secret_expires_at", 0)
        return result


class RegistrationRead(IdpyRegistrationRead):
    response_cls = RegistrationResponse

    def process_request(self, request=None, http_info=None, **kwargs):
        """RFC 7592 §3: the response carries ``registration_client_uri`` and
        ``registration_access_token`` (stock leaves both out) and ``post_logout_redirect_uris``
        (defect 26; the stock ``comb_uri`` cannot even format the singular list)."""
        client_id = request["client_id"]
        cinfo = self.upstream_get("context").cdb[client_id]
        args = {k: v for k, v in cinfo.items() if k in self.response_cls.c_param and k != "post_logout_redirect_uri"}
        comb_uri(args)
        args["registration_client_uri"] = f"{self.full_path}?client_id={client_id}"
        args["registration_access_token"] = http_info["headers"]["authorization"].split(" ", 1)[1]
        return {"response_args": self.response_cls(**args)}
