"""The process-wide idpyoidc ``Server``, built once from settings and wired to the ORM seams."""

import base64
import threading

from django.core.signals import setting_changed
from django.dispatch import receiver

from oidc_provider import outbound, protocol, redaction, response_types
from oidc_provider.conf import SETTINGS_READ, oidc_settings
from oidc_provider.crypto import derive_key, expand_key
from oidc_provider.idpy.client_db import ClientDatabase
from oidc_provider.idpy.keyjar import ProviderKeyJar
from oidc_provider.idpy.server import Server
from oidc_provider.metadata import request_object_signing_algs
from oidc_provider.storage.keys import ensure_signing_keys
from oidc_provider.storage.unit_of_work import unit_of_work

# idpyoidc's endpoint name -> class; each is served at protocol.PATHS[name] (as oidc_provider/urls.py routes it).
ENDPOINTS = {
    "provider_config": "oidc_provider.idpy.provider_config.ProviderConfiguration",
    "authorization": "oidc_provider.idpy.authorization.Authorization",
    "token": "oidc_provider.idpy.token.Token",
    "userinfo": "oidc_provider.idpy.userinfo.UserInfo",
    "registration": "oidc_provider.idpy.registration.Registration",
    "registration_read": "oidc_provider.idpy.registration.RegistrationRead",
    "session": "oidc_provider.idpy.end_session.EndSession",
    "introspection": "oidc_provider.idpy.introspection.Introspection",
    "token_revocation": "oidc_provider.idpy.token_revocation.TokenRevocation",
    "pushed_authorization": "oidc_provider.idpy.pushed_authorization.PushedAuthorization",
}
GRANT_HELPERS = {
    "authorization_code": "oidc_provider.idpy.token.AccessTokenHelper",
    "refresh_token": "oidc_provider.idpy.refresh_token.RefreshTokenHelper",
    "client_credentials": "oidc_provider.idpy.client_credentials.ClientCredentialsHelper",
    protocol.TOKEN_EXCHANGE: "oidc_provider.idpy.token_exchange.TokenExchangeHelper",
}
# Client authentication against hashed secrets, client_secret_jwt and private_key_jwt with the checks idpyoidc lacks.
CLIENT_AUTHN_METHODS = {
    "client_secret_basic": "oidc_provider.idpy.client_authn.ClientSecretBasic",
    "client_secret_post": "oidc_provider.idpy.client_authn.ClientSecretPost",
    "client_secret_jwt": "oidc_provider.idpy.client_authn.ClientSecretJWT",
    "private_key_jwt": "oidc_provider.idpy.client_authn.PrivateKeyJWT",
}

_lock = threading.Lock()
_server = None


def _encrypter_conf(purpose):
    """idpyoidc's encrypter for one kind of value (session ids, codes, access and refresh tokens), with
    the keys used before, to read what was issued then (``idpy.fast.encrypter``). idpyoidc also reads the
    session encrypter's ``salt``: it goes into every ``sub``, which relying parties keep, so it stays
    derived as before HKDF (``crypto.expand_key``)."""
    return {
        "class": "oidc_provider.idpy.fast.encrypter.SIVEncrypter",
        "kwargs": {
            "key": derive_key(f"siv:{purpose}", 64),
            "previous_key": expand_key(f"siv:{purpose}", 64),
            "legacy_key": expand_key(f"fernet:{purpose}"),
            "salt": base64.b64encode(expand_key(f"salt:{purpose}", 16)).decode(),
        },
    }


def _sub_is_user_id(uid, **kwargs):
    return str(uid)


