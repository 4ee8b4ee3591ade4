"""Is this an existing EcoMind database that no migration has recorded yet?

Plain ``migrate`` on such a database would create Django's tables, record
their migrations, then fail on ``0001`` ("relation already exists"). It
must refuse before writing anything and point to ``baseline``: this answers
with two cheap reads (the migration records, the table names).
"""

from django.db.migrations.loader import MigrationLoader

from ecomind_core.migration_safety.graph import OWNED_APPS, applied_migrations, owned_tables, state_at

APP = OWNED_APPS[0]


def unadopted_tables(connection):
    """The owned tables already present while ecomind_core's first migration is unrecorded (else [])."""
    if connection.vendor == "postgresql":
        connection.check_schema_exists()
    loader = MigrationLoader(None, ignore_no_migrations=True)
    first = loader.graph.root_nodes(APP)[0]
    if first in applied_migrations(connection):
        return []
    expected = owned_tables(state_at(loader, [first]).apps)
    with connection.cursor() as cursor:
        present = set(connection.introspection.table_names(cursor))
    return sorted(expected & present)
