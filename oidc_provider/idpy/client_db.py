"""idpyoidc's client database (``context.cdb``) over ``Client`` rows.

Rows use RFC 7591 names; idpyoidc reads other keys (``grant_types_supported``, redirect URIs as
``[[uri, query]]``…; defects 18, 25, 26, 60), so the mapping happens here, in one place. Rows are
read once per unit of work.
"""

from collections.abc import MutableMapping
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from idpyoidc.storage import DictType

from oidc_provider.conf import oidc_settings
from oidc_provider.metadata import INFORMATIONAL, TOKEN_TYPE_URNS, token_exchange_problem
from oidc_provider.models import Client
from oidc_provider.protocol import DEFAULT_ENCRYPTION_ENC, ENCRYPTED_RESPONSES, PASSWORD_METHODS
from oidc_provider.storage.clients import (
    client_id_by_registration_access_token,
    client_row,
    hash_registration_access_token,
)
from oidc_provider.storage.unit_of_work import active


def split_redirect_uri(uri):
    """``https://rp/cb?a=1`` -> ``["https://rp/cb", {"a": ["1"]}]``, the shape idpyoidc matches on."""
    parts = urlsplit(uri)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return [base, parse_qs(parts.query) if parts.query else {}]


def join_redirect_uri(base, query):
    """The inverse of ``split_redirect_uri``."""
    return f"{base}?{urlencode(query, doseq=True)}" if query else base


def token_exchange_config(policy: dict):
    """An RFC 8693 policy as edited in the admin -> the per-client config idpyoidc's helper reads
    (None for a policy that is not one: the admin and createclient refuse those, a raw edit may not)."""
    if token_exchange_problem(policy):
        return None
    requested = [TOKEN_TYPE_URNS[t] for t in policy["requested_token_types"]]
    targets = policy.get("audiences", [])
    return {
        "subject_token_types_supported": [TOKEN_TYPE_URNS[t] for t in policy["subject_token_types"]],
        "requested_token_types_supported": requested,
        "default_requested_token_type": TOKEN_TYPE_URNS["access_token"]
        if "access_token" in policy["requested_token_types"]
        else requested[0],
        "policy": {
            "": {
                "function": "oidc_provider.idpy.token_exchange.validate_token_exchange_policy",
                "kwargs": {"audience": targets, "resource": targets, "scope": policy.get("scopes")},
            }
        },
    }


