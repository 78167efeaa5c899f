"""Writes that return nothing, sent together: on PostgreSQL as one statement (every write but the last
a data-modifying ``WITH`` query), elsewhere one after the other.

On PostgreSQL a refresh wrote its grant, its new tokens and the presented token in three statements,
each a round trip the worker waits for; under load each wait is also a context switch, which cost more
CPU than the statement's own work (``bench/FINDINGS.md``). One statement is also atomic on its own.

PostgreSQL runs the parts of such a statement on one snapshot, in no set order, and none of them sees
the rows another one changes or inserts (its manual, "Data-Modifying Statements in WITH"): the writes
given together must touch different rows. SQLite runs in the worker: a statement there is no round trip.
"""

from django.db import connection


def execute(statements):
    """Run ``statements``, ``(sql, params)`` pairs of writes that touch different rows."""
    if not statements:
        return
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql" or len(statements) == 1:
            for sql, params in statements:
                cursor.execute(sql, params)
            return
        *first, (last, params) = statements
        parts = ", ".join(f"write_{i} AS ({sql})" for i, (sql, _) in enumerate(first))
        cursor.execute(f"WITH {parts} {last}", [p for _, some in first for p in some] + list(params))
