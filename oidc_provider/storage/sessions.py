"""Row store for idpyoidc's session tree (``session_manager.db``), one ``SessionNode`` per node.

idpyoidc only calls ``get``, ``[]``, ``[]=``, ``del`` and ``in`` on it, and never lists it. Rows are
read through the current unit of work's identity map and written by ``flush`` at its end. A node's
``subordinate`` list is derived from its children's ``parent_key`` and never stored, so two
concurrent logins cannot lose each other's grants.
"""

import datetime as dt
import json

from cryptojwt.utils import importer, qualified_name
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.constants import OnConflict
from django.utils import timezone
from idpyoidc.server.constant import DIVIDER
from idpyoidc.server.session.grant import Grant, token_map_dump
from idpyoidc.server.session.info import ClientSessionInfo, NodeInfo, UserSessionInfo
from idpyoidc.server.session.token import TOKEN_MAP

from oidc_provider.conf import oidc_settings
from oidc_provider.idpy.fast import impexp
from oidc_provider.models import OPSession, SessionNode
from oidc_provider.storage.token_values import at_rest, loaded
from oidc_provider.storage.unit_of_work import current

_KINDS = {1: SessionNode.USER, 2: SessionNode.CLIENT, 3: SessionNode.GRANT}


def _dump(obj):
    data = impexp.dump(obj, ["subordinate"])
    return _compact(data) if isinstance(obj, Grant) else data


# A grant's row holds no token's value, only its keyed hash (defect 74, ``storage.token_values``),
# and each derived token names its parent by reference; an ID token's value (~1.4 kB) is never read
# back (only its ``session_id``: ``prune_tokens``), so its reference is its own id. A token's usage
# rules are most often its grant's for its class, and a grant's token map idpyoidc's default: neither
# is repeated either, which keeps a client-credentials grant under PostgreSQL's 2 kB compression
# threshold. Nor are the attributes of a grant and its tokens still at the value idpyoidc's
# constructors give them (most of them, in every grant): loading leaves them at that value.
_REF = "#"  # a based_on naming a token of the same grant by id; no token value or digest contains "#"
_DEFAULT_TOKEN_MAP = token_map_dump(TOKEN_MAP)  # what Grant() has when the row names none
_DEFAULTS = {"expires_at": 0, "not_before": 0, "revoked": False, "used": 0, "claims": {}, "extra": {}, "resources": [],
             "scope": []}


def _without_defaults(data, name=None):
    return {k: v for k, v in data.items() if not (k in _DEFAULTS and v == _DEFAULTS[k]) and not (k == "name" and v == name)}


def _tokens(data):
    return [(name, token) for item in data.get("issued_token") or [] for name, token in item.items()]


def _is_ref(token):
    return (token.get("based_on") or "").startswith(_REF)


def _is_id_token(token):
    return token.get("token_class") == "id_token"


def _compact(data):
    tokens = _tokens(data)
    digests = {token["id"]: at_rest(token["value"]) for _, token in tokens if not _is_id_token(token)}
    ids = {digest: token_id for token_id, digest in digests.items()}
    rules = data.get("usage_rules") or {}
    issued = []
    for name, token in tokens:
        # an ID token's: not emptied, as idpyoidc's recursive revoke_token(based_on=value) revokes all on a falsy one
        changes = {"value": _REF + token["id"] if _is_id_token(token) else digests[token["id"]]}
        if token.get("based_on"):
            parent = at_rest(token["based_on"])
            changes["based_on"] = _REF + ids[parent] if parent in ids else parent
        if token.get("usage_rules") and token["usage_rules"] == rules.get(token.get("token_class")):
            changes["usage_rules"] = _REF
        issued.append({name: _without_defaults({**token, **changes}, name.rpartition(".")[2])})
    compact = _without_defaults({k: v for k, v in data.items() if k != "token_map" or v != _DEFAULT_TOKEN_MAP})
    if tokens:
        compact["issued_token"] = issued
    return compact


