"""idpyoidc's session tree (``session_manager.db``: user, client and grant nodes) kept in
``SessionNode`` rows, one per node, through the current unit of work.

idpyoidc only calls ``get``, ``[]``, ``[]=``, ``del`` and ``in`` on it, and never lists it. Rows are
read into the unit's identity map and the nodes whose dump changed are written by ``flush`` when the
unit's work is done. A node's ``subordinate`` list is derived from its children's ``parent_key`` and
never stored, so two concurrent logins cannot lose each other's grants.
"""

import datetime as dt
import json

from cryptojwt.utils import qualified_name
from idpyoidc.server.constant import DIVIDER
from idpyoidc.server.session.grant import Grant
from idpyoidc.server.session.info import ClientSessionInfo, NodeInfo, UserSessionInfo

from oidc_provider.idpy import node_codec
from oidc_provider.idpy.token_pruning import prune_tokens
from oidc_provider.storage import session_tree_rows as rows
from oidc_provider.storage.session_tree_rows import OPSessionEnded, branch_keys
from oidc_provider.storage.unit_of_work import current


def _unit():
    """The current unit of work, which writes this store's changes when it ends."""
    unit = current()
    unit.at_end(flush)
    return unit


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
        keys = rows.child_keys(self.key)
        unit = _unit()
        prefix = self.key + DIVIDER
        keys += [k for k in unit.nodes if k.startswith(prefix) and DIVIDER not in k[len(prefix) :] and k not in keys]
        super().extend(k for k in keys if k not in unit.deleted)


def _filled(name):
    method = getattr(list, name)

    def wrapper(self, *args, **kwargs):
        self.fill()
        return method(self, *args, **kwargs)

    wrapper.__name__ = name
    return wrapper


for _name in (
    "__iter__",
    "__len__",
    "__contains__",
    "__getitem__",
    "__eq__",
    "__ne__",
    "__repr__",
    "__reversed__",
    "__add__",
    "__iadd__",
    "__delitem__",
    "__setitem__",
    "append",
    "extend",
    "insert",
    "remove",
    "pop",
    "index",
    "count",
    "copy",
    "sort",
    "reverse",
    "clear",
):
    setattr(Children, _name, _filled(_name))


class SessionTreeStore:
    """A ``DLDict`` look-alike over ``SessionNode`` rows: idpyoidc's ``SessionManager.db``.

    A miss loads what ``idpy.session_manager`` announced for the key in one statement (a grant alone,
    a user or client node with its branch), else the key with its own ancestors. On requests
    that spend single-use things the grant row is locked (``SELECT … FOR UPDATE``) as it is read.
    Keys not found are remembered for the rest of the unit.
    """

    def _load(self, key):
        unit = _unit()
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
        locked = next((k for k in keys if rows.is_grant_key(k)), None) if unit.lock else None
        if locked:
            unit.begin()  # the lock (SQLite: the IMMEDIATE transaction) lasts until the unit ends
        for row_key, class_name, data in rows.select_rows(keys, locked):
            data = json.loads(data) if isinstance(data, str) else data
            obj = node_codec.load(class_name, data)
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
        unit = _unit()
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
        parent = unit.nodes.get(rows.parent_key(key))
        if parent is not None and parent[0].subordinate.filled and key not in parent[0].subordinate:
            list.append(parent[0].subordinate, key)

    def __delitem__(self, key):
        unit = _unit()
        unit.nodes.pop(key, None)
        unit.deleted.add(key)

    def keys(self):
        raise NotImplementedError("the session tree is never listed whole: a request reads only its rows")


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
    if rows.lock_parent(key):
        return
    entry = unit.nodes.get(key) or _new_parent(unit, key)
    obj = entry[0]
    data = node_codec.dump(obj)
    fields = rows.row_fields(key, qualified_name(obj.__class__), data)
    if fields["parent_key"]:
        _ensure_parent(unit, fields["parent_key"])
    rows.insert(key, fields, if_absent=True)  # or re-created by another request meanwhile
    rows.lock_parent(key)
    entry[1] = entry[1] or data


def _now():
    return int(dt.datetime.now(tz=dt.UTC).timestamp())


def flush(unit):
    """Write the nodes ``unit`` created or changed; delete the ones it removed. One grant written
    is one statement, atomic on its own; anything more runs in the unit's transaction."""
    now = _now()
    changed = []
    # parents first, so a crash between rows never leaves an orphan
    for key in sorted(unit.nodes, key=lambda k: k.count(DIVIDER)):
        obj, baseline = unit.nodes[key]
        if isinstance(obj, Grant):
            prune_tokens(obj, now)
        data = node_codec.dump(obj)
        if baseline is None or data != baseline:
            changed.append((key, obj, baseline, data))
    if unit.deleted or len(changed) > 1 or changed and not isinstance(changed[0][1], Grant):
        unit.begin()
    if unit.deleted:
        rows.delete(unit.deleted)
    for key, obj, baseline, data in changed:
        fields = rows.row_fields(key, qualified_name(obj.__class__), data)
        parent = fields["parent_key"] or None
        if baseline is not None:
            rows.update(key, fields)
        elif not isinstance(obj, Grant):
            if parent:
                _ensure_parent(unit, parent)
            rows.insert(key, fields, if_absent=True)  # two requests may create it at once: first one wins
        else:
            _insert_grant(unit, key, fields)
        unit.nodes[key][1] = data


def _insert_grant(unit, key, fields):
    """A new grant's row: one statement, unless its client node is missing. A grant made in an OP
    session (an authorization) goes in only while that session is live, else ``OPSessionEnded``:
    the check costs no statement of its own, and no grant outlives the session's end."""
    live = bool(unit.op_session)
    if not rows.insert(key, fields, op_session=unit.op_session, under=fields["parent_key"], live=live):
        unit.begin()
        if live and not rows.op_session_live(unit.op_session, hold=True):
            raise OPSessionEnded(unit.op_session)
        _ensure_parent(unit, fields["parent_key"])  # no parent yet, or it went meanwhile: (re-)create it
        rows.insert(key, fields, op_session=unit.op_session)


GRANT_CLASS = qualified_name(Grant)


def insert_grant(path, data):
    """Write a new grant given as its dump (what ``Grant.dump`` makes), as ``flush`` writes one made
    here: for a grant no later step of the request reads (``idpy.client_credentials``)."""
    key = DIVIDER.join(path)
    _insert_grant(current(), key, rows.row_fields(key, GRANT_CLASS, node_codec.compact(data)))