def client_to_idpy(client: Client) -> dict:
    """The dict idpyoidc expects for ``client``: the keys it reads, plus the RFC 7591 names that
    client configuration (RFC 7592) shows back."""
    grant_types = list(client.grant_types or ["authorization_code"])
    allowed = client.scopes or list(oidc_settings.SCOPES_TO_CLAIMS)
    if "refresh_token" not in grant_types:
        allowed = [s for s in allowed if s != "offline_access"]  # a refresh token it could not use
    # idpyoidc's name for a public client's method. Introspection and revocation take the credential
    # the client registered, nothing else: its key, its client_id alone (a public client, revocation
    # only), or its secret, there in either of RFC 6749 §2.3.1's forms (Basic is a MUST for a client
    # with a password; the use cases introspect with it).
    method = "public" if client.is_public else client.token_endpoint_auth_method
    back_channel = list(PASSWORD_METHODS) if method in PASSWORD_METHODS else [method]
    info = {
        "client_id": client.client_id,
        "client_name": client.client_name,
        "redirect_uris": [split_redirect_uri(u) for u in client.redirect_uris],
        # defect 60: the strings as registered, for exact matching (not a registration response field)
        "registered_redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "grant_types": grant_types,
        "response_types": list(client.response_types or ["code"]),
        # defect 25: idpyoidc reads *_supported, not the RFC 7591 names
        "grant_types_supported": grant_types,
        "response_types_supported": list(client.response_types or ["code"]),
        # defect 18: enforce the registered token_endpoint_auth_method
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "token_endpoint_client_authn_method": [method],
        "scope": client.scope or " ".join(allowed),
        "introspection_endpoint_client_authn_method": back_channel,
        # Defect 156: at the PAR endpoint as at the token endpoint (idpyoidc reads <endpoint_name>_…)
        "pushed_authorization_request_endpoint_client_authn_method": [method],
        "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
        "revocation_endpoint_client_authn_method": back_channel,
        "allowed_scopes": allowed,
        "pkce_essential": client.is_public or client.require_pkce or oidc_settings.REQUIRE_PKCE,
        "client_id_issued_at": int(client.created_at.timestamp()) if client.created_at else 0,
        # idpyoidc refuses the client once this has passed (0: never)
        "client_secret_expires_at": client.client_secret_expires_at,
        "skip_consent": client.skip_consent,
        "access_token_format": client.access_token_format or oidc_settings.ACCESS_TOKEN_FORMAT,
        "token_exchange": token_exchange_config(client.token_exchange or oidc_settings.TOKEN_EXCHANGE_POLICY),
    }
    info.update(signing_algorithms(client))
    for kind in ENCRYPTED_RESPONSES:  # idpy/encryption.py; idpyoidc's own encryption is never reached
        alg = getattr(client, f"{kind}_encrypted_response_alg")
        if alg:
            info[f"{kind}_encrypted_response_alg"] = alg
            info[f"{kind}_encrypted_response_enc"] = (
                getattr(client, f"{kind}_encrypted_response_enc") or DEFAULT_ENCRYPTION_ENC
            )
    info["subject_type"] = client.subject_type or "public"
    info["dpop_bound_access_tokens"] = client.dpop_bound_access_tokens
    if client.sector_identifier_uri:
        info["sector_identifier_uri"] = client.sector_identifier_uri
    if client.request_object_signing_alg:
        info["request_object_signing_alg"] = client.request_object_signing_alg
    if client.request_uris:  # idpyoidc's shape, [base, fragment], which client configuration reads back
        info["request_uris"] = [(u.split("#", 1) + [""])[:2] for u in client.request_uris]
    if client.jwks_uri:  # RFC 7591 §2: jwks_uri and jwks are exclusive; the URI wins
        info["jwks_uri"] = client.jwks_uri
    elif client.jwks:
        info["jwks"] = client.jwks
    # idpyoidc tests these by presence ("backchannel_logout_uri" in cinfo), so only when set
    for name in ("backchannel_logout_uri", "frontchannel_logout_uri"):
        if getattr(client, name):
            info[name] = getattr(client, name)
    if client.backchannel_logout_uri:
        info["backchannel_logout_session_required"] = client.backchannel_logout_session_required
    if client.frontchannel_logout_uri:
        info["frontchannel_logout_session_required"] = client.frontchannel_logout_session_required
    info.update({k: v for k, v in client.metadata.items() if k in INFORMATIONAL})
    return info


def signing_algorithms(client: Client) -> dict:
    """The algorithms idpyoidc signs this client's ID tokens (always) and userinfo (if asked) with.

    Only algorithms the OP has keys for; a stale row falls back to SIGNING_ALG, never to ``none``.
    """
    supported = oidc_settings.SIGNING_ALGS
    algs = {"id_token_signed_response_alg": oidc_settings.SIGNING_ALG}
    if client.id_token_signed_response_alg in supported:
        algs["id_token_signed_response_alg"] = client.id_token_signed_response_alg
    if client.userinfo_signed_response_alg in supported:
        algs["userinfo_signed_response_alg"] = client.userinfo_signed_response_alg
    return algs


