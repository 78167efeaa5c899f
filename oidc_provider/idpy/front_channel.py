"""The authorization endpoint's hybrid and implicit response types (OIDC Core §3.2, §3.3; OAuth 2.0
Multiple Response Type Encoding Practices; docs/hybrid-and-implicit.md): what idpyoidc 5.0.0 gets
wrong on their path (defects 160 to 165, 167)."""

from oidc_provider.idpy import encryption
from oidc_provider.idpy.fast.ids import new_id
from oidc_provider.protocol import RESPONSE_MODES
from oidc_provider.response_types import CODE, canonical, default_response_mode, enabled, front_channel

NONCE_REQUIRED = "nonce is required for this response_type (OIDC Core §3.2.2.1, §3.3.2.11)"
# OIDC Core §3.2, §3.3: these types are OpenID Connect's; a plain OAuth 2.0 request (defect 110) has code only
OPENID_REQUIRED = "This response_type needs the openid scope"
DPOP_BOUND = "This client's access tokens must be DPoP-bound: none is issued from the authorization endpoint"
QUERY_WITH_TOKENS = "response_mode query must not carry tokens: use fragment or form_post"


def nonce_missing_problem(request) -> None:
    """Defect 162: OIDC Core §3.2.2.1 (implicit) and §3.3.2.11 (hybrid: "use of the nonce Claim is
    REQUIRED for this flow") want a ``nonce`` for every response type but ``code``; the stock
    request asks for it only when ``id_token`` is in the type, so ``code token`` goes without, and
    the ID token its code later gets carries none. Raises ``ValueError`` (stock's ``invalid_request``)."""
    rt = canonical(request.get("response_type"))
    if rt is not None and front_channel(rt) and not request.get("nonce"):
        raise ValueError(NONCE_REQUIRED)


class FrontChannel:
    """The authorization endpoint's part for the hybrid and implicit response types (each off unless
    the ``RESPONSE_TYPES`` setting enables it, and then only for the clients that registered it): a
    mixin before idpyoidc's ``Authorization`` (``idpy/authorization.py``)."""

    def response_type_refusal(self, request, cinfo):
        """``(error, description)`` for a response type this client may not use here, or None.

        Defect 160: a client asking for a type it did not register gets stock's ``invalid_request``;
        RFC 6749 §4.1.2.1 and §4.2.2.1 name that ``unauthorized_client`` (the OP-wide refusal,
        ``unsupported_response_type``, is defect 95's). Defect 161: stock checks ``response_mode``
        only after it minted the code and tokens (``post_authentication``), and then lets ``query``
        carry them for a type it does not treat as fragment-encoded; OAuth 2.0 Multiple Response
        Type Encoding Practices §5 forbids ``query`` for any type returning a token from the
        authorization endpoint. Both are refused here, before the user is asked anything; and so is a
        front-channel type in a request without ``openid`` (defect 110's plain OAuth 2.0 request would
        otherwise get an ID token)."""
        rt = canonical(request.get("response_type"))
        registered = {canonical(r) for r in (cinfo or {}).get("response_types") or [CODE]}
        if rt is None or rt not in enabled():
            return "unsupported_response_type", "response_type is not supported"
        if rt not in registered:
            return "unauthorized_client", "The client is not registered for this response_type"
        if front_channel(rt) and "openid" not in (request.get("scope") or []):
            return "invalid_request", OPENID_REQUIRED
        mode = request.get("response_mode")
        if mode is not None and mode not in RESPONSE_MODES:
            return "invalid_request", "Unknown response_mode"
        if mode == "query" and front_channel(rt):
            return "invalid_request", QUERY_WITH_TOKENS
        if "token" in rt.split() and (cinfo or {}).get("dpop_bound_access_tokens"):
            return "invalid_request", DPOP_BOUND  # RFC 9449 §5.2: no proof reaches the authorization endpoint
        if "id_token" in rt.split() and cinfo:  # its key found now, before any transaction or minting
            missing = encryption.prepare(self.upstream_get("attribute", "keyjar"), cinfo, "id_token")
            if missing:  # docs/encryption.md: no 500 after the user signed in, no token minted
                return "invalid_request", missing
        return None

    def refused_before_minting(self, request):
        """The error response for a request whose response type may no longer be used, or None once
        the parameters nothing may mint for are dropped from it.

        Checked again here (defect 163): the request may have waited in the browser's session
        through the login and consent pages, and the administrator removed the type from the
        client or the OP meanwhile; stock mints whatever the stored request names. Defect 165: stock
        takes an ``audience`` request parameter (no parameter of the authorization endpoint) into
        the ``aud`` of the front-channel ID token and access token, so a client could have this OP
        sign an ID token about its user for another client; and reads ``resource`` as client ids
        whose scopes it adds. Both are dropped."""
        cinfo = self.upstream_get("context").cdb.get(request["client_id"])
        refused = self.response_type_refusal(request, cinfo)
        if refused:
            error = self.authentication_error_response(request, error=refused[0], error_description=refused[1])
            return {"response_args": error, "fragment_enc": True}
        for name in ("audience", "resource"):
            if name in request:
                del request[name]
        return None

    def create_authn_response(self, request, sid):
        """The code and the tokens of the response type (OIDC Core §3.2.2.5, §3.3.2.5), unless
        ``refused_before_minting``."""
        refused = self.refused_before_minting(request)
        if refused:
            return refused
        info = super().create_authn_response(request, sid)
        info["fragment_enc"] = default_response_mode(request["response_type"]) == "fragment"
        return info

    def encoded_response_mode(self, request, response_args, return_uri, **kwargs):
        """Defect 164: stock refuses ``response_mode=fragment`` with ``code`` ("wrong response_mode",
        after minting the code), though OAuth 2.0 Multiple Response Type Encoding Practices §2.1
        lets the client ask for any mode; ``query`` with tokens is refused earlier (defect 161)."""
        return {
            **kwargs,
            "response_args": response_args,
            "return_uri": return_uri,
            "fragment_enc": request["response_mode"] == "fragment",
        }

    def mint_token(self, token_class, grant, session_id, based_on=None, **kwargs):
        """Defect 167: for ``response_type=id_token`` (no access token, so no userinfo request)
        OIDC Core §5.4 puts the claims of the granted scopes in the ID token. Stock asks for them
        with ``as_if="userinfo"``, which only reads per-client ``add_claims`` configuration, so the
        ID token carries none; and it mints every front-channel ID token with the *requested*
        ``scope``, not the granted one. Here the ID token gets the grant's scope and, for ``id_token``
        alone, the claims userinfo would release for it (its ``claims`` request members included)."""
        if token_class == "id_token" and "scope" in kwargs:
            kwargs["scope"] = list(grant.scope)
        if token_class == "id_token" and kwargs.pop("as_if", None) == "userinfo":
            claims = self.upstream_get("context").claims_interface
            kwargs["claims"] = [
                *claims.get_claims(session_id, scopes=grant.scope, claims_release_point="userinfo"),
                *claims.get_claims(session_id, scopes=grant.scope, claims_release_point="id_token"),
            ]
        kwargs["id"] = new_id()  # fast/ids.py
        return super().mint_token(token_class, grant, session_id, based_on=based_on, **kwargs)