def _expand(data):
    """``_compact`` undone (bar the ID tokens' values and the default token map, which ``Grant()``
    sets), without touching ``data``: it is the baseline a node's new dump is compared with. A
    reference to a token no longer there reads as no parent, as ``prune_tokens`` would have left it."""
    tokens = _tokens(data)
    if not any(_is_ref(token) or token.get("usage_rules") == _REF for _, token in tokens):
        return data
    values = {token["id"]: token["value"] for _, token in tokens}
    rules = data.get("usage_rules") or {}

    def resolved(token):
        token = dict(token)
        if _is_ref(token):
            parent = values.get(token.pop("based_on")[1:])  # a dump leaves an unset one out
            if parent:
                token["based_on"] = parent
        if token.get("usage_rules") == _REF:
            token["usage_rules"] = rules.get(token.get("token_class")) or {}
        return token

    issued = [{name: resolved(token)} for name, token in tokens]
    return {**data, "issued_token": issued}


def _is_live(token, now):
    return not token.revoked and (not token.expires_at or token.expires_at > now)


def prune_tokens(grant, now):
    """Drop what no request will read again (idpyoidc keeps every token forever, so a
    grant's row would grow with each refresh):

    - expired and revoked tokens, except the parent of a live token without a scope of its own
      (``find_scope`` reads it there; rotation would otherwise keep every refresh token of the last
      access-token lifetime), and a refresh token rotated out less than REFRESH_TOKEN_REUSE_WINDOW
      ago (``idpy.refresh_token``: presented again then, it is a retry, not a replay);
    - every ID token but the latest, expired or not: its ``sid`` is what a logout token must carry
      (``last_issued_token_of_type``), and nothing reads the older ones;
    - the ``based_on`` of a token whose parent is gone and that has a scope of its own: a dangling
      reference (about 50 bytes each) that nothing can follow.

    What remains grows only with the access tokens still live: refreshes within ACCESS_TOKEN_LIFETIME.
    """
    window = oidc_settings.REFRESH_TOKEN_REUSE_WINDOW
    needed, rotated = set(), set()
    for t in grant.issued_token:
        if t.based_on and _is_live(t, now) and not t.scope:
            needed.add(at_rest(t.based_on))
        if t.based_on and t.token_class == "refresh_token" and now - t.issued_at < window:
            rotated.add(at_rest(t.based_on))
    id_token = grant.last_issued_token_of_type("id_token")
    grant.issued_token = [
        t for t in grant.issued_token
        if (t is id_token and not t.revoked)
        or (t.token_class != "id_token" and (_is_live(t, now) or _kept(t, needed, rotated)))
    ]
    values = {at_rest(t.value) for t in grant.issued_token if t.token_class != "id_token"}
    for token in grant.issued_token:
        if token.based_on and token.scope and at_rest(token.based_on) not in values:
            token.based_on = None


def _kept(token, needed, rotated):
    if not needed and not rotated:
        return False
    value = at_rest(token.value)
    return value in needed or (token.token_class == "refresh_token" and value in rotated)


def _now():
    return int(dt.datetime.now(tz=dt.timezone.utc).timestamp())


_CLASSES = {}


def _node(class_name, data):
    cls = _CLASSES.get(class_name)
    if cls is None:
        cls = _CLASSES[class_name] = importer(class_name)
    if not issubclass(cls, Grant):
        return impexp.load(cls, data)
    grant = impexp.load(cls, _expand(data))
    for token in grant.issued_token:
        if token.token_class != "id_token":
            token.value = loaded(token.value)
        if token.based_on:
            token.based_on = loaded(token.based_on)
    return grant


def load_node(row):
    """The idpyoidc object (``UserSessionInfo``, ``ClientSessionInfo``, ``Grant``) a row holds."""
    return _node(row.class_name, row.data)


def _table():
    return connection.ops.quote_name(SessionNode._meta.db_table)


class Children(list):
    """A node's ``subordinate``: the keys of its children, read from their rows (and this unit's new
    nodes) the first time anything looks. Only logout and revocation walk the tree downwards, so
    the requests that just follow one branch never pay for a user's other grants."""

    def __init__(self, key):
        super().__init__()
        self.key, self.filled = key, False

    def fill(self):
        if self.filled:
            return
        self.filled = True
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT "key" FROM {_table()} WHERE "parent_key" = %s ORDER BY "created_at", "id"', [self.key])
            keys = [row[0] for row in cursor.fetchall()]
        unit = current()
        prefix = self.key + DIVIDER
        keys += [k for k in unit.nodes if k.startswith(prefix) and DIVIDER not in k[len(prefix):] and k not in keys]
        super().extend(k for k in keys if k not in unit.deleted)


