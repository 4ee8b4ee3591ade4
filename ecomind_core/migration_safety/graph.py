"""Django's migration graph, read for the other modules: the project state
at a node, and how far a database has come along the graph.

Read-only: Django's recorder is only read.
"""

from django.db.migrations.recorder import MigrationRecorder

from ecomind_core.migration_safety.stages import split_unapplied

#: The apps whose tables EcoMind owns (errors in verify_schema, not warnings).
OWNED_APPS = ("ecomind_core",)


#: Whether the recorder's table exists, by one lookup (Django's recorder lists
#: every table of the schema to find out, which grows with the database).
RECORDER_TABLE_EXISTS = {
    "postgresql": "SELECT to_regclass(%s) IS NOT NULL",
    "sqlite": "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s)",
}


def applied_migrations(connection):
    """``{(app, name): record}`` from ``django_migrations`` ({} when it does not exist)."""
    recorder = MigrationRecorder(connection)
    table = recorder.Migration._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(RECORDER_TABLE_EXISTS[connection.vendor],
                       [connection.ops.quote_name(table) if connection.vendor == "postgresql" else table])
        if not cursor.fetchone()[0]:
            return {}
    return {(record.app, record.name): record for record in recorder.migration_qs}


def state_at(loader, nodes=None):
    """The project state after ``nodes`` (default: every migration on disk)."""
    return loader.project_state(nodes or loader.graph.leaf_nodes(), at_end=True)


def expected_nodes(loader):
    """The migrations the database should reflect now: all of them, unless only post-deploy ones are pending.

    Between ``migrate --pre-deploy`` and the post-deploy ``migrate``, the
    database rightly still has what the post-deploy migrations will drop:
    it is checked against the migrations applied so far.
    """
    if loader.applied_migrations is None:
        return None
    before, after = split_unapplied(loader)
    if after and not before:
        return sorted(loader.applied_migrations)
    return None


def owned_tables(state_apps):
    """The tables of :data:`OWNED_APPS`' managed models in a migration state."""
    return {
        model._meta.db_table
        for model in state_apps.get_models(include_auto_created=True)
        if model._meta.app_label in OWNED_APPS and model._meta.managed and not model._meta.proxy
    }
