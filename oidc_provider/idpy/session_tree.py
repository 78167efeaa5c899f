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

from oidc_provider import claims
from oidc_provider.idpy import node_codec
from oidc_provider.idpy.grant_tokens import (
    AUTHORIZATION_CODE,
    ID_TOKEN,
    REFRESH_TOKEN,
    TokenList,
    class_name,
    in_memory,
    token_row,
)
from oidc_provider.idpy.lazy_list import loads_before_use
from oidc_provider.idpy.token_pruning import prune_tokens
from oidc_provider.storage import session_tree_rows as rows
from oidc_provider.storage import token_rows, write_batch
from oidc_provider.storage.session_tree_rows import OPSessionEnded, branch_keys
from oidc_provider.storage.token_values import at_rest, presented
from oidc_provider.storage.unit_of_work import current


def _unit():
    """The current unit of work, which writes this store's changes when it ends."""
    unit = current()
    unit.at_end(flush)
    return unit


@loads_before_use("fill", except_for=("__mul__",))
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

    def want(self, key, value, token_class):
        """The token ``value`` (of ``token_class``) of the grant ``key`` will be asked for: read its row
        with the grant's."""
        unit = current()
        if key not in unit.nodes:
            unit.wanted.setdefault(key, {})[presented(value)] = token_class

    def _fetch(self, unit, keys):
        keys = [k for k in keys if k not in unit.nodes and k not in unit.deleted and k not in unit.missing]
        if not keys:
            return
        grant_key = next((k for k in keys if rows.is_grant_key(k)), None)
        wanted = unit.wanted.pop(grant_key, None) if grant_key else None
        locked = grant_key if unit.lock else None
        if locked:
            unit.begin()  # the lock (SQLite: the IMMEDIATE transaction) lasts until the unit ends
        user_id, user_statement, make_user = _user_read(unit, grant_key)
        digests = _rows_to_read(wanted, locked)
        parents = [d for d in digests if wanted[d] in _MAY_BE_REFRESH] if digests else None
        nodes, tokens, user_rows = rows.select_rows(keys, locked, digests, also=user_statement, parents=parents)
        if user_statement:
            unit.users[user_id] = make_user(user_rows)
        for row_key, name, data in nodes:
            data = json.loads(data) if isinstance(data, str) else data
            obj = node_codec.load(name, data, row_key)
            if isinstance(obj, NodeInfo):
                obj.subordinate = Children(row_key)
            elif isinstance(obj.issued_token, TokenList):
                unit.token_sources[row_key] = obj.issued_token.source
                if wanted:
                    _read_tokens(obj.issued_token, wanted, tokens)
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


def _user_read(unit, grant_key):
    """``(user_id, statement, make)``: the grant's user and its read (``claims.user_read``), when ``unit``
    reads users with their grants and has not read this one; else ``(None, None, None)``."""
    user_id = grant_key.split(DIVIDER, 1)[0] if grant_key and unit.users_with_grants else None
    read = claims.user_read(user_id) if user_id is not None and user_id not in unit.users else None
    return (user_id, *read) if read else (None, None, None)


# the classes a presented token is said to be of (``idpy.session_manager.want_token``) whose row may be a
# refresh token's, the parent of which is read with it
_MAY_BE_REFRESH = frozenset({REFRESH_TOKEN, ""})


def _rows_to_read(wanted, locked):
    """The digests of ``wanted`` (digest -> token class) to read with the grant, or None. Locked, none
    when only codes are wanted: a code is minted with its grant and kept in the grant's row, where a
    statement after the lock would find nothing. A code the grant's row does not hold (moved out by
    the ``0011_token_rows`` migration) is then read by ``_read_tokens``, one statement later."""
    if not wanted or (locked and all(c == AUTHORIZATION_CODE for c in wanted.values())):
        return None
    return list(wanted)


def _read_tokens(tokens, wanted, read):
    """Add the rows of the tokens ``wanted`` (digests) to a grant's ``tokens``: ``read`` with the grant,
    or else read now, unless the grant's own row holds them."""
    if read is None:
        in_row = {at_rest(t.value) for t in tokens.in_memory() if t.token_class != ID_TOKEN}
        missing = set(wanted) - in_row
        read = token_rows.by_digest(missing) if missing else []
    tokens.add_rows(read, wanted)


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
    fields = rows.row_fields(key, class_name(obj), data)
    if fields["parent_key"]:
        _ensure_parent(unit, fields["parent_key"])
    rows.insert(key, fields, if_absent=True)  # or re-created by another request meanwhile
    rows.lock_parent(key)
    entry[1] = entry[1] or data