def _filled(name):
    method = getattr(list, name)

    def wrapper(self, *args, **kwargs):
        self.fill()
        return method(self, *args, **kwargs)

    wrapper.__name__ = name
    return wrapper


for _name in ("__iter__", "__len__", "__contains__", "__getitem__", "__eq__", "__ne__", "__repr__", "__reversed__",
              "__add__", "__iadd__", "__delitem__", "__setitem__", "append", "extend", "insert", "remove", "pop",
              "index", "count", "copy", "sort", "reverse", "clear"):
    setattr(Children, _name, _filled(_name))


def branch_keys(path):
    """``[u, c, g]`` -> ``["u", "u;;c", "u;;c;;g"]``: the keys of every node on the path."""
    return [DIVIDER.join(path[: i + 1]) for i in range(len(path))]


class RowSessionStore:
    """A ``DLDict`` look-alike over ``SessionNode`` rows.

    A miss loads what ``idpy.session_manager`` announced for the key in one statement (a grant alone,
    a user or client node with its branch), else the key with its own ancestors. On requests
    that spend single-use things the grant row is locked (``SELECT … FOR UPDATE``) as it is read.
    Keys not found are remembered for the rest of the unit.
    """

    def _load(self, key):
        unit = current()
        entry = unit.nodes.get(key)
        if entry is not None:
            return entry[0]
        if key in unit.deleted or key in unit.missing:
            return None
        self._fetch(unit, unit.branches.get(key) or branch_keys(key.split(DIVIDER)))
        entry = unit.nodes.get(key)
        return None if entry is None else entry[0]

    def _fetch(self, unit, keys):
        keys = [k for k in keys if k not in unit.nodes and k not in unit.deleted and k not in unit.missing]
        if not keys:
            return
        select = f'SELECT "key", "class_name", "data" FROM {_table()} WHERE "key"'

        def any_of(some):
            return f'{select} IN ({", ".join(["%s"] * len(some))})'

        locked = next((k for k in keys if k.count(DIVIDER) == 2), None) if unit.lock else None
        if locked:
            unit.begin()  # the lock (SQLite: the IMMEDIATE transaction) lasts until the unit ends
        others = [k for k in keys if k != locked]
        if locked and connection.vendor == "postgresql":
            # only the grant row is locked: its user and client nodes stay free for other requests
            sql = f"WITH locked AS ({select} = %s FOR UPDATE) SELECT * FROM locked"
            statements = [(f"{sql} UNION ALL {any_of(others)}" if others else sql, [locked, *others])]
        elif locked and connection.features.has_select_for_update:
            statements = [(f"{select} = %s FOR UPDATE", [locked])] + ([(any_of(others), others)] if others else [])
        else:  # SQLite: one writer at a time, nothing to lock
            statements = [(any_of(keys), keys)]
        rows = []
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                rows += cursor.fetchall()
        for row_key, class_name, data in rows:
            data = json.loads(data) if isinstance(data, str) else data
            obj = _node(class_name, data)
            if isinstance(obj, NodeInfo):
                obj.subordinate = Children(row_key)
            unit.nodes[row_key] = [obj, data]
        for key in keys:
            if key not in unit.nodes:
                if key in unit.implied:
                    _new_parent(unit, key)
                else:
                    unit.missing.add(key)

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
        if isinstance(obj, NodeInfo) and not isinstance(obj.subordinate, Children):
            obj.subordinate = Children(key)
        unit.deleted.discard(key)
        entry = unit.nodes.get(key)
        if entry is None:
            if self._load(key) is not None:  # exists in the database: replace, keep its baseline
                unit.nodes[key][0] = obj
            else:
                unit.missing.discard(key)
                unit.nodes[key] = [obj, None]
        else:
            entry[0] = obj
        parent = unit.nodes.get(key.rpartition(DIVIDER)[0]) if DIVIDER in key else None
        if parent is not None and parent[0].subordinate.filled and key not in parent[0].subordinate:
            list.append(parent[0].subordinate, key)

    def __delitem__(self, key):
        unit = current()
        unit.nodes.pop(key, None)
        unit.deleted.add(key)

    def keys(self):
        raise NotImplementedError("the session tree is never listed whole: a request reads only its rows")


