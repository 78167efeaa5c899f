"""idpyoidc's client database (``context.cdb``) over ``Client`` rows.

Rows use RFC 7591 names; idpyoidc reads other keys (notes §2 and defects 5, 18, 25, 26), so the
mapping happens here, in one place. Rows are read once per unit of work.
"""

from collections.abc import MutableMapping
from urllib.parse import parse_qs, urlsplit, urlunsplit

from idpyoidc.storage import DictType

from oidc_provider.conf import oidc_settings
from oidc_provider.metadata import TOKEN_TYPE_URNS, token_exchange_problem
from oidc_provider.models import Client
from oidc_provider.storage.unit_of_work import _current


def split_redirect_uri(uri):
    """``https://rp/cb?a=1`` -> ``["https://rp/cb", {"a": ["1"]}]``, the shape idpyoidc matches on."""
    parts = urlsplit(uri)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return [base, parse_qs(parts.query) if parts.query else {}]


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
        "default_requested_token_type": TOKEN_TYPE_URNS["access_token"] if "access_token" in policy["requested_token_types"] else requested[0],
        "policy": {
            "": {
                "function": "oidc_provider.idpy.token_exchange.validate_token_exchange_policy",
                "kwargs": {"audience": targets, "resource": targets, "scope": policy.get("scopes")},
            }
        },
    }


def client_to_idpy(client: Client) -> dict:
    """The dict idpyoidc expects for ``client``."""
    grant_types = list(client.grant_types or ["authorization_code"])
    allowed = client.scopes or list(oidc_settings.SCOPES_TO_CLAIMS)
    if "refresh_token" not in grant_types:
        allowed = [s for s in allowed if s != "offline_access"]  # a refresh token it could not use
    # Confidential clients may use Basic or post at introspection and revocation, whatever they
    # registered for the token endpoint (the use cases introspect with Basic).
    back_channel = ["public"] if client.is_public else sorted({"client_secret_basic", "client_secret_post", client.token_endpoint_auth_method})
    info = {
        "client_id": client.client_id,
        "client_name": client.client_name,
        "redirect_uris": [split_redirect_uri(u) for u in client.redirect_uris],
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        # defect 25: idpyoidc reads *_supported, not the RFC 7591 names
        "grant_types_supported": grant_types,
        "response_types_supported": list(client.response_types or ["code"]),
        # defect 18: enforce the registered token_endpoint_auth_method
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "token_endpoint_client_authn_method": ["public" if client.is_public else client.token_endpoint_auth_method],
        "introspection_endpoint_client_authn_method": back_channel,
        "revocation_endpoint_client_authn_method": back_channel,
        "allowed_scopes": allowed,
        "pkce_essential": client.is_public or client.require_pkce or oidc_settings.REQUIRE_PKCE,
        "client_secret_expires_at": 0,
        "skip_consent": client.skip_consent,
        "access_token_format": client.access_token_format or oidc_settings.ACCESS_TOKEN_FORMAT,
        "token_exchange": token_exchange_config(client.token_exchange or oidc_settings.TOKEN_EXCHANGE_POLICY),
    }
    if client.post_logout_redirect_uris:
        # defects 5/26: idpyoidc's end_session only knows the singular, pre-final name
        info["post_logout_redirect_uri"] = split_redirect_uri(client.post_logout_redirect_uris[0])
    return info


class ClientDatabase(MutableMapping, DictType):
    """A ``MutableMapping`` of client_id -> idpyoidc client dict, backed by ``Client`` rows."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def _fetch(self, client_id):
        unit = _current.get()
        if unit is not None and client_id in unit.clients:
            return unit.clients[client_id]
        client = Client.objects.filter(client_id=client_id, is_active=True).first() if isinstance(client_id, str) else None
        info = client_to_idpy(client) if client else None
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
        unit = _current.get()
        if unit is not None:
            unit.clients[client_id] = value

    def __delitem__(self, client_id):
        Client.objects.filter(client_id=client_id).delete()

    def __iter__(self):
        # Only reached from idpyoidc debug logging (notes §5.4); never list every client.
        return iter(())

    def __len__(self):
        return Client.objects.count()

    def keys(self):
        return []
