"""One-row reads on the hottest paths (the client of every authenticated request, the user of every
userinfo response): the statement is built once per model, and the row goes through the same
converters and ``Model.from_db`` the ORM uses. Compiling the equivalent queryset cost more CPU than
the rest of a token request's database work (bench/inproc.py)."""

from django.db import connection

_STATEMENTS = {}


def _statement(model, names):
    key = (model, names, connection.vendor)
    statement = _STATEMENTS.get(key)
    if statement is None:
        opts, quote = model._meta, connection.ops.quote_name
        fields = opts.concrete_fields
        where = " AND ".join(f"{quote(opts.get_field(name).column)} = %s" for name in names)
        sql = f"SELECT {', '.join(quote(f.column) for f in fields)} FROM {quote(opts.db_table)} WHERE {where}"
        converters = []
        for i, field in enumerate(fields):
            col = field.get_col(opts.db_table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                converters.append((i, col, found))
        statement = _STATEMENTS[key] = (sql, [f.attname for f in fields], converters)
    return statement


def get_row(model, **where):
    """The instance of ``model`` matching ``where`` (field name -> value; unique), or None. Values
    go through the field's ``to_python`` and ``get_db_prep_value``, so a malformed one raises
    ``ValidationError`` as the ORM's lookups do."""
    statement, make = row_read(model, **where)
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        return make(cursor.fetchall())


def row_read(model, **where):
    """``get_row`` in parts: ``((sql, params), make)``, ``make(rows)`` the instance the rows the statement
    returned hold (None for none), for a caller that sends the statement with others (``fetch_together``)."""
    names = tuple(sorted(where))
    sql, attnames, converters = _statement(model, names)
    params = []
    for name in names:
        field = model._meta.get_field(name)
        params.append(field.get_db_prep_value(field.to_python(where[name]), connection))

    def make(rows):
        if not rows:
            return None
        values = list(rows[0])
        for i, col, found in converters:
            for convert in found:
                values[i] = convert(values[i], col, connection)
        return model.from_db(connection.alias, attnames, values)

    return (sql, params), make


def _one_query_string() -> bool:
    """psycopg 3 with client-side binding (Django's default cursor for it) sends a statement as a query
    string of the simple query protocol, which may hold several; psycopg 2 returns only the last one's
    rows, and server-side binding (``OPTIONS["server_side_binding"]``) takes one statement at a time."""
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3 and connection.settings_dict["OPTIONS"].get("server_side_binding") is not True


def fetch_together(reads):
    """The rows of each ``(sql, params)`` of ``reads``, in order: on PostgreSQL in one round trip where the
    driver allows (``_one_query_string``), else one statement after the other. A round trip costs a
    worker under load a wait and a context switch besides the statement's own work (bench/FINDINGS.md)."""
    with connection.cursor() as cursor:
        if len(reads) > 1 and _one_query_string():
            cursor.execute("; ".join(sql for sql, _ in reads), [p for _, params in reads for p in params])
            results = [cursor.fetchall()]
            while cursor.nextset():
                results.append(cursor.fetchall())
            return results
        results = []
        for sql, params in reads:
            cursor.execute(sql, params)
            results.append(cursor.fetchall())
        return results