def _row_fields(key, class_name, data):
    parts = key.split(DIVIDER)
    expires_at = data.get("expires_at") if len(parts) == 3 else None
    return {
        "parent_key": DIVIDER.join(parts[:-1]),
        "kind": _KINDS[len(parts)],
        "user_id": parts[0],
        "client_id": parts[1] if len(parts) > 1 else "",
        "class_name": class_name,
        "data": data,
        "revoked": bool(data.get("revoked")),
        "expires_at": dt.datetime.fromtimestamp(expires_at, tz=dt.timezone.utc) if expires_at else None,
    }


_PARENT_SQL = 'SELECT 1 FROM {table} WHERE "key" = %s'


def _key_share():
    """What a foreign key takes on PostgreSQL, so ``clearexpired`` cannot delete a parent before this
    transaction ends. SQLite has one writer at a time: nothing to lock."""
    return " FOR KEY SHARE" if connection.vendor == "postgresql" else ""


def _lock_parent(key):
    """Does the row ``key`` exist? Held until the transaction ends (``_key_share``)."""
    with connection.cursor() as cursor:
        cursor.execute(_PARENT_SQL.format(table=_table()) + _key_share(), [key])
        return cursor.fetchone() is not None


class OPSessionEnded(Exception):
    """A grant was refused: the OP session it was made in has ended (or is gone) meanwhile."""


def _live_op_session_sql(hold=True):
    """Is the OP session (``%s``) live: its row there, not ended? ``hold``: on PostgreSQL held against
    its end until this transaction ends: ``logout.end_op_sessions`` sets ``ended_at`` and then revokes
    the session's grants, so a grant inserted meanwhile is either refused or committed before that
    revocation looks for it."""
    table = connection.ops.quote_name(OPSession._meta.db_table)
    lock = " FOR SHARE" if hold and connection.vendor == "postgresql" else ""
    return f'SELECT 1 FROM {table} WHERE "key" = %s AND "ended_at" IS NULL{lock}'


def op_session_live(key, hold=False) -> bool:
    """Is the OP session ``key`` live (``_live_op_session_sql``)? A key whose row is gone (``clearexpired``
    deletes ended ones) is not."""
    with connection.cursor() as cursor:
        cursor.execute(_live_op_session_sql(hold), [key])
        return cursor.fetchone() is not None


