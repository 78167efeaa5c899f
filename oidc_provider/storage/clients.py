"""idpyoidc's client database (``context.cdb``) over ``Client`` rows.

Rows use RFC 7591 names; idpyoidc reads other keys (notes §2 and defects 5, 18, 25, 26), so the
mapping happens here, in one place. Rows are read once per unit of work.
"""

from collections.abc import MutableMapping
from urllib.parse import parse_qs, urlsplit, urlunsplit

from idpyoidc.storage import DictType

from oidc_provider.conf import oidc_settings
from oidc_provider.models import Client
from oidc_provider.storage.unit_of_work import _current


def split_redirect_uri(uri):
    """``https://rp/cb?a=1`` -> ``["https://rp/cb", {"a": ["1"]}]``, the shape idpyoidc matches on."""
    parts = urlsplit(uri)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return [base, parse_qs(parts.query) if parts.query else {}]


def client_to_idpy(client: Client) -> dict:
    """The dict idpyoidc expects for ``client``."""
    allowed = client.scopes or list(oidc_settings.SCOPES_TO_CLAIMS)
    info = {
        "client_id": client.client_id,
        "client_name": client.client_name,
        "redirect_uris": [split_redirect_uri(u) for u in client.redirect_uris],
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        # defect 25: idpyoidc reads *_supported, not the RFC 7591 names
        "grant_types_supported": list(client.grant_types or ["authorization_code"]),
        "response_types_supported": list(client.response_types or ["code"]),
        # defect 18: enforce the registered token_endpoint_auth_method
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "token_endpoint_client_authn_method": ["public" if client.is_public else client.token_endpoint_auth_method],
        "allowed_scopes": allowed,
        "pkce_essential": client.is_public or client.require_pkce or oidc_settings.REQUIRE_PKCE,
        "client_secret_expires_at": 0,
        "skip_consent": client.skip_consent,
    }
    info.update(signing_algorithms(client))
    if client.jwks_uri:  # RFC 7591 §2: jwks_uri and jwks are exclusive; the URI wins
        info["jwks_uri"] = client.jwks_uri
    elif client.jwks:
        info["jwks"] = client.jwks
    if client.post_logout_redirect_uris:
        # defects 5/26: idpyoidc's end_session only knows the singular, pre-final name
        info["post_logout_redirect_uri"] = split_redirect_uri(client.post_logout_redirect_uris[0])
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
