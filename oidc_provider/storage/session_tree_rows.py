"""The ``SessionNode`` rows of idpyoidc's session tree, in raw SQL: read by key, insert, update, lock.

A node's key is its path in the tree (user, client, grant) joined by idpyoidc's ``DIVIDER``. This
module knows rows and locks, not idpyoidc's objects: a row's ``data`` is what ``idpy.node_codec``
made of one. Raw SQL because this runs on every request that touches a grant, where the ORM's
statements cost more than the work.
"""

import datetime as dt
from functools import cache

from django.db import connection
from django.db.models.constants import OnConflict
from django.utils import timezone
from idpyoidc.server.constant import DIVIDER

from oidc_provider.models import OPSession, SessionNode
from oidc_provider.storage import token_rows
from oidc_provider.storage.rows import fetch_together

GRANT_DEPTH = 3  # user, client, grant
KINDS = {1: SessionNode.USER, 2: SessionNode.CLIENT, 3: SessionNode.GRANT}


def branch_keys(path):
    """``[u, c, g]`` -> ``["u", "u;;c", "u;;c;;g"]``: the keys of every node on the path."""
    return [DIVIDER.join(path[: i + 1]) for i in range(len(path))]


def parent_key(key):
    return key.rpartition(DIVIDER)[0] if DIVIDER in key else ""


def is_grant_key(key):
    return key.count(DIVIDER) == GRANT_DEPTH - 1


# quoted as every statement here quotes its names (ANSI, which SQLite and PostgreSQL read); made once,
# not per statement: each ``connection.ops`` goes through Django's per-context connection lookup
_TABLE = f'"{SessionNode._meta.db_table}"'
_OP_SESSION_TABLE = f'"{OPSession._meta.db_table}"'


