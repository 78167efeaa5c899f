"""Row store for idpyoidc's session tree (``session_manager.db``), one ``SessionNode`` per node.

idpyoidc only calls ``get``, ``[]``, ``[]=``, ``del`` and ``in`` on it (notes §5.3). Rows are read
through the current unit of work's identity map and written by ``flush`` at its end. A node's
``subordinate`` list is derived from its children's ``parent_key`` and never stored, so two
concurrent logins cannot lose each other's grants.
"""

import datetime as dt
import json

from cryptojwt.utils import importer, qualified_name
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from idpyoidc.server.constant import DIVIDER
from idpyoidc.server.session.grant import Grant
from idpyoidc.server.session.info import NodeInfo

from oidc_provider.models import SessionNode
from oidc_provider.storage.unit_of_work import current

_KINDS = {1: SessionNode.USER, 2: SessionNode.CLIENT, 3: SessionNode.GRANT}


def _dump(obj):
    data = obj.dump()
    data.pop("subordinate", None)
    return data


def _fingerprint(data):
    return json.dumps(data, sort_keys=True, default=str)


def _is_live(token, now):
    return not token.revoked and (not token.expires_at or token.expires_at > now)


def prune_tokens(grant, now):
    """Drop what no request will read again (notes §5.3: idpyoidc keeps every token forever, so a
    grant's row would grow with each refresh):

    - expired and revoked tokens, except the parent of a live token without a scope of its own
      (``find_scope`` reads it there; rotation would otherwise keep every refresh token of the last
      access-token lifetime);
    - every ID token but the latest, expired or not: its ``sid`` is what a logout token must carry
      (``last_issued_token_of_type``), and nothing reads the older ones;
    - the ``based_on`` of a token whose parent is gone and that has a scope of its own: a dangling
      reference (about 1 kB each) that nothing can follow.

    What remains grows only with the access tokens still live: refreshes within ACCESS_TOKEN_LIFETIME.
    """
    needed = {t.based_on for t in grant.issued_token if _is_live(t, now) and t.based_on and not t.scope}
    id_token = grant.last_issued_token_of_type("id_token")
    grant.issued_token = [
        t for t in grant.issued_token
        if (t is id_token and not t.revoked)
        or (t.token_class != "id_token" and (_is_live(t, now) or t.value in needed))
    ]
    values = {t.value for t in grant.issued_token}
    for token in grant.issued_token:
        if token.based_on and token.scope and token.based_on not in values:
            token.based_on = None


def _now():
    return int(dt.datetime.now(tz=dt.timezone.utc).timestamp())


def load_node(row):
    """The idpyoidc object (``UserSessionInfo``, ``ClientSessionInfo``, ``Grant``) a row holds."""
    return importer(row.class_name)().load(row.data)


class RowSessionStore:
    """A ``DLDict`` look-alike over ``SessionNode`` rows."""

    def _load(self, key):
        unit = current()
        if key in unit.deleted:
            return None
        if key in unit.nodes:
            return unit.nodes[key][0]
        rows = SessionNode.objects.filter(key=key)
        if unit.lock and key.count(DIVIDER) == 2:
            rows = rows.select_for_update()
        row = rows.first()
        if row is None:
            return None
        obj = load_node(row)
        if isinstance(obj, NodeInfo):
            obj.subordinate = list(
                SessionNode.objects.filter(parent_key=key).order_by("created_at", "id").values_list("key", flat=True)
            )
        unit.nodes[key] = [obj, _fingerprint(row.data)]
        return obj

    def get(self, key, default=None):
        obj = self._load(key)
        return default if obj is None else obj

    def __getitem__(self, key):
        obj = self._load(key)
        if obj is None:
            raise KeyError(key)
        return obj

    def __contains__(self, key):
        return self._load(key) is not None

    def __setitem__(self, key, obj):
        if isinstance(obj, Grant) and DIVIDER not in key:
            # Defect 30: mint_token re-stores the grant under `unpack_session_key(<encrypted
            # session id>)`, a one-element path. A grant is never a root node; the real row is
            # already in the identity map and is written at flush.
            return
        unit = current()
        unit.deleted.discard(key)
        entry = unit.nodes.get(key)
        if entry is None:
            if self._load(key) is not None:  # exists in the database: replace, keep its fingerprint
                unit.nodes[key][0] = obj
            else:
                unit.nodes[key] = [obj, None]
        else:
            entry[0] = obj

    def __delitem__(self, key):
        unit = current()
        unit.nodes.pop(key, None)
        unit.deleted.add(key)

    def keys(self):
        raise NotImplementedError("the session tree is never listed whole (DESIGN.md rule 2)")