def _now():
    return int(dt.datetime.now(tz=dt.UTC).timestamp())


def flush(unit):
    """Write the nodes ``unit`` created or changed, and their tokens; delete the ones it removed. One
    grant written is one statement, atomic on its own; anything more runs in the unit's transaction."""
    now = _now()
    changed, token_writes = [], []
    # parents first, so a crash between rows never leaves an orphan
    for key in sorted(unit.nodes, key=lambda k: k.count(DIVIDER)):
        obj, baseline = unit.nodes[key]
        if isinstance(obj, Grant):
            data, writes = _grant_parts(unit, key, obj, baseline is None, now)
            if writes.statements:
                token_writes.append((key, writes))
        else:
            data = node_codec.dump(obj)
        if baseline is None or data != baseline:
            changed.append((key, obj, baseline, data))
    statements = len(changed) + sum(w.statements for _, w in token_writes)
    if unit.deleted or statements > 1 or changed and not isinstance(changed[0][1], Grant):
        unit.begin()
    if unit.deleted:
        rows.delete(unit.deleted)
        token_rows.delete_grants(k for k in unit.deleted if rows.is_grant_key(k))
    writes = []  # the updates, sent together at the end (storage.write_batch): each touches rows of its own
    for key, obj, baseline, data in changed:
        fields = rows.row_fields(key, class_name(obj), data)
        parent = fields["parent_key"] or None
        if baseline is not None:
            writes.append(rows.update_sql(key, fields))
        elif not isinstance(obj, Grant):
            if parent:
                _ensure_parent(unit, parent)
            rows.insert(key, fields, if_absent=True)  # two requests may create it at once: first one wins
        else:
            _insert_grant(unit, key, fields)
        unit.nodes[key][1] = data
    for key, tokens in token_writes:
        if tokens.revoke_all:  # what was there when revoke_token() was called: first, on its own
            token_rows.revoke_grants([key])
        writes += tokens.sql(key)
    write_batch.execute(writes)


class TokenWrites:
    """What ``flush`` writes of a loaded grant's tokens that have rows of their own: the new ones in one
    statement, the ones only revoked in one (idpyoidc's recursive ``revoke_token`` of a replayed code),
    each other change in its own."""

    def __init__(self):
        self.new, self.changed, self.revoked, self.revoke_all = [], [], [], False

    @property
    def statements(self):
        return bool(self.new) + len(self.changed) + -(-len(self.revoked) // 500) + self.revoke_all

    def sql(self, key):
        """The statements of the grant ``key``'s token rows but ``revoke_all``: each its own rows."""
        new = [token_rows.insert_sql(key, self.new)] if self.new else []
        changed = [token_rows.update_sql(digest, used, revoked, data) for digest, used, revoked, data in self.changed]
        return new + token_rows.revoke_sql(self.revoked) + changed


def _expiry(seconds):
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC) if seconds else None


def _grant_parts(unit, key, grant, made_here, now):
    """A grant's row (its dump, the tokens it keeps pruned) and the writes of its other tokens. A grant
    made in this unit keeps every token minted with it; a loaded one its ID tokens and the tokens its
    row held, the others going to rows of their own."""
    tokens = in_memory(grant.issued_token)
    source = None if made_here else unit.token_sources.get(key)
    writes = TokenWrites()
    if source is None:
        return node_codec.dump(grant, prune_tokens(tokens, tokens, now)), writes
    in_row = [t for t in tokens if t.token_class == ID_TOKEN or t.id in source.row_ids]
    for token in tokens:
        if token.token_class == ID_TOKEN or token.id in source.row_ids:
            continue
        digest, token_class, name, based_on, used, revoked, expires_at, data = token_row(token, grant.usage_rules)
        read = source.read.get(token.id)
        if read is None:
            writes.new.append((digest, token_class, name, based_on, used, revoked, _expiry(expires_at), data))
        elif (used, revoked, data) == (read[1][0], True, read[1][2]) and not read[1][1]:
            writes.revoked.append(digest)
        elif (used, revoked, data) != read[1]:
            writes.changed.append((digest, used, revoked, None if data == read[1][2] else data))
    writes.revoke_all = source.revoke_all
    return node_codec.dump(grant, prune_tokens(in_row, tokens, now)), writes


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
