"""The token endpoint with RFC 6749 §5.2 error codes (defect 22), and what its helpers share."""

from cryptojwt.jwe.exception import JWEException
from idpyoidc.message.oauth2 import ResponseMessage
from idpyoidc.server.oidc.token import Token as IdpyToken
from idpyoidc.server.oidc.token_helper.access_token import AccessTokenHelper as IdpyAccessTokenHelper
from idpyoidc.server.session import MintingNotAllowed
from idpyoidc.server.session.token import AuthorizationCode
from idpyoidc.server.token.exception import UnknownToken
from idpyoidc.time_util import utc_time_sans_frac

from oidc_provider.conf import oidc_settings
from oidc_provider.idpy import dpop, encryption
from oidc_provider.idpy.fast.ids import new_id
from oidc_provider.idpy.grant_tokens import in_memory, minted_from

ID_TOKEN_GRANTS = ("authorization_code", "refresh_token")  # the grants that may issue an ID token


class Token(IdpyToken):
    def _get_helper(self, request, client_id=""):
        """Defect 22: an unknown grant type is ``unsupported_grant_type`` and a grant type the client
        may not use is ``unauthorized_client``, not ``invalid_request``."""
        grant_type = request.get("grant_type")
        if not grant_type:
            return self.error_cls(error="invalid_request", error_description="Missing grant_type")
        helper = self.grant_type_helper.get(grant_type)
        if helper is None:
            return self.error_cls(
                error="unsupported_grant_type", error_description=f"Unsupported grant_type: {grant_type}"
            )
        if client_id:
            allowed = self.upstream_get("context").cdb[client_id].get("grant_types_supported", [])
            if grant_type not in allowed:
                return self.error_cls(
                    error="unauthorized_client", error_description=f"Client may not use grant_type {grant_type}"
                )
        return helper

    def process_request(self, request=None, **kwargs):
        """The stock method without its last step, which looks the new token's grant up again to make
        idpyoidc's session cookie: the OP's session is Django's and that cookie is never sent
        (``idpy.cookies``). RFC 9449 §5.2: a client registered with ``dpop_bound_access_tokens`` gets
        no token without a proof; a token bound to the proof's key is of ``token_type`` DPoP (§5)."""
        if isinstance(request, self.error_cls):
            return request
        if request is None:
            return self.error_cls(error="invalid_request")
        helper = self._get_helper(request)
        if isinstance(helper, self.error_cls):
            return helper
        presentation = dpop.current()
        client = self.upstream_get("context").cdb.get(request.get("client_id")) or {}
        if client.get("dpop_bound_access_tokens") and presentation.proof is None:
            return self.error_cls(error="invalid_dpop_proof", error_description="This client must send a DPoP proof")
        missing = self.encryption_ready(request)
        if missing:
            return missing
        try:
            response_args = helper.process_request(request, **kwargs)
        except (JWEException, MintingNotAllowed) as err:
            return self.error_cls(error="invalid_request", error_description=str(err))
        if isinstance(response_args, ResponseMessage):
            return response_args
        if "access_token" in presentation.bound and "access_token" in response_args:
            response_args["token_type"] = "DPoP"
        return {"response_args": response_args, "http_headers": [("Content-type", "application/json")]}

    def _post_parse_request(self, request, client_id="", **kwargs):
        """Defects 171, 175: the key an encrypted ID token goes to is found once the client is
        authenticated, before the grant helper reads the grant (which opens the transaction that
        spends the code): a ``jwks_uri`` is never fetched inside it. A missing key is answered by
        ``process_request``, so that it is not counted as a failed client authentication."""
        if client_id:
            self.encryption_ready({**request, "client_id": client_id})
        return super()._post_parse_request(request, client_id, **kwargs)

    def encryption_ready(self, request):
        """The error for a client whose ID token cannot be encrypted (``invalid_client``, docs/encryption.md),
        before anything is spent or issued; or None."""
        if request.get("grant_type") not in ID_TOKEN_GRANTS:
            return None
        client_info = self.upstream_get("context").cdb[request["client_id"]]
        missing = encryption.prepare(self.upstream_get("attribute", "keyjar"), client_info, "id_token")
        return self.error_cls(error="invalid_client", error_description=missing) if missing else None


def refresh_deadline(grant) -> int:
    """When a grant's refresh tokens stop, however often they were rotated (absolute lifetime)."""
    return grant.issued_at + (oidc_settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME or oidc_settings.GRANT_LIFETIME)