def save_registered_client(cinfo: dict) -> Client:
    """Store the client idpyoidc's registration endpoint made (``cinfo``, its cdb entry) as a row:
    the inverse of ``client_to_idpy``. Secret and registration access token are kept hashed."""
    method = cinfo.get("token_endpoint_auth_method", "client_secret_basic")
    client = Client(
        client_id=cinfo["client_id"],
        client_name=cinfo.get("client_name", ""),
        redirect_uris=[join_redirect_uri(base, query) for base, query in cinfo["redirect_uris"]],
        post_logout_redirect_uris=cinfo.get("post_logout_redirect_uris", []),
        grant_types=cinfo.get("grant_types", ["authorization_code"]),
        response_types=cinfo.get("response_types", ["code"]),
        token_endpoint_auth_method=method,
        scope=cinfo.get("scope", ""),
        require_pkce=method == "none",
        jwks=cinfo.get("jwks"),
        jwks_uri=cinfo.get("jwks_uri", ""),
        id_token_signed_response_alg=cinfo.get("id_token_signed_response_alg", ""),
        userinfo_signed_response_alg=cinfo.get("userinfo_signed_response_alg", ""),
        **{
            f"{kind}_encrypted_response_{part}": cinfo.get(f"{kind}_encrypted_response_{part}", "")
            for kind in ENCRYPTED_RESPONSES
            for part in ("alg", "enc")
        },
        backchannel_logout_uri=cinfo.get("backchannel_logout_uri", ""),
        backchannel_logout_session_required=cinfo.get("backchannel_logout_session_required", False),
        frontchannel_logout_uri=cinfo.get("frontchannel_logout_uri", ""),
        frontchannel_logout_session_required=cinfo.get("frontchannel_logout_session_required", False),
        subject_type=cinfo.get("subject_type", "public"),
        sector_identifier_uri=cinfo.get("sector_identifier_uri", ""),
        dpop_bound_access_tokens=cinfo.get("dpop_bound_access_tokens", False),
        request_object_signing_alg=cinfo.get("request_object_signing_alg", ""),
        request_uris=cinfo.get("request_uris", []),
        require_pushed_authorization_requests=cinfo.get("require_pushed_authorization_requests", False),
        registered_via="registration",
        registration_access_token_hash=hash_registration_access_token(cinfo["registration_access_token"]),
        client_secret_expires_at=cinfo.get("client_secret_expires_at", 0),
        metadata={k: cinfo[k] for k in INFORMATIONAL if k in cinfo},
    )
    client.set_secret(cinfo.get("client_secret"))
    client.save()
    return client


class RegistrationAccessTokens:
    """idpyoidc's ``context.registration_access_token`` (token -> client_id) over the hashes kept
    on ``Client`` rows, instead of a dict in one process. idpyoidc only sets and looks up."""

    def __getitem__(self, token):
        if not isinstance(token, str):
            raise KeyError(token)
        client_id = client_id_by_registration_access_token(token)
        if client_id is None:
            raise KeyError("unknown registration access token")
        return client_id

    def __setitem__(self, token, client_id):
        # Registration calls this before the client exists; save_registered_client stores the hash.
        pass


_IDPY_INFO = "_oidc_provider_idpy_info"  # where ``idpy_info`` keeps its dict on the row


def idpy_info(client: Client) -> dict:
    """``client_to_idpy(client)``, made once per row read: a row ``CLIENT_CACHE_TTL`` keeps serves the
    requests of its bound, each given a copy of its own, as idpyoidc writes into the dict it is given
    (the ``auth_method`` it saw). Nothing writes into the lists and dicts the copies share
    (``test_the_kept_client_dict_is_never_written_into``)."""
    made = client.__dict__.get(_IDPY_INFO)
    if made is None:
        made = client.__dict__[_IDPY_INFO] = client_to_idpy(client)
    return dict(made)


class ClientDatabase(MutableMapping, DictType):
    """A ``MutableMapping`` of client_id -> idpyoidc client dict, backed by ``Client`` rows."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def _fetch(self, client_id):
        unit = active()
        if unit is not None and client_id in unit.clients:
            return unit.clients[client_id]
        client = client_row(client_id)
        info = idpy_info(client) if client else None
        if unit is not None:
            unit.clients[client_id] = info
        return info

    def __getitem__(self, client_id):
        info = self._fetch(client_id)
        if info is None:
            raise KeyError(client_id)
        return info

    def __contains__(self, client_id):
        return self._fetch(client_id) is not None

    def __setitem__(self, client_id, value):
        # idpyoidc writes bookkeeping (e.g. the last auth method) into client dicts; keep it for
        # the rest of the request only. Registration stores clients through its own view.
        unit = active()
        if unit is not None:
            unit.clients[client_id] = value

    def __delitem__(self, client_id):
        Client.objects.filter(client_id=client_id).delete()

    def __iter__(self):
        # Only reached from idpyoidc's debug logging (it logs every client id on each authorization);
        # never list every client.
        return iter(())

    def __len__(self):
        return Client.objects.count()

    def __bool__(self):
        # idpyoidc tests the database's truth on every client authentication (client_authn.py:591);
        # without this, Python would call __len__: a COUNT(*) over every client per request.
        return True

    def keys(self):
        return []
