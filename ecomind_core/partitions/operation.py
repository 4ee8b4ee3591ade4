"""``ConvertToMonthlyPartitions``: the migration operation that partitions a table by month, online.

Project state: sets the model's ``Meta.partition_by_month`` (options.py),
so the catalog expected after this migration is the partitioned one. The
database: conversion.py on PostgreSQL; nothing on SQLite, whose demo keeps
plain tables.
"""

from django.conf import settings
from django.contrib.postgres.operations import NotInTransactionMixin
from django.db.migrations.operations.base import Operation
from syzygy.constants import Stage

from .conversion import Names, convert, convert_back
from .options import OPTION


class ConvertToMonthlyPartitions(NotInTransactionMixin, Operation):
    reversible = True
    reduces_to_sql = True
    #: Its steps commit one by one (check_migrations insists on ``atomic = False``).
    requires_non_atomic = True
    #: Both releases read and write the table the same way, plain or partitioned: after the rollout,
    #: beside the NOT NULL it needs (SetNotNullThroughCheck, a post-deploy step too).
    stage = Stage.POST_DEPLOY
    #: The linters' rules its known-safe pattern trips, each reviewed (conversion.py):
    #: - the renames are the swap of the table, and of its indexes, for its partitioned copy with every
    #:   column kept (the worker's INSERT names the same columns), under migrate's short lock_timeout;
    #: - the primary key and indexes are made on the partitioned parent in the swap, where each attaches
    #:   the legacy partition's index, built CONCURRENTLY beforehand, and builds only on empty months;
    #: - the dropped constraints are the old primary key, replaced, and the conversion's own helper CHECK,
    #:   which the partition bound replaces (added NOT VALID and validated before the swap).
    lint_exempt = (
        "renaming-object", "worker-column-removed", "require-concurrent-index-creation", "CREATE_INDEX",
        "adding-serial-primary-key-field", "ban-drop-constraint", "constraint-missing-not-valid",
    )

    def __init__(self, model_name, field_name):
        self.model_name, self.field_name = model_name, field_name

    def deconstruct(self):
        return self.__class__.__name__, [], {"model_name": self.model_name, "field_name": self.field_name}

    def describe(self):
        return f"Convert the table of {self.model_name} to monthly range partitions by {self.field_name} (online)"

    @property
    def migration_name_fragment(self):
        return f"{self.model_name.lower()}_monthly_partitions"

    def state_forwards(self, app_label, state):
        model_state = state.models[app_label, self.model_name.lower()]
        model_state.options[OPTION] = self.field_name
        state.reload_model(app_label, self.model_name.lower(), delay=True)

    def _run(self, app_label, schema_editor, state, forwards):
        if schema_editor.connection.vendor != "postgresql":
            return
        self._ensure_not_in_transaction(schema_editor)
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        key = model._meta.get_field(self.field_name).column
        pk = [model._meta.pk.column]
        if forwards:
            convert(schema_editor, model, key, pk, settings.PARTITIONS_AHEAD)
        else:
            convert_back(schema_editor, model, key, pk)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._run(app_label, schema_editor, to_state, forwards=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._run(app_label, schema_editor, from_state, forwards=False)

    def leftover_names(self, app_label, state, connection):
        """What a try stopped before its swap leaves (migrate's drift check knows them as this migration's)."""
        return Names(state.apps.get_model(app_label, self.model_name), connection).helpers()
