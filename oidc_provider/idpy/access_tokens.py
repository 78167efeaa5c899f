"""Access tokens in two formats, chosen per client: opaque (idpyoidc's encrypted blob, ``idpy.fast.opaque``)
or a JWT profiled by RFC 9068. Both carry the session id, so either finds its grant row."""

from cryptojwt import JWT
from idpyoidc.server.token import Token
from idpyoidc.server.token.jwt_token import JWTToken

from oidc_provider.idpy.fast.opaque import OpaqueToken


class RFC9068Token(JWTToken):
    """A JWT access token per RFC 9068."""

    def __call__(self, session_id="", token_class="", usage_rules=None, profile=None, with_jti=None, **payload):
        """Defect 41: the stock JWT has no ``typ`` header; RFC 9068 §2.1 requires ``at+jwt``, which
        is what tells a resource server it is not an ID token. The claims are idpyoidc's."""
        payload.update({"sid": session_id, "token_class": token_class or self.token_class})
        lifetime = (usage_rules or {}).get("expires_in", self.lifetime)
        signer = JWT(
            key_jar=self.upstream_get("attribute", "keyjar"), iss=self.issuer, lifetime=lifetime, sign_alg=self.alg
        )
        signer.with_jti = True
        claims = self.profile(**payload).to_dict()
        if isinstance(claims.get("scope"), list):
            claims["scope"] = " ".join(claims["scope"])  # RFC 9068 §2.2.3: a space-separated string
        return signer.pack(claims, jws_headers={"typ": "at+jwt"})


class AccessTokenHandler(Token):
    """idpyoidc's ``access_token`` handler: mints in the client's ``access_token_format`` and reads both."""

    def __init__(
        self, token_class="access_token", upstream_get=None, lifetime=3600, crypt_conf=None, alg="RS256", **kwargs
    ):
        super().__init__(token_class, lifetime=lifetime)
        self.upstream_get = upstream_get
        self.token_type = "Bearer"
        self.opaque = OpaqueToken(token_class, crypt_conf=crypt_conf, lifetime=lifetime)
        self.jwt = RFC9068Token(token_class, upstream_get=upstream_get, lifetime=lifetime, alg=alg)

    def format_of(self, session_id) -> str:
        context = self.upstream_get("context")
        client_id = context.session_manager.decrypt_session_id(session_id)[1]
        return (context.cdb.get(client_id) or {}).get("access_token_format", "opaque")

    def handler_for(self, token: str):
        return self.jwt if token.count(".") == 2 else self.opaque

    def minter(self, session_id):
        """The handler that mints ``session_id``'s access token: its client's format."""
        return self.jwt if self.format_of(session_id) == "jwt" else self.opaque

    def __call__(self, session_id="", **payload):
        return self.minter(session_id)(session_id=session_id, **payload)

    def info(self, token):
        return self.handler_for(token).info(token)

    def is_expired(self, token, when=0):
        return self.handler_for(token).is_expired(token, when)