def build_conf() -> dict:
    """The idpyoidc configuration for the current settings. Every default is overridden: idpyoidc fills
    a missing or falsy key from its own, and some are broken (a token handler without keys, a cookie
    handler that neither signs nor encrypts) or random per process."""
    s = oidc_settings
    lifetime_rules = {
        "authorization_code": {
            "supports_minting": ["access_token", "refresh_token", "id_token"],
            "max_usage": 1,
            "expires_in": s.CODE_LIFETIME,
        },
        # minting from an access token is token exchange (RFC 8693)
        "access_token": {"supports_minting": ["access_token", "refresh_token"], "expires_in": s.ACCESS_TOKEN_LIFETIME},
        "refresh_token": {
            "supports_minting": ["access_token", "refresh_token", "id_token"],
            "expires_in": s.REFRESH_TOKEN_LIFETIME,
        },
    }
    session_params = {"encrypter": _encrypter_conf("session")}
    if s.SUBJECT_IDENTIFIER == "user_id":
        session_params["sub_func"] = {"public": {"function": _sub_is_user_id}}
    conf = {
        "issuer": s.ISSUER,
        "httpc_params": {"verify": True, "timeout": 5},
        "preference": {
            "subject_types_supported": ["public", "pairwise"],
            "grant_types_supported": grant_types_supported(),
            "id_token_signing_alg_values_supported": list(s.SIGNING_ALGS),
            "userinfo_signing_alg_values_supported": list(s.SIGNING_ALGS),
            "request_object_signing_alg_values_supported": [s.SIGNING_ALG],
            "token_endpoint_auth_methods_supported": list(protocol.AUTH_METHODS),
            "claims_parameter_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "scopes_supported": list(s.SCOPES_TO_CLAIMS),
        },
        "client_db": {"class": "oidc_provider.idpy.client_db.ClientDatabase", "kwargs": {}},
        # The session tree, used client assertions and registration access tokens live in rows, not in
        # idpyoidc's process-local dicts, so any worker serves any request (docs/deployment.md); read
        # by idpy/server.py's EndpointContext (defects 86, 87).
        "session_manager": {
            "class": "oidc_provider.idpy.session_manager.SessionManager",
            "kwargs": {"db": "oidc_provider.idpy.session_tree.SessionTreeStore"},
        },
        "jti_db": {"class": "oidc_provider.storage.assertions.AssertionReplayStore"},
        "registration_access_token": {"class": "oidc_provider.idpy.client_db.RegistrationAccessTokens"},
        "client_authn_methods": CLIENT_AUTHN_METHODS,  # defect 88
        "cookie_handler": {
            "class": "oidc_provider.idpy.cookies.UnusedCookies",
            "kwargs": {"name": {"session": "oidc_op", "register": "oidc_op_rp", "session_management": "sman"}},
        },
        "session_params": session_params,
        "token_handler_args": {
            "code": {
                "class": "oidc_provider.idpy.fast.opaque.OpaqueToken",
                "kwargs": {"lifetime": s.CODE_LIFETIME, "crypt_conf": _encrypter_conf("code")},
            },
            "token": {
                "class": "oidc_provider.idpy.access_tokens.AccessTokenHandler",
                "kwargs": {
                    "lifetime": s.ACCESS_TOKEN_LIFETIME,
                    "crypt_conf": _encrypter_conf("token"),
                    "alg": s.SIGNING_ALG,
                },
            },
            "refresh": {
                "class": "oidc_provider.idpy.fast.opaque.OpaqueToken",
                "kwargs": {"lifetime": s.REFRESH_TOKEN_LIFETIME, "crypt_conf": _encrypter_conf("refresh")},
            },
            # the alg is the client's (storage/clients.py), never `none`
            "id_token": {"class": "oidc_provider.idpy.id_token.IDToken", "kwargs": {"lifetime": s.ID_TOKEN_LIFETIME}},
        },
        "authz": {
            "class": "oidc_provider.idpy.fast.authz.AuthzHandling",
            "kwargs": {"grant_config": {"usage_rules": lifetime_rules, "expires_in": s.GRANT_LIFETIME}},
        },
        "authentication": {
            "django": {
                "acr": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                "class": "oidc_provider.idpy.authn.DjangoLogin",
                # defect 3: the authn event must outlive every token issued from it
                "kwargs": {"expires_in": max(s.GRANT_LIFETIME, s.REFRESH_TOKEN_LIFETIME)},
            }
        },
        "userinfo": {"class": "oidc_provider.claims.UserInfo", "kwargs": {}},
        "claims_interface": {"class": "idpyoidc.server.session.claims.ClaimsInterface", "kwargs": {}},
        "scopes_to_claims": s.SCOPES_TO_CLAIMS,
        "add_on": {
            "pkce": {
                "function": "oidc_provider.idpy.pkce.add_support",
                # defect 11: a dict; only S256, so `plain` is refused
                "kwargs": {"essential": s.REQUIRE_PKCE, "code_challenge_methods": {"S256": None}},
            }
        },
        "endpoint": {
            "provider_config": {"kwargs": {}},
            "authorization": {
                "kwargs": {
                    "client_authn_method": None,
                    "claims_parameter_supported": True,
                    "request_parameter_supported": False,
                    "request_uri_parameter_supported": False,
                    "response_types_supported": response_types.enabled(),
                    "response_modes_supported": list(protocol.RESPONSE_MODES),
                },
            },
            "token": {
                "kwargs": {
                    "client_authn_method": list(protocol.TOKEN_AUTH_METHODS),
                    "grant_types_helpers": {
                        grant: {"class": cls, "kwargs": None} for grant, cls in GRANT_HELPERS.items()
                    },
                    "revoke_refresh_on_issue": True,  # defect 12: rotation
                },
            },
            "introspection": {
                "kwargs": {"client_authn_method": list(protocol.INTROSPECTION_AUTH_METHODS)},
            },
            "token_revocation": {
                "kwargs": {"client_authn_method": list(protocol.REVOCATION_AUTH_METHODS)},
            },
            "userinfo": {
                "kwargs": {
                    "client_authn_method": ["bearer_header", "bearer_body"],
                    "claim_types_supported": ["normal"],
                },
            },
            "registration": {
                # defect 89: stock secrets expire after 30 days; here only when configured
                "kwargs": {
                    "client_authn_method": None,
                    "client_secret_expires": bool(s.REGISTRATION_SECRET_LIFETIME),
                    "client_secret_expires_in": s.REGISTRATION_SECRET_LIFETIME,
                },
            },
            "registration_read": {
                "kwargs": {"client_authn_method": ["bearer_header"]},
            },
            "session": {"kwargs": {"client_authn_method": None}},
        },
    }
    if s.PAR_ENABLED:  # defect 156: the client authenticates as at the token endpoint
        conf["endpoint"]["pushed_authorization"] = {
            "kwargs": {"client_authn_method": list(protocol.TOKEN_AUTH_METHODS)}
        }
    for name, endpoint in conf["endpoint"].items():
        endpoint.update({"path": protocol.PATHS[name], "class": ENDPOINTS[name]})
    return conf