def _insert(key, fields, op_session="", if_absent=False, under=None, live=False):
    """Insert a node's row. ``if_absent``: when another request inserted the same key meanwhile,
    its row stands (user and client nodes are the same whoever creates them). ``under``: insert only
    if that parent row exists, holding it as ``_lock_parent`` does; and with ``live``, only if the OP
    session ``op_session`` is live, held as ``_live_op_session_sql`` says. Returns whether a row went in."""
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    values = {**fields, "key": key, "data": ops.adapt_json_value(fields["data"], None),
              "expires_at": ops.adapt_datetimefield_value(fields["expires_at"]), "op_session": op_session,
              "created_at": now, "updated_at": now}
    conflict = OnConflict.IGNORE if if_absent else None
    params = list(values.values())
    rows = f"VALUES ({', '.join(['%s'] * len(values))})"
    if under is not None:  # the parent's check and lock in the insert itself: one statement less
        rows = f'SELECT {", ".join(["%s"] * len(values))} WHERE EXISTS ({_PARENT_SQL.format(table=_table())}{_key_share()})'
        params.append(under)
        if live:
            rows += f" AND EXISTS ({_live_op_session_sql()})"
            params.append(op_session)
    sql = (f"{ops.insert_statement(on_conflict=conflict)} {_table()} ({', '.join(ops.quote_name(c) for c in values)}) "
           f"{rows} {ops.on_conflict_suffix_sql([], conflict, [], [])}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def _new_parent(unit, key):
    """A user or client node as idpyoidc's ``_setup_branch`` makes a missing one, in the identity map
    to be inserted."""
    node_id = key.rpartition(DIVIDER)[2]
    node = ClientSessionInfo(id=node_id) if DIVIDER in key else UserSessionInfo(id=node_id)
    node.subordinate = Children(key)
    unit.missing.discard(key)
    entry = unit.nodes[key] = [node, None]
    return entry


def _ensure_parent(unit, key):
    """Make sure the parent ``key`` of a node about to be inserted exists and stays until commit.

    ``clearexpired`` deletes client and user nodes left without children; one may go between the
    moment this request loaded it and the insert of its new child; and a new grant's parents are not
    read at all (``idpy.session_manager``). The parent is then re-created from this unit's identity
    map, or as idpyoidc's ``_setup_branch`` makes a missing one (its own parent first), so no node is
    ever orphaned. See ``cleanup._delete_batch`` for the other half of the protocol.
    """
    if _lock_parent(key):
        return
    entry = unit.nodes.get(key) or _new_parent(unit, key)
    obj = entry[0]
    data = _dump(obj)
    fields = _row_fields(key, qualified_name(obj.__class__), data)
    if fields["parent_key"]:
        _ensure_parent(unit, fields["parent_key"])
    _insert(key, fields, if_absent=True)  # or re-created by another request meanwhile
    _lock_parent(key)
    entry[1] = entry[1] or data


def _update(key, fields):
    """Write a changed node: raw SQL, as this runs on every request that touches a grant."""
    ops = connection.ops
    params = [ops.adapt_json_value(fields["data"], None), fields["revoked"],
              ops.adapt_datetimefield_value(fields["expires_at"]), ops.adapt_datetimefield_value(timezone.now()), key]
    sql = f'UPDATE {_table()} SET "data" = %s, "revoked" = %s, "expires_at" = %s, "updated_at" = %s WHERE "key" = %s'
    if not fields["revoked"]:
        sql += ' AND "revoked" = %s'  # never resurrect a node revoked since it was loaded
        params.append(False)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def flush(unit):
    """Write the nodes this unit created or changed; delete the ones it removed. One grant written
    is one statement, atomic on its own; anything more runs in the unit's transaction."""
    now = _now()
    changed = []
    # parents first, so a crash between rows never leaves an orphan
    for key in sorted(unit.nodes, key=lambda k: k.count(DIVIDER)):
        obj, baseline = unit.nodes[key]
        if isinstance(obj, Grant):
            prune_tokens(obj, now)
        data = _dump(obj)
        if baseline is None or data != baseline:
            changed.append((key, obj, baseline, data))
    if unit.deleted or len(changed) > 1 or changed and not isinstance(changed[0][1], Grant):
        unit.begin()
    if unit.deleted:
        SessionNode.objects.filter(key__in=unit.deleted).delete()
    for key, obj, baseline, data in changed:
        fields = _row_fields(key, qualified_name(obj.__class__), data)
        parent = fields["parent_key"] or None
        if baseline is not None:
            _update(key, fields)
        elif not isinstance(obj, Grant):
            if parent:
                _ensure_parent(unit, parent)
            _insert(key, fields, if_absent=True)  # two requests may create it at once: first one wins
        else:
            _insert_grant(unit, key, fields)
        unit.nodes[key][1] = data


def _insert_grant(unit, key, fields):
    """A new grant's row: one statement, unless its client node is missing. A grant made in an OP
    session (an authorization) goes in only while that session is live, else ``OPSessionEnded``:
    the check costs no statement of its own, and no grant outlives the session's end."""
    live = bool(unit.op_session)
    if not _insert(key, fields, op_session=unit.op_session, under=fields["parent_key"], live=live):
        unit.begin()
        if live and not op_session_live(unit.op_session, hold=True):
            raise OPSessionEnded(unit.op_session)
        _ensure_parent(unit, fields["parent_key"])  # no parent yet, or it went meanwhile: (re-)create it
        _insert(key, fields, op_session=unit.op_session)


GRANT_CLASS = qualified_name(Grant)


def insert_grant(path, data):
    """Write a new grant given as its dump (what ``Grant.dump`` makes), as ``flush`` writes one made
    here: for a grant no later step of the request reads (``idpy.client_credentials``)."""
    key = DIVIDER.join(path)
    _insert_grant(current(), key, _row_fields(key, GRANT_CLASS, _compact(data)))


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
