"""Can this role write what a baseline writes? Asked of the server, writing nothing.

A baseline writes, in one transaction: ``LOCK TABLE ... IN SHARE UPDATE
EXCLUSIVE MODE`` on the tables it adopts (PostgreSQL asks for UPDATE, DELETE
or TRUNCATE on each), ``django_migrations`` (created when absent: CREATE on
the schema; else INSERT), its audit row in ``audit_logs`` (INSERT), and, when
asked, ``ALTER TYPE ... RENAME VALUE`` (owning the type). None of it can
happen on a standby or in a read-only session. ``--dry-run`` says so
instead of promising an adoption the real run could not make; the real run
says so before it asks anything.
"""

from psycopg import sql

STATE_SQL = """
SELECT pg_is_in_recovery(), current_setting('transaction_read_only') = 'on',
       has_schema_privilege(%(schema)s, 'CREATE'),
       to_regclass(%(migrations)s) IS NOT NULL
"""

TABLES_SQL = """
SELECT c.relname,
       has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE')
           OR has_table_privilege(c.oid, 'TRUNCATE'),
       has_table_privilege(c.oid, 'INSERT')
FROM pg_class c
WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s) AND c.relname = ANY(%(tables)s)
ORDER BY 1
"""

TYPES_SQL = """
SELECT t.typname FROM pg_type t
WHERE t.typnamespace = (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s) AND t.typname = ANY(%(types)s)
  AND NOT pg_has_role(t.typowner, 'USAGE')
ORDER BY 1
"""


def obstacles(connection, inspection, rename_labels=False):
    """Why this role cannot record ``inspection``'s baseline, one sentence each ([]: it can)."""
    schema = connection.schema_name
    migrations = sql.Identifier(schema, "django_migrations").as_string(connection.connection)
    params = {"schema": schema, "migrations": migrations, "tables": sorted({*inspection.owned_tables, "django_migrations"}),
              "types": sorted({enum for enum, _, _ in inspection.label_renames})}
    found = []
    with connection.cursor() as cursor:
        cursor.execute(STATE_SQL, params)
        standby, read_only, may_create, has_recorder = cursor.fetchone()
        if standby:
            return ["the server is a read-only standby (in recovery): run baseline against the primary"]
        if read_only:
            found.append("every transaction of this session is read-only (default_transaction_read_only is on for "
                         "this database, this role or this connection): nothing can be written")
        cursor.execute(TABLES_SQL, params)
        privileges = {name: (lock, insert) for name, lock, insert in cursor.fetchall()}
        if not has_recorder and not may_create:
            found.append(f"this role may not create tables in schema {schema} (django_migrations does not exist yet): "
                         f"GRANT CREATE ON SCHEMA {schema} to it")
        if has_recorder and not privileges.get("django_migrations", (True, True))[1]:
            found.append("this role may not INSERT into django_migrations")
        unlockable = [t for t in inspection.owned_tables if not privileges.get(t, (True, True))[0]]
        if unlockable:
            found.append(f"this role may not lock {', '.join(unlockable)} against schema changes (LOCK TABLE needs "
                         "UPDATE, DELETE or TRUNCATE on each)")
        if not privileges.get("audit_logs", (True, True))[1]:
            found.append("this role may not INSERT into audit_logs (the baseline writes its audit row there)")
        if rename_labels and params["types"]:
            cursor.execute(TYPES_SQL, params)
            foreign = [row[0] for row in cursor.fetchall()]
            if foreign:
                found.append(f"this role does not own enum type {', '.join(foreign)} (renaming labels needs its owner)")
    return found