def grant_types_supported() -> list:
    """The token endpoint's grants, and ``implicit`` when a response type that uses it is enabled."""
    return [*protocol.GRANT_TYPES, *([protocol.IMPLICIT] if response_types.implicit_enabled() else [])]


def _build() -> Server:
    issuer = oidc_settings.ISSUER
    with unit_of_work():
        ensure_signing_keys()  # first run: no manual step
        # Keys from rows, reloaded in place when they change; clients' keys from their rows.
        keyjar = ProviderKeyJar(issuer, client_db=ClientDatabase())
    server = Server(build_conf(), keyjar=keyjar, cwd="", httpc=outbound.refuse)  # every fetch is the OP's own
    advertise(server.context.provider_info, issuer)
    redaction.install()  # the endpoint modules just imported made their loggers
    return server


# What idpyoidc advertises by default but this OP does not offer (or not yet).
UNADVERTISED = (
    "jwks",
    "version",
    "encrypt_request_object_supported",
    "encrypt_userinfo_supported",
    "encrypt_id_token_supported",
    "request_object_signing_alg_values_supported",
    "token_endpoint_auth_methods",
    "userinfo_endpoint_auth_methods",
    "default_max_age",
    "deny_unknown_scopes",
    "require_request_uri_registration",
    # defect 77: OP metadata is *_session_supported (Back-Channel Logout §2.1, Front-Channel §3)
    "backchannel_logout_session_required",
    "frontchannel_logout_session_required",
    # introspection's internal list, and idpyoidc's pre-RFC 8414 names (set below)
    "client_authn_method",
    "introspection_endpoint_auth_methods",
    "revocation_endpoint_auth_methods",
    # the PAR endpoint's internal list: RFC 9126 §2 clients read token_endpoint_auth_methods_supported
    "pushed_authorization_request_endpoint_auth_methods",
)


