"""Finding a token from its value, and the two questions every endpoint asks of it: is it live, and
may this client see it."""

from cryptojwt.exception import Invalid
from idpyoidc.server.session.token import SessionToken
from idpyoidc.server.token.exception import TokenException, UnknownToken

# The order idpyoidc's token handler tries by default, minus ID tokens (never presented here).
TOKEN_CLASSES = ["access_token", "refresh_token", "authorization_code"]


def find_token(context, value, first=None, classes=TOKEN_CLASSES):
    """``(session_info, token)`` for a token value, or ``(None, None)`` for anything unknown or broken.

    ``first`` is a hint: that class is tried first, the others after (RFC 7662 §2.1, RFC 7009 §2.1:
    a hint is honoured but never trusted). The session info has the token's ``grant``.
    """
    order = sorted(classes, key=lambda c: c != first)
    manager = context.session_manager
    try:
        token_info = _token_info(manager, value, order)
        sid = token_info["sid"]
        manager.want_token(sid, value, token_info.get("token_class", ""))
        info = manager.get_session_info(sid, grant=True)
    except Exception:  # the handlers raise many types for a bad, foreign or expired token
        return None, None
    token = info["grant"].get_token(value)
    return (info, token) if isinstance(token, SessionToken) else (None, None)


def _token_info(manager, value, order):
    """The first of ``order``'s handlers that reads ``value``, as ``TokenHandler.info`` tries them; a
    value already read in this request (the userinfo endpoint's client authentication reads it as
    an access token) is not decrypted again."""
    for token_class in order:
        try:
            return manager.token_info(value, token_class)
        except (KeyError, TokenException, Invalid, AttributeError):  # TokenHandler.get_handler's
            continue
    raise UnknownToken(value)


def is_live(info, token) -> bool:
    """The token and its grant are active. Defect 6: logout revokes session nodes and their grants,
    not the tokens in them. (A revoked node above stays revoked while new grants grow under it.)"""
    return token.is_active() and info["grant"].is_active()


def audience(info, token) -> list:
    return token.resources or info["grant"].resources


def visible_to(info, token, client_id) -> bool:
    """Whether ``client_id`` may introspect or exchange the token: it was issued to that client,
    or names it in its audience."""
    return info["client_id"] == client_id or client_id in audience(info, token)