def _row_fields(key, obj, data):
    parts = key.split(DIVIDER)
    fields = {
        "parent_key": DIVIDER.join(parts[:-1]),
        "kind": _KINDS[len(parts)],
        "user_id": parts[0],
        "client_id": parts[1] if len(parts) > 1 else "",
        "class_name": qualified_name(obj.__class__),
        "data": data,
        "revoked": bool(getattr(obj, "revoked", False)),
        "expires_at": None,
    }
    if isinstance(obj, Grant) and obj.expires_at:
        fields["expires_at"] = dt.datetime.fromtimestamp(obj.expires_at, tz=dt.timezone.utc)
    return fields


def _lock_parent(key):
    """Does the row ``key`` exist? On PostgreSQL, also hold it with FOR KEY SHARE (what a foreign
    key takes) until the transaction ends, so ``clearexpired`` cannot delete it meanwhile."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(SessionNode._meta.db_table)} WHERE \"key\" = %s FOR KEY SHARE", [key])
            return cursor.fetchone() is not None
    return SessionNode.objects.filter(key=key).exists()  # SQLite: one writer at a time


def _ensure_parent(unit, key):
    """Make sure the parent ``key`` of a node about to be inserted exists and stays until commit.

    ``clearexpired`` deletes client and user nodes left without children; one may go between the
    moment this request loaded it and the insert of its new child. The parent is then re-created
    from this unit's identity map (and its own parent first), so no node is ever orphaned. See
    ``cleanup._delete_batch`` for the other half of the protocol.
    """
    if _lock_parent(key):
        return
    entry = unit.nodes.get(key)
    if entry is None:
        return  # not loaded here: nothing to re-create it from (idpyoidc loads it before adding a child)
    obj = entry[0]
    fields = _row_fields(key, obj, _dump(obj))
    if fields["parent_key"]:
        _ensure_parent(unit, fields["parent_key"])
    try:
        with transaction.atomic():
            SessionNode.objects.create(key=key, **fields)
    except IntegrityError:  # re-created by another request meanwhile
        pass
    _lock_parent(key)


def flush(unit):
    """Write the nodes this unit created or changed; delete the ones it removed."""
    now = _now()
    if unit.deleted:
        SessionNode.objects.filter(key__in=unit.deleted).delete()
    # parents first, so a crash between rows never leaves an orphan
    for key in sorted(unit.nodes, key=lambda k: k.count(DIVIDER)):
        obj, fingerprint = unit.nodes[key]
        if isinstance(obj, Grant):
            prune_tokens(obj, now)
        data = _dump(obj)
        if fingerprint is not None and _fingerprint(data) == fingerprint:
            continue
        fields = _row_fields(key, obj, data)
        if fingerprint is None and fields["parent_key"]:
            _ensure_parent(unit, fields["parent_key"])
        if fingerprint is None and not isinstance(obj, Grant):
            # user and client nodes may be created by two requests at once: first one wins
            try:
                with transaction.atomic():
                    SessionNode.objects.create(key=key, **fields)
            except IntegrityError:
                pass
        elif fingerprint is None:
            SessionNode.objects.create(key=key, op_session=unit.op_session, **fields)
        else:
            rows = SessionNode.objects.filter(key=key)
            if not fields["revoked"]:
                rows = rows.filter(revoked=False)  # never resurrect a node revoked since it was loaded
            rows.update(updated_at=timezone.now(), **fields)
        unit.nodes[key][1] = _fingerprint(data)


def revoked_data(data, is_grant):
    """A node's dump with ``revoked`` set, and for a grant every token in ``issued_token`` too."""
    data = {**data, "revoked": True}
    if is_grant:
        # Grant.dump() -> issued_token_dump: [{"<qualified class name>": <SessionToken.dump()>}, ...]
        data["issued_token"] = [
            {name: {**token, "revoked": True} for name, token in item.items()} for item in data.get("issued_token", [])
        ]
    return data


def subtree(keys) -> Q:
    """Matches the nodes ``keys`` and every node under them."""
    match = Q(key__in=keys)
    for key in keys:
        match |= Q(key__startswith=key + DIVIDER)
    return match


def revoke_nodes(queryset):
    """Revoke the selected session-tree nodes, every node under them and every token in their grants.

    idpyoidc 5.0.0 revokes nodes but leaves their tokens usable (defect 6), so the rows are edited
    directly: locked with ``select_for_update`` (the token endpoint locks grant rows too) and written
    in one transaction. Returns how many rows were revoked.
    """
    with transaction.atomic():
        keys = list(queryset.values_list("key", flat=True))
        if not keys:
            return 0
        rows = list(SessionNode.objects.select_for_update().filter(subtree(keys)).order_by("pk"))
        for row in rows:
            row.revoked = True
            row.data = revoked_data(row.data, row.kind == SessionNode.GRANT)
            row.save(update_fields=["revoked", "data", "updated_at"])
        return len(rows)
