"""Whether a table exists, by one lookup.

Django's introspection lists every table of the schema to answer it, which
grows with the database (a shared one may hold thousands).
"""

TABLE_EXISTS = {
    "postgresql": "SELECT to_regclass(%s) IS NOT NULL",
    "sqlite": "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s)",
}


def table_exists(connection, table):
    """True when ``table`` exists where the connection looks (its search_path on PostgreSQL)."""
    name = connection.ops.quote_name(table) if connection.vendor == "postgresql" else table
    with connection.cursor() as cursor:
        cursor.execute(TABLE_EXISTS[connection.vendor], [name])
        return bool(cursor.fetchone()[0])
