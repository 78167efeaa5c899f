"""The protocol values this OP offers, each named once: the idpyoidc configuration and discovery
(``server``), the client metadata rules (``metadata``), the admin, ``createclient``, client
authentication and the URLs read them here. Imports nothing of this app."""

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
# The grant types a client may register (RFC 7591 §2) and the token endpoint serves.
GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE]
# Grants that need a client able to authenticate (RFC 6749 §4.4; token exchange is not for public clients).
CONFIDENTIAL_GRANT_TYPES = ["client_credentials", TOKEN_EXCHANGE]
RESPONSE_TYPES = ["code"]
RESPONSE_MODES = ["query", "fragment", "form_post"]
# The members of the claims request parameter this OP reads (OIDC Core §5.5); any other is ignored.
CLAIMS_MEMBERS = ("userinfo", "id_token")

# The token_endpoint_auth_method values a client may register (RFC 7591 §2), as discovery lists them.
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"]
# The methods that send the secret itself (RFC 6749 §2.3.1); a client registered for one may use either.
PASSWORD_METHODS = ("client_secret_basic", "client_secret_post")
# The methods whose client is issued a secret; other clients get none. A client_secret_jwt client
# (OIDC Core §9) signs assertions with it, so its secret is also kept encrypted (models.Client).
SECRET_METHODS = (*PASSWORD_METHODS, "client_secret_jwt")
# idpyoidc's method names per endpoint. A public client authenticates with "public" (client_id in the
# body); idpyoidc's "none" lets a request through with no client at all (defect 31), so it is never
# configured, only advertised. Introspection needs a client that can authenticate; a public client may
# revoke its own tokens. Each client is held to the credential it registered (idpy/client_db.py).
TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "public"]
INTROSPECTION_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"]
REVOCATION_AUTH_METHODS = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "public",
]
# Asymmetric algorithms accepted for private_key_jwt assertions.
ASSERTION_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
# HMAC algorithms accepted for client_secret_jwt assertions (RFC 7518 §3.2), keyed with the secret.
HMAC_ASSERTION_ALGS = ["HS256", "HS384", "HS512"]
# Both, as discovery lists them (*_auth_signing_alg_values_supported); never "none".
ALL_ASSERTION_ALGS = HMAC_ASSERTION_ALGS + ASSERTION_ALGS
# JWE key management a client may register for its ID tokens and userinfo (OIDC Registration §2), as
# discovery lists them: RSA-OAEP(-256) to an RSA key, ECDH-ES (direct key agreement) to an EC key.
# RSA1_5 is never offered (RFC 8725 §3.2: padding oracle); ECDH-ES+AxxxKW adds nothing for a single
# recipient, and symmetric key wrapping would need the client's secret in clear.
ENCRYPTION_ALGS = ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES"]
# JWE content encryption (RFC 7518 §5); the default when a client names only the alg (OIDC Registration §2).
ENCRYPTION_ENCS = ["A128CBC-HS256", "A256CBC-HS512", "A128GCM", "A256GCM"]
DEFAULT_ENCRYPTION_ENC = "A128CBC-HS256"
# What may be encrypted: ID tokens (OIDC Core §10.2) and userinfo responses (§5.3.2).
ENCRYPTED_RESPONSES = ("id_token", "userinfo")

# Each endpoint's path under the issuer, by idpyoidc's endpoint name where it has one.
PATHS = {
    "provider_config": ".well-known/openid-configuration",
    "jwks": "jwks",
    "authorization": "authorize",
    "authorization_resume": "authorize/resume",
    "consent": "consent",
    "token": "token",
    "userinfo": "userinfo",
    "registration": "register",
    "registration_read": "register/client",
    "session": "end_session",
    "session_confirm": "end_session/confirm",
    "introspection": "introspect",
    "token_revocation": "revoke",
}
