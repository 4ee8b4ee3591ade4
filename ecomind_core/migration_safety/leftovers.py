"""What a failed non-atomic migration can leave behind, read from the catalog.

An atomic migration that fails is rolled back whole. A non-atomic one
commits statement by statement: an index ``CREATE INDEX CONCURRENTLY`` was
building stays, INVALID (queries ignore it, writes still maintain it), and a
constraint added ``NOT VALID`` stays unvalidated. Neither changes a row, and
the safe operations mend both when the migration runs again. The failure
message names them instead of saying that nothing remains.
"""

from django.db import DatabaseError, InterfaceError, connections

from ecomind_core.db.reconnect import reopen_if_lost

LEFTOVERS_SQL = """
SELECT format('index %I on %I is INVALID', c.relname, t.relname)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid
UNION ALL
SELECT format('constraint %I on %I is NOT VALID', con.conname, t.relname)
FROM pg_constraint con
JOIN pg_class t ON t.oid = con.conrelid
WHERE t.relnamespace = current_schema()::regnamespace AND NOT con.convalidated
ORDER BY 1
"""


def left_behind(using):
    """Descriptions of the INVALID indexes and NOT VALID constraints in the schema now.

    Opens a new connection when the migration's was lost (its backend
    terminated mid-build). Returns None when the catalog cannot be read.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    try:
        reopen_if_lost(connection)
        with connection.cursor() as cursor:
            cursor.execute(LEFTOVERS_SQL)
            return [row[0] for row in cursor.fetchall()]
    except (DatabaseError, InterfaceError):
        return None
