"""The SQL each operation of a migration runs on PostgreSQL, rendered with no server.

What ``sqlmigrate`` prints, split by operation (so a finding names the
operation that caused it), and without a database: CI lints migrations
before any database exists, and a developer's checkout runs on SQLite. A
PostgreSQL connection wrapper that never connects collects the statements
from the real schema editor; its transaction calls (django-pgtrigger opens
one around its DDL) do nothing, since nothing is executed.
"""

from dataclasses import dataclass

from django.db import connections

from ecomind_core.db.backends.postgresql.base import DatabaseWrapper

#: The alias the rendering connection is registered under.
ALIAS = "check_migrations_sql"
#: The server version the SQL is rendered for (production runs PostgreSQL 15).
PG_VERSION = 150000


class RenderingWrapper(DatabaseWrapper):
    """EcoMind's PostgreSQL backend, minus the server: for ``schema_editor(collect_sql=True)`` only."""

    pg_version = PG_VERSION
    #: No catalog to read: operations that would list what exists (a table's partitions) show a placeholder.
    reads_catalog = False

    def ensure_connection(self):
        pass  # never connects: nothing is executed, only collected

    def get_autocommit(self):
        return self.autocommit

    def _set_autocommit(self, autocommit):
        pass

    def _commit(self):
        pass

    def _rollback(self):
        pass

    def _savepoint_allowed(self):
        return False


@dataclass(frozen=True)
class RenderedOperation:
    index: int
    operation: object
    #: The statements it runs, each ending with ``;``.
    statements: tuple
    #: Its model's table is partitioned (monthly partitions, ecomind_core/partitions/) before it runs.
    partitioned: bool = False


def rendering_connection():
    """The rendering wrapper, registered under ALIAS (operations look their alias up in ``connections``)."""
    if ALIAS not in connections.settings:
        settings = {**connections.settings["default"], "ENGINE": "ecomind_core.db.backends.postgresql",
                    "NAME": "never-connected", "OPTIONS": {}, "SCHEMA": "public"}
        connections.settings[ALIAS] = settings
        connections[ALIAS] = RenderingWrapper(settings, ALIAS)
    return connections[ALIAS]


def render(loader, key):
    """Each operation of migration ``key`` with the statements it runs, forwards."""
    app_label = key[0]
    migration = loader.graph.nodes[key]
    state = loader.project_state(key, at_end=False)
    connection = rendering_connection()
    rendered = []
    for index, operation in enumerate(migration.operations):
        after = state.clone()
        operation.state_forwards(app_label, after)
        with connection.schema_editor(collect_sql=True, atomic=False) as editor:
            operation.database_forwards(app_label, editor, state, after)
        rendered.append(RenderedOperation(index, operation, tuple(editor.collected_sql), on_partitioned(state, app_label, operation)))
        state = after
    return rendered


def on_partitioned(state, app_label, operation):
    """Whether ``operation``'s model is partitioned in ``state`` (``Meta.partition_by_month``)."""
    from ecomind_core.partitions.options import OPTION

    model_state = state.models.get((app_label, getattr(operation, "model_name_lower", "") or ""))
    return bool(model_state and model_state.options.get(OPTION))
