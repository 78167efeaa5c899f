"""The ``IssuedToken`` rows of the codes and tokens minted into an existing grant, in raw SQL: read by
digest (with the parent a refresh reads), by grant, inserted, updated, revoked set-wise.

This module knows rows, not idpyoidc's objects: a row's ``data`` is what ``idpy.node_codec`` made of a
token. Every statement touches the rows of one grant or of a set of grants, found by index
(``digest``, ``grant_key``), so none costs more when a grant holds more tokens.
"""

from django.db import connection

from oidc_provider.models import IssuedToken

# what a read returns of each row, in this order
COLUMNS = ("digest", "class_name", "based_on", "used", "revoked", "grant_key", "data")


# quoted as every statement here quotes its names (ANSI, which SQLite and PostgreSQL read); made once,
# not per statement: each ``connection.ops`` goes through Django's per-context connection lookup
_TABLE = f'"{IssuedToken._meta.db_table}"'


def _names(columns):
    return ", ".join(f'"{column}"' for column in columns)


_SELECT = f"SELECT {_names(COLUMNS)} FROM {_TABLE}"
_INSERT_COLUMNS = (
    "digest",
    "grant_key",
    "token_class",
    "class_name",
    "based_on",
    "used",
    "revoked",
    "expires_at",
    "data",
)
_INSERT = f"INSERT INTO {_TABLE} ({_names(_INSERT_COLUMNS)}) VALUES "


def _marks(values):
    return ", ".join(["%s"] * len(values))


def by_digest_sql(digests, parents=None):
    """``(sql, params)`` reading the rows of ``digests``, and the parent of each refresh token among
    ``parents`` (by default all of them): a refresh reads its scope (idpyoidc's
    ``find_scope(token.based_on)``). A caller that knows a token is of another class leaves it out of
    ``parents``: a subquery fewer for the database to plan and run. Other statements take it as one
    part of a ``UNION ALL``. Only the unique index on ``digest`` serves it (an index on ``grant_key``
    would read every token of the grant): the caller checks each row's ``grant_key``."""
    digests = list(digests)
    parents = digests if parents is None else list(parents)
    parent = f'(SELECT "based_on" FROM {_TABLE} WHERE "digest" = %s AND "token_class" = \'refresh_token\')'
    sql = f'{_SELECT} WHERE "digest" IN ({", ".join([_marks(digests)] + [parent] * len(parents))})'
    return sql, [*digests, *parents]


def _fetch(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def by_digest(digests):
    """The rows (``COLUMNS``) of ``digests``, with their parents (``by_digest_sql``)."""
    return _fetch(*by_digest_sql(digests))


def minted_from(grant_key, digest):
    """The rows of the tokens minted from the token ``digest`` (of the grant ``grant_key``: it reads the
    grant's tokens, for a refresh token presented again, not for every refresh)."""
    return _fetch(f'{_SELECT} WHERE "grant_key" = %s AND "based_on" = %s', [grant_key, digest])


def of_grant(grant_key):
    """Every row of the grant ``grant_key``, in the order they were written."""
    return _fetch(f'{_SELECT} WHERE "grant_key" = %s ORDER BY "id"', [grant_key])


def insert_sql(grant_key, rows):
    """``(sql, params)`` writing new tokens: ``rows`` (not empty) are ``(digest, token_class, class_name,
    based_on, used, revoked, expires_at, data)``, ``expires_at`` a datetime or None. Like the other
    ``_sql`` builders here, for ``storage.write_batch``."""
    ops = connection.ops
    params = []
    for digest, token_class, class_name, based_on, used, revoked, expires_at, data in rows:
        params += [
            digest,
            grant_key,
            token_class,
            class_name,
            based_on,
            used,
            revoked,
            ops.adapt_datetimefield_value(expires_at),
            ops.adapt_json_value(data, None),
        ]
    return _INSERT + ", ".join([f"({_marks(_INSERT_COLUMNS)})"] * len(rows)), params


def update_sql(digest, used, revoked, data=None):
    """``(sql, params)`` writing a changed token: its use count, revoked (never un-revoked: a revocation
    committed since it was read stands) and, when given, its ``data``."""
    sets = ['"used" = %s', '"revoked" = ("revoked" OR %s)']
    params = [used, revoked]
    if data is not None:
        sets.append('"data" = %s')
        params.append(connection.ops.adapt_json_value(data, None))
    return f'UPDATE {_TABLE} SET {", ".join(sets)} WHERE "digest" = %s', [*params, digest]


def revoke_sql(digests, batch=500):
    """The ``(sql, params)`` revoking the tokens ``digests``, one per ``batch`` of them."""
    digests = list(digests)
    return [
        (f'UPDATE {_TABLE} SET "revoked" = %s WHERE "digest" IN ({_marks(some)})', [True, *some])
        for some in (digests[start : start + batch] for start in range(0, len(digests), batch))
    ]


def revoke_grants(grant_keys):
    """Revoke every token of the grants ``grant_keys``, in one statement. Returns how many changed."""
    grant_keys = list(grant_keys)
    if not grant_keys:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE {_TABLE} SET "revoked" = %s WHERE "grant_key" IN ({_marks(grant_keys)}) AND "revoked" = %s',
            [True, *grant_keys, False],
        )
        return cursor.rowcount


def delete_grants(grant_keys):
    """Delete the tokens of the grants ``grant_keys`` (being deleted themselves)."""
    grant_keys = list(grant_keys)
    if grant_keys:
        IssuedToken.objects.filter(grant_key__in=grant_keys).delete()


def summaries(grant_key):
    """What a page may show of a grant's tokens in this table: class, issue and expiry times, use
    count, revoked; never a digest. Oldest first."""
    return [
        {
            "token_class": row.token_class,
            "issued_at": row.data.get("issued_at"),
            "expires_at": row.data.get("expires_at"),
            "used": row.used,
            "revoked": row.revoked,
        }
        for row in IssuedToken.objects.filter(grant_key=grant_key).order_by("id")
    ]
