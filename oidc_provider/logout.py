"""Logout: the OP session and its end.

An OP session (``OPSession``) is the OP's record of one signed-in browser: its key is kept in the
browser's login session (Django's) and every grant made while it lasts is recorded with it. Ending
it, by any path (the end_session endpoint, the site's own logout, the admin), revokes those grants
with every token in them (``idpy.end_session.EndSession.end_grants``), sends logout tokens to their
clients once the transaction has committed, and returns the front-channel logout URLs for the user's
page to load.
"""

import hashlib
import hmac

from django.db import transaction
from django.utils import timezone
from idpyoidc.server.constant import DIVIDER

from oidc_provider.conf import oidc_settings
from oidc_provider.crypto import expand_key
from oidc_provider.models import OPSession, SessionNode
from oidc_provider.server import get_server
from oidc_provider.session_keys import OP_SESSION_KEY
from oidc_provider.storage.revocation import subtree
from oidc_provider.storage.session_tree_rows import op_session_live


def end_session_endpoint():
    """idpyoidc's end_session endpoint (``idpy.end_session.EndSession``): it ends grants and makes their
    logout notices."""
    return get_server().get_endpoint("session")


def op_session_key(request) -> str:
    """The key of this browser's OP session, created with its first authorization. A keyed hash of
    the Django session's key: the first authorizations of one login, when they run at once (single
    sign-on in several tabs), make the same OP session, where random keys made one each and the
    Django session kept only the last written, leaving the others' grants out of its logout."""
    key = request.session.get(OP_SESSION_KEY)
    if not key:
        if request.session.session_key is None:  # a login outside django.contrib.auth's, not saved yet
            request.session.save()
        # Derived as before HKDF (crypto.expand_key): one login's first authorizations meet in one row
        # only if every process derives the same key, the ones not yet upgraded too.
        key = hmac.new(expand_key("op-session"), request.session.session_key.encode(), hashlib.sha256).hexdigest()
        OPSession.objects.bulk_create([OPSession(key=key, user_id=str(request.user.pk))], ignore_conflicts=True)
        request.session[OP_SESSION_KEY] = key
    return key


def op_session_ended(request) -> bool:
    """Was this browser's OP session ended elsewhere (the admin), or its row removed, while its Django
    session lives on?"""
    key = request.session.get(OP_SESSION_KEY)
    return bool(key) and not op_session_live(key)


def id_token_in_op_session(request, id_token) -> bool:
    """Was ``id_token`` (a verified id_token_hint) issued in this browser's current OP session?"""
    key = request.session.get(OP_SESSION_KEY)
    if not key or not id_token.get("sid"):
        return False
    try:
        path = get_server().context.session_manager.decrypt_session_id(id_token["sid"])
    except Exception:  # not a session id of this OP's
        return False
    return SessionNode.objects.filter(key=DIVIDER.join(path), op_session=key).exists()


def end_op_session(request) -> list[str]:
    """End this browser's OP session; call before Django's logout flushes the session."""
    key = request.session.pop(OP_SESSION_KEY, None)
    return end_op_sessions([key]) if key else []


def end_op_sessions(keys) -> list[str]:
    """End the OP sessions ``keys``; returns their front-channel logout URLs."""
    if not keys:
        return []
    with transaction.atomic():
        OPSession.objects.filter(key__in=keys, ended_at=None).update(ended_at=timezone.now())
        return end_grants(SessionNode.objects.filter(kind=SessionNode.GRANT, op_session__in=keys))


def end_grants(grants) -> list[str]:
    """Revoke the live grants among ``grants`` and every token in them, and notify their clients."""
    with transaction.atomic():
        rows = list(grants.filter(revoked=False).select_for_update())
        if not rows:
            return []
        deliveries, frontchannel_urls = end_session_endpoint().end_grants(rows)
        if deliveries:
            transaction.on_commit(lambda: oidc_settings.LOGOUT_DISPATCHER().dispatch(deliveries))
        return frontchannel_urls


def revoke_subtrees(queryset) -> int:
    """The admin's revoke: the selected nodes, everything under them and every token; the OP
    sessions their grants were made in end too (the user signs in again), and every client is told."""
    with transaction.atomic():
        grants = SessionNode.objects.filter(
            subtree(list(queryset.values_list("key", flat=True))), kind=SessionNode.GRANT
        )
        end_op_sessions(set(grants.exclude(op_session="").values_list("op_session", flat=True)))
        end_grants(grants)
        return end_session_endpoint().revoke(queryset)