class MintingFixes:
    """Minting as our token endpoint helpers do it; mixed in before an idpyoidc helper."""

    def _mint_token(self, token_class, grant, session_id, client_id, based_on=None, lifetime=None, **kwargs):
        """Defect 32: the stock helpers mint the ID token without the access token issued with it, so
        it has no ``at_hash`` (OIDC Core §3.1.3.6). ``lifetime`` shortens the token's configured
        lifetime; a refresh token never outlives the grant's absolute refresh lifetime."""
        kwargs["token_args"] = {"id": new_id(), **(kwargs.get("token_args") or {})}  # fast/ids.py
        if token_class == "id_token" and based_on is not None:
            issued = minted_from(grant, based_on.value, "access_token", newest_only=True)
            if issued:
                kwargs["token_args"] = {**(kwargs.get("token_args") or {}), "access_token": issued[-1].value}
        jkt = dpop.binding_for(token_class, self.endpoint.upstream_get("context").cdb.get(client_id) or {})
        if jkt:  # RFC 9449 §5: bound to the proof's key
            dpop.current().bound.append(token_class)
            if token_class == "access_token":
                kwargs["token_type"] = "DPoP"
            kwargs["token_args"] = {**(kwargs.get("token_args") or {}), "jkt": jkt}  # the bound class's
            with dpop.minting_bound(grant, token_class, jkt):
                return self._mint_limited(token_class, grant, session_id, client_id, based_on, lifetime, **kwargs)
        return self._mint_limited(token_class, grant, session_id, client_id, based_on, lifetime, **kwargs)

    def _mint_limited(self, token_class, grant, session_id, client_id, based_on, lifetime, **kwargs):
        rules = grant.usage_rules.get(token_class) or {}
        limits = [x for x in (rules.get("expires_in"), lifetime) if x]
        if token_class == "refresh_token":
            limits.append(refresh_deadline(grant) - utc_time_sans_frac())
        if not limits or min(limits) == rules.get("expires_in"):
            token = super()._mint_token(token_class, grant, session_id, client_id, based_on=based_on, **kwargs)
        else:
            # idpyoidc takes the lifetime (a JWT's exp, the row's expires_at) from the grant's usage
            # rules: lend this token its own for the mint. The grant object belongs to this request.
            saved = grant.usage_rules
            grant.usage_rules = {**saved, token_class: {**rules, "expires_in": max(min(limits), 1)}}
            try:
                token = super()._mint_token(token_class, grant, session_id, client_id, based_on=based_on, **kwargs)
            finally:
                grant.usage_rules = saved
        return token


class AccessTokenHelper(MintingFixes, IdpyAccessTokenHelper):
    def post_parse_request(self, request, client_id="", **kwargs):
        """Defect 22: a missing ``code`` is ``invalid_request``; a ``redirect_uri`` that differs from
        (or omits) the authorization request's is ``invalid_grant`` (RFC 6749 §4.1.3)."""
        if "code" not in request:
            return self.error_cls(error="invalid_request", error_description="Missing code")
        code = request["code"]
        parsed = super().post_parse_request(request, client_id, **kwargs)
        mngr = self.endpoint.upstream_get("context").session_manager
        try:
            info = mngr.get_session_info_by_token(code, grant=True, handler_key="authorization_code")
        except (KeyError, ValueError, UnknownToken):
            unknown = self.error_cls(error="invalid_grant", error_description="Unknown code")
            return parsed if isinstance(parsed, self.error_cls) else unknown
        if isinstance(parsed, self.error_cls):
            self.revoke_beside_replayed_code(info["grant"], code)
            return parsed
        request = parsed
        expected = info["grant"].authorization_request.get("redirect_uri")
        if expected is not None and request.get("redirect_uri") != expected:
            return self.error_cls(error="invalid_grant", error_description="redirect_uri mismatch")
        # defect 189, RFC 9449 §10: a code asked for with dpop_jkt is redeemed only with a proof of that key
        if dpop.enabled() and not dpop.proven(info["grant"].authorization_request.get("dpop_jkt", "")):
            return self.error_cls(
                error="invalid_dpop_proof",
                error_description="The DPoP proof's key is not the dpop_jkt of the authorization request",
            )
        return request

    @staticmethod
    def revoke_beside_replayed_code(grant, code):
        """Defect 201: on a replayed code stock revokes the tokens minted *from* it (``based_on``);
        the access token a hybrid ``code token`` response returned beside the code in the front
        channel is based on nothing, and stays live. It travelled with the code, so whoever replays
        the code may hold it too (RFC 6749 §4.1.2, §10.5; RFC 9700 §4.5): every token of the grant
        is revoked but the code, which stays used (a revoked one is answered as a wrong token type,
        not ``invalid_grant``). Stock's walk read them all (``TokenList.complete``); marked here, they
        are written back with the others, by the same one statement."""
        token = grant.get_token(code)
        if isinstance(token, AuthorizationCode) and token.used:
            for issued in in_memory(grant.issued_token):
                issued.revoked = issued.revoked or issued is not token
