"""Speed rewrite of idpyoidc's ``Grant.payload_arguments`` for opaque tokens (not a defect fix).

``Grant.mint_token`` computes a payload for every token it mints: a ``jti`` (``uuid1``), the token's
``scope`` and audience, the claims its release point would carry (the claims interface; the user's
claims, a statement, when any are configured for access tokens) and the ``acr``. It then hands the
payload to the class's token handler. An opaque token (a code, a refresh token, an access token of a
client whose ``access_token_format`` is opaque) is ``DefaultToken``'s encrypted (random, class,
session id, expiry), and ``DefaultToken.__call__`` drops the payload unread, as ``OpaqueToken``'s
(``idpy.fast.opaque``), which calls it. For those tokens the
payload is not computed. A JWT (an ID token, an RFC 9068 access token) gets the stock payload.

Every caller of ``mint_token`` in idpyoidc 5.0.0 passes the class's own handler or none (then the
class's own is taken), which is the handler asked here. ``tests/protocol/test_payload.py`` mints each
class with and without the payload and compares the tokens.
"""

from idpyoidc.server.token import DefaultToken

from oidc_provider.idpy.access_tokens import AccessTokenHandler
from oidc_provider.idpy.fast.opaque import OpaqueToken

_DROPS_PAYLOAD = (DefaultToken.__call__, OpaqueToken.__call__)


def carries_payload(handler, session_id) -> bool:
    """Whether ``handler`` puts a payload in the token it mints for ``session_id``."""
    if isinstance(handler, AccessTokenHandler):
        handler = handler.minter(session_id)
    return type(handler).__call__ not in _DROPS_PAYLOAD


class OpaquePayload:
    """A ``Grant`` mixin: ``payload_arguments`` is ``{}`` for a token whose handler drops it."""

    def payload_arguments(self, session_id, context, item, claims_release_point, *args, **kwargs):
        handler = context.session_manager.token_handler.handler[item.token_class]
        if not carries_payload(handler, session_id):
            return {}
        return super().payload_arguments(session_id, context, item, claims_release_point, *args, **kwargs)