def advertise(provider_info: dict, issuer: str) -> None:
    """Discovery (OIDC Discovery §3) lists exactly what works."""
    for key in UNADVERTISED:
        provider_info.pop(key, None)

    provider_info.update(
        {
            "jwks_uri": f"{issuer}/{protocol.PATHS['jwks']}",
            "response_types_supported": response_types.enabled(),
            "response_modes_supported": list(protocol.RESPONSE_MODES),
            "claims_supported": sorted(
                {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "sid", "at_hash"}
                | {c for claims in oidc_settings.SCOPES_TO_CLAIMS.values() for c in claims}
            ),
            "claim_types_supported": ["normal"],
            # each has a current key (storage/keys.py); `none` is never one of them
            "id_token_signing_alg_values_supported": list(oidc_settings.SIGNING_ALGS),
            "userinfo_signing_alg_values_supported": list(oidc_settings.SIGNING_ALGS),
            "token_endpoint_auth_signing_alg_values_supported": list(protocol.ALL_ASSERTION_ALGS),
            # defect 177: idpyoidc lists every JWE algorithm cryptojwt knows, RSA1_5 and key wrapping included
            **{
                f"{kind}_encryption_{part}_values_supported": list(values)
                for kind in protocol.ENCRYPTED_RESPONSES
                for part, values in (("alg", protocol.ENCRYPTION_ALGS), ("enc", protocol.ENCRYPTION_ENCS))
            },
            "authorization_response_iss_parameter_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "frontchannel_logout_supported": True,
            "frontchannel_logout_session_supported": True,
            # RFC 8414 §2; "none" is how RFC 8414 names a public client's client_id-only request
            "introspection_endpoint_auth_methods_supported": list(protocol.INTROSPECTION_AUTH_METHODS),
            "revocation_endpoint_auth_methods_supported": [
                m if m != "public" else "none" for m in protocol.REVOCATION_AUTH_METHODS
            ],
            "introspection_endpoint_auth_signing_alg_values_supported": list(protocol.ALL_ASSERTION_ALGS),
            "revocation_endpoint_auth_signing_alg_values_supported": list(protocol.ALL_ASSERTION_ALGS),
        }
    )
    # RFC 9101 §10.5, OIDC Discovery §3: request objects as REQUEST_OBJECTS says
    enabled = bool(oidc_settings.REQUEST_OBJECTS)
    provider_info.update({"request_parameter_supported": enabled, "request_uri_parameter_supported": enabled})
    if enabled:
        provider_info["require_request_uri_registration"] = True
        provider_info["request_object_signing_alg_values_supported"] = request_object_signing_algs()
    if oidc_settings.PAR_ENABLED:  # the endpoint itself idpyoidc lists (pushed_authorization_request_endpoint)
        provider_info["require_pushed_authorization_requests"] = oidc_settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS
    if oidc_settings.REGISTRATION_POLICY == "none":
        provider_info.pop("registration_endpoint", None)
    # RFC 9449 §5.1: present exactly when proofs are checked (docs/dpop.md)
    provider_info.pop("dpop_signing_alg_values_supported", None)
    if oidc_settings.DPOP_ENABLED:
        provider_info["dpop_signing_alg_values_supported"] = list(oidc_settings.DPOP_SIGNING_ALGS)


def get_server() -> Server:
    """The process's idpyoidc Server, built on first use (thread-safe)."""
    global _server
    if _server is None:
        with _lock:
            if _server is None:
                _server = _build()
    return _server


def reset_server() -> None:
    global _server
    with _lock:
        _server = None


@receiver(setting_changed)
def _rebuild_on_settings_change(*, setting, **kwargs):
    """The server is built from settings: a change of one (a test's override_settings) means a new one."""
    if setting in SETTINGS_READ:
        reset_server()
