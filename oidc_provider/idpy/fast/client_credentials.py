"""Speed rewrite: a client-credentials token without idpyoidc's grant machinery.

idpyoidc would build a ``Grant`` and its authorization request, ``add_grant`` it, ``Grant.mint_token``
(whose ``payload_arguments`` computes claims an opaque token discards) and dump the grant at the end of
the unit of work. Nothing else in the request reads that grant, so it is written as the row that
machinery writes, and its token is minted by idpyoidc's handler with the claims ``Grant.mint_token``
would give a JWT. Its gain was measured within the whole request (``bench/FINDINGS.md``), not in
isolation. ``tests/protocol/test_client_credentials.py``
(``test_the_grant_row_is_the_one_idpyoidc_writes``) compares the row with the stock machinery's, for
both token formats.
"""

from cryptojwt.utils import qualified_name
from idpyoidc.message.oauth2 import AuthorizationRequest
from idpyoidc.server.session.token import AccessToken
from idpyoidc.time_util import utc_time_sans_frac

from oidc_provider.idpy.dpop import BoundAccessToken
from oidc_provider.idpy.fast.ids import new_id
from oidc_provider.idpy.session_tree import insert_grant

# The session tree's first level for tokens that no user authorized (idpyoidc's own path).
NO_USER = "client_credentials"
_REQUEST, _TOKEN = qualified_name(AuthorizationRequest), qualified_name(AccessToken)
_BOUND_TOKEN = qualified_name(BoundAccessToken)


def grant_data(client_id, scope, rules, now):
    """What idpyoidc's ``Grant.dump`` makes of a client-credentials grant before its token is minted:
    ``sub`` names the client (RFC 9068 §2.2: no user is involved), the token's audience is the
    client, and only the access token's usage rules are kept (the only class it mints: the others
    would weigh its row down)."""
    return {
        "sub": client_id,
        "used": 0,
        "extra": {},
        "scope": scope,
        "claims": {},
        "revoked": False,
        "issued_at": now,
        "resources": [client_id],
        "expires_at": 0,
        "not_before": 0,
        "usage_rules": {"access_token": rules},
        # its payload claims (client_id, sub) are read from its authorization request
        "authorization_request": {_REQUEST: {"client_id": client_id, "scope": " ".join(scope)}},
    }


def issue_token(context, client_id: str, client: dict, scope: list, jkt: str = "") -> dict:
    """A grant of its own for one access token, written as its row; the token response's fields.
    ``jkt``: the token is bound to that DPoP key (RFC 9449 §5, ``idpy.dpop``)."""
    rules = context.authz.usage_rules(client_id).get("access_token", {})
    handler = context.session_manager.token_handler["access_token"]
    now = utc_time_sans_frac()
    expires_at = now + (rules.get("expires_in") or handler.lifetime)
    path = [NO_USER, client_id, new_id()]
    session_id = context.session_manager.encrypted_branch_id(*path)
    grant = grant_data(client_id, scope, rules, now)
    token = {
        "id": new_id(),
        "name": AccessToken.__name__,
        "used": 0,
        "scope": scope,
        "claims": {},
        "revoked": False,
        "issued_at": now,
        "resources": [],
        "expires_at": expires_at,
        "not_before": 0,
        "token_type": "Bearer",
        "token_class": "access_token",
        "usage_rules": rules,
    }
    payload = {}
    if client.get("access_token_format") == "jwt":  # an opaque token carries only its session id
        # ``Grant.payload_arguments`` for this grant: no claims about a user, as there is none
        payload = {"scope": scope, "aud": [client_id], "jti": new_id(), "client_id": client_id, "sub": client_id}
        if jkt:
            payload["cnf"] = {"jkt": jkt}  # RFC 9449 §6.1
    if jkt:
        token.update(name=BoundAccessToken.__name__, token_type="DPoP", jkt=jkt)
    token["value"] = handler(session_id=session_id, usage_rules=rules, **payload)
    issued = {_BOUND_TOKEN if jkt else _TOKEN: token}
    insert_grant(path, {**grant, "used": 1, "expires_at": expires_at, "issued_token": [issued]})
    return {"access_token": token["value"], "token_type": token["token_type"], "expires_in": expires_at - now}
