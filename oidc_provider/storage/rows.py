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
    names = tuple(sorted(where))
    sql, attnames, converters = _statement(model, names)
    params = []
    for name in names:
        field = model._meta.get_field(name)
        params.append(field.get_db_prep_value(field.to_python(where[name]), connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for i, col, found in converters:
        for convert in found:
            values[i] = convert(values[i], col, connection)
    return model.from_db(connection.alias, attnames, values)