def child_keys(key):
    """The keys of the rows right under ``key``, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "key" FROM {_TABLE} WHERE "parent_key" = %s ORDER BY "created_at", "id"', [key])
        return [row[0] for row in cursor.fetchall()]


def select_rows(keys, locked=None, tokens=None, also=None, parents=None):
    """``(nodes, token_rows, also_rows)``: ``(key, class_name, data)`` of the rows ``keys`` found, the token
    rows (``storage.token_rows.COLUMNS``) of the digests ``tokens`` names (None when ``tokens`` is), with the
    parents of the refresh tokens among ``parents`` (``token_rows.by_digest_sql``), and
    the rows of the read ``also`` (``(sql, params)``, or None). ``locked``, one of the keys (a grant): its
    row is locked (``SELECT … FOR UPDATE``) until the transaction ends, which the caller has opened.

    Unlocked, the nodes and tokens are one statement: one snapshot. Locked, the tokens are read by a
    statement of their own once the lock is held: a row the locking statement read could predate a
    request that held the lock meanwhile. On PostgreSQL the statements still go in one round trip
    (``rows.fetch_together``): each statement of a query string reads the rows committed when it starts."""
    select = f'SELECT "key", "class_name", "data" FROM {_TABLE} WHERE "key"'

    def any_of(some):
        return f"{select} IN ({', '.join(['%s'] * len(some))})"

    others = [k for k in keys if k != locked]
    token_part = after_lock = None
    if locked and connection.features.has_select_for_update:
        if connection.vendor == "postgresql":
            # only the grant row is locked: its user and client nodes stay free for other requests
            sql = f"WITH locked AS ({select} = %s FOR UPDATE) SELECT * FROM locked"
            statements = [(f"{sql} UNION ALL {any_of(others)}" if others else sql, [locked, *others])]
        else:
            statements = [(f"{select} = %s FOR UPDATE", [locked])] + ([(any_of(others), others)] if others else [])
        after_lock = token_rows.by_digest_sql(tokens, parents) if tokens else None
    else:  # SQLite (one writer at a time, nothing to lock), or nothing locked: one snapshot, one statement
        sql, params = any_of(keys), list(keys)
        if tokens:
            # the tokens' rows in the same statement, as their columns; a node's row has NULL for `used`
            token_part = token_rows.by_digest_sql(tokens, parents)
            columns = {"digest": '"key"', "class_name": '"class_name"', "data": '"data"'}
            nodes = ", ".join(columns.get(c, "NULL") for c in token_rows.COLUMNS)
            sql = f'SELECT {nodes} FROM {_TABLE} WHERE "key" IN ({", ".join(["%s"] * len(keys))})'
            sql, params = f"{sql} UNION ALL {token_part[0]}", params + token_part[1]
        statements = [(sql, params)]
    reads = statements + [read for read in (after_lock, also) if read]
    results = fetch_together(reads)
    also_rows = results.pop() if also else None
    tokens_read = results.pop() if after_lock else None
    rows = [row for result in results for row in result]
    if token_part is None:
        return rows, tokens_read, also_rows
    used = token_rows.COLUMNS.index("used")
    nodes = [(row[0], row[1], row[-1]) for row in rows if row[used] is None]
    return nodes, [row for row in rows if row[used] is not None], also_rows


def row_fields(key, class_name, data):
    """The columns of the row of node ``key`` (of class ``class_name``, dumped as ``data``)."""
    parts = key.split(DIVIDER)
    expires_at = data.get("expires_at") if len(parts) == GRANT_DEPTH else None
    return {
        "parent_key": DIVIDER.join(parts[:-1]),
        "kind": KINDS[len(parts)],
        "user_id": parts[0],
        "client_id": parts[1] if len(parts) > 1 else "",
        "class_name": class_name,
        "data": data,
        "revoked": bool(data.get("revoked")),
        "expires_at": dt.datetime.fromtimestamp(expires_at, tz=dt.UTC) if expires_at else None,
    }


_PARENT_SQL = 'SELECT 1 FROM {table} WHERE "key" = %s'


def _key_share():
    """What a foreign key takes on PostgreSQL, so ``clearexpired`` cannot delete a parent before this
    transaction ends. SQLite has one writer at a time: nothing to lock."""
    return " FOR KEY SHARE" if connection.vendor == "postgresql" else ""


def lock_parent(key):
    """Does the row ``key`` exist? Held until the transaction ends (``_key_share``)."""
    with connection.cursor() as cursor:
        cursor.execute(_PARENT_SQL.format(table=_TABLE) + _key_share(), [key])
        return cursor.fetchone() is not None


class OPSessionEnded(Exception):
    """A grant was refused: the OP session it was made in has ended (or is gone) meanwhile."""


def _live_op_session_sql(hold=True):
    """Is the OP session (``%s``) live: its row there, not ended? ``hold``: on PostgreSQL held against
    its end until this transaction ends: ``logout.end_op_sessions`` sets ``ended_at`` and then revokes
    the session's grants, so a grant inserted meanwhile is either refused or committed before that
    revocation looks for it."""
    lock = " FOR SHARE" if hold and connection.vendor == "postgresql" else ""
    return f'SELECT 1 FROM {_OP_SESSION_TABLE} WHERE "key" = %s AND "ended_at" IS NULL{lock}'


def op_session_live(key, hold=False) -> bool:
    """Is the OP session ``key`` live (``_live_op_session_sql``)? A key whose row is gone (``clearexpired``
    deletes ended ones) is not."""
    with connection.cursor() as cursor:
        cursor.execute(_live_op_session_sql(hold), [key])
        return cursor.fetchone() is not None


def insert(key, fields, op_session="", if_absent=False, under=None, live=False):
    """Insert a node's row. ``if_absent``: when another request inserted the same key meanwhile,
    its row stands (user and client nodes are the same whoever creates them). ``under``: insert only
    if that parent row exists, holding it as ``lock_parent`` does; and with ``live``, only if the OP
    session ``op_session`` is live, held as ``_live_op_session_sql`` says. Returns whether a row went in."""
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    values = {
        **fields,
        "key": key,
        "data": ops.adapt_json_value(fields["data"], None),
        "expires_at": ops.adapt_datetimefield_value(fields["expires_at"]),
        "op_session": op_session,
        "created_at": now,
        "updated_at": now,
    }
    params = list(values.values())
    if under is not None:
        params.append(under)
        if live:
            params.append(op_session)
    sql = _insert_sql(connection.vendor, tuple(values), if_absent, under is not None, live)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


@cache
def _insert_sql(vendor, columns, if_absent, under, live):
    """``insert``'s statement, the same for every row of one shape (made once per process: ``vendor`` is the
    connection's, which the statement depends on)."""
    ops = connection.ops
    conflict = OnConflict.IGNORE if if_absent else None
    rows = f"VALUES ({', '.join(['%s'] * len(columns))})"
    if under:  # the parent's check and lock in the insert itself: one statement less
        parent = _PARENT_SQL.format(table=_TABLE) + _key_share()
        rows = f"SELECT {', '.join(['%s'] * len(columns))} WHERE EXISTS ({parent})"
        if live:
            rows += f" AND EXISTS ({_live_op_session_sql()})"
    return (
        f"{ops.insert_statement(on_conflict=conflict)} {_TABLE} ({', '.join(ops.quote_name(c) for c in columns)}) "
        f"{rows} {ops.on_conflict_suffix_sql([], conflict, [], [])}"
    )


def update_sql(key, fields):
    """``(sql, params)`` writing a changed node (for ``storage.write_batch``)."""
    ops = connection.ops
    params = [
        ops.adapt_json_value(fields["data"], None),
        fields["revoked"],
        ops.adapt_datetimefield_value(fields["expires_at"]),
        ops.adapt_datetimefield_value(timezone.now()),
        key,
    ]
    sql = f'UPDATE {_TABLE} SET "data" = %s, "revoked" = %s, "expires_at" = %s, "updated_at" = %s WHERE "key" = %s'
    if not fields["revoked"]:
        sql += ' AND "revoked" = %s'  # never resurrect a node revoked since it was loaded
        params.append(False)
    return sql, params


def delete(keys):
    SessionNode.objects.filter(key__in=keys).delete()
