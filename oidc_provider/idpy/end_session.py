"""The end_session endpoint (OpenID Connect RP-Initiated Logout 1.0) and the ending of grants with
their logout notices (Back-Channel and Front-Channel Logout 1.0), with the 5.0.0 defects on their path
repaired.

Neither the end_session view nor the logout service calls the stock ``process_request`` (it needs
idpyoidc's own session cookie), ``do_verified_logout`` (it POSTs to every client while the user
waits) or ``logout_all_clients`` (defect 39); they use the pieces below.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cryptojwt.jwt import JWT
from idpyoidc.message import SINGLE_OPTIONAL_STRING, Message
from idpyoidc.message.oidc import session as messages
from idpyoidc.server.oidc.session import Session as IdpySession

from oidc_provider.idpy.authorization import without_verified_names
from oidc_provider.idpy.node_codec import load_node
from oidc_provider.models import SessionNode
from oidc_provider.storage.revocation import revoke_nodes

# An expired id_token_hint is still a good hint (RP-Initiated Logout 1.0 §2): only its signature counts.
HINT_SKEW = 100 * 365 * 86400
# Back-Channel Logout 1.0 §4: a short lifetime; the default dispatcher is done in well under a minute.
LOGOUT_TOKEN_LIFETIME = 120


class EndSessionRequest(messages.EndSessionRequest):
    """Defect 37: the stock message is a pre-final draft's: it has no ``client_id`` and refuses a
    ``post_logout_redirect_uri`` without ``id_token_hint``, which RP-Initiated Logout 1.0 §2 only
    recommends (the URI is then checked against the registered ones of ``client_id``)."""

    c_param = {
        **messages.EndSessionRequest.c_param,
        "client_id": SINGLE_OPTIONAL_STRING,
        "logout_hint": SINGLE_OPTIONAL_STRING,
    }

    def verify(self, **kwargs):
        if "id_token_hint" not in self:
            return Message.verify(self, **kwargs)
        return super().verify(**kwargs)


class EndSession(IdpySession):
    request_cls = EndSessionRequest

    def parse_request(self, request, http_info=None, **kwargs):
        """Defect 4: the stock method authenticates a client at this front-channel endpoint and
        always fails (``KeyError: 'token'``). Here the request is only verified: the id_token_hint's
        signature against the OP's keys and its issuer, with any expiry accepted."""
        context = self.upstream_get("context")
        # defect 202: the verified hint is read as __verified_id_token_hint, which a client may not send
        message = self.request_cls(**without_verified_names(request or {}))
        try:
            valid = message.verify(keyjar=self.upstream_get("attribute", "keyjar"), iss=context.issuer, skew=HINT_SKEW)
        except Exception:  # cryptojwt and idpyoidc raise many types for a bad JWT
            valid = False
        if not valid:
            what = (
                "id_token_hint is not an ID token of this provider"
                if "id_token_hint" in message
                else "Malformed request"
            )
            return self.error_cls(error="invalid_request", error_description=what)
        return message

    def post_logout_target(self, request, client_id):
        """Where to send the browser after logout: the request's ``post_logout_redirect_uri`` (with its
        ``state``) if it is registered for ``client_id``, else None (RP-Initiated Logout 1.0 §3).

        The stock ``process_request`` checks it with ``verify_uri``, which reads only the singular
        pre-final ``post_logout_redirect_uri`` (defect 5) and unquotes the URI and compares its query
        as a set (defect 60: ``by%65`` or ``?x=%31`` passed). Here it must equal one of the registered
        ``post_logout_redirect_uris`` by simple string comparison (RFC 3986 §6.2.1)."""
        uri = request.get("post_logout_redirect_uri")
        if not uri or not client_id:
            return None
        registered = (self.upstream_get("context").cdb.get(client_id) or {}).get("post_logout_redirect_uris") or []
        if uri not in registered:
            return None
        if request.get("state"):
            uri += ("&" if "?" in uri else "?") + urlencode({"state": request["state"]})
        return uri

    def frontchannel_logout_url(self, cinfo: dict, sid: str):
        """Defect 38: the stock ``do_front_channel_logout_iframe`` formats an ``<iframe>`` with the
        client's URI unescaped, for the OP's page to include as is. This returns the URL only, with
        ``iss`` and ``sid`` when the client requires them (Front-Channel Logout 1.0 §2), for the
        template to escape."""
        uri = cinfo.get("frontchannel_logout_uri")
        if not uri or not cinfo.get("frontchannel_logout_session_required"):
            return uri
        parts = urlsplit(uri)
        query = parse_qsl(parts.query) + [("iss", self.upstream_get("context").issuer), ("sid", sid)]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def do_back_channel_logout(self, cinfo: dict, sid: str, sub: str = ""):
        """Defect 79: the stock logout token is untyped, valid for a day and carries ``sid``
        only. Back-Channel Logout 1.0 §2.4 wants ``typ: logout+jwt`` (RPs that check it refuse an
        untyped token), §4 a short lifetime; ``sub`` (allowed beside ``sid``) is what idpyoidc's own
        RP finds its session by. Claims: iss, aud, iat, exp, jti, events, sid, sub; never nonce."""
        context = self.upstream_get("context")
        alg = (
            cinfo.get("id_token_signed_response_alg")
            or context.provider_info["id_token_signing_alg_values_supported"][0]
        )
        jwt = JWT(
            self.upstream_get("attribute", "keyjar"), iss=context.issuer, lifetime=LOGOUT_TOKEN_LIFETIME, sign_alg=alg
        )
        jwt.with_jti = True
        payload = {"sid": sid, "events": {messages.BACK_CHANNEL_LOGOUT_EVENT: {}}}
        if sub:
            payload["sub"] = sub
        token = jwt.pack(payload=payload, recv=cinfo["client_id"], jws_headers={"typ": "logout+jwt"})
        return cinfo["backchannel_logout_uri"], token

    def logout_notices(self, grants):
        """The logout tokens and front-channel URLs for ending ``grants`` (``(client_id, Grant)`` pairs).

        Defect 39: the stock ``logout_all_clients`` walks every client session of the *user* (every
        browser), takes the first grant with an ID token per client (an old, revoked one as readily as
        the current one, so the ``sid`` is stale), sends back-channel or front-channel but never both,
        and revokes nodes without their tokens (defect 6). Here each given grant that issued an ID
        token gets a logout token with that ID token's ``sid`` and, when registered, a front-channel
        URL. Nothing is sent or revoked here.
        """
        cdb = self.upstream_get("context").cdb
        back, front = [], []
        for client_id, grant in grants:
            id_token = grant.last_issued_token_of_type("id_token")
            cinfo = cdb.get(client_id)
            if id_token is None or cinfo is None or not grant.authentication_event:
                continue
            if "backchannel_logout_uri" in cinfo:
                uri, logout_token = self.do_back_channel_logout(cinfo, id_token.session_id, grant.sub)
                back.append({"client_id": client_id, "uri": uri, "logout_token": logout_token})
            url = self.frontchannel_logout_url(cinfo, id_token.session_id)
            if url and url not in front:
                front.append(url)
        return back, front

    def end_grants(self, rows):
        """End the grants whose (locked) ``SessionNode`` rows are ``rows``: what the stock
        ``logout_all_clients`` is for, without its defects 39 and 6. Returns their logout tokens to
        deliver and their front-channel URLs (``logout_notices``); sends nothing."""
        notices = self.logout_notices([(row.client_id, load_node(row)) for row in rows])
        self.revoke(SessionNode.objects.filter(pk__in=[row.pk for row in rows]))
        return notices

    def revoke(self, nodes):
        """Defect 6: stock revocation (``SessionManager.revoke_grant``, ``_revoke_tree``) marks nodes
        revoked and leaves their tokens usable. Here the session-tree nodes ``nodes`` (a queryset),
        everything under them and every token in their grants are revoked, in their rows
        (``storage.revocation.revoke_nodes``). Returns how many rows were revoked."""
        return revoke_nodes(nodes)
