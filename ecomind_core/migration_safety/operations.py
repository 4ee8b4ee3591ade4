"""Migration operations for big production tables: the safe forms ``makemigrations`` writes.

Each does what Django's plain operation does to the project state, and on
PostgreSQL takes no write-blocking lock for longer than a moment:

* indexes and unique constraints are built ``CONCURRENTLY``;
* CHECK and foreign-key constraints are added ``NOT VALID`` (a brief lock, no
  scan), then ``VALIDATE``\\d (a scan that lets writers through);
* ``SET NOT NULL`` goes through a validated ``CHECK (col IS NOT NULL)``, which
  PostgreSQL uses to skip its own scan under the exclusive lock.

Their statements must commit one by one, so a migration using them says
``atomic = False`` (``check_migrations`` insists: ``requires_non_atomic``).
Each is idempotent, so a run killed half-way, or retried after a lock
timeout, simply runs again. On SQLite (development) each is its plain
Django counterpart. ``lint_exempt`` names the linter rules its known-safe
SQL pattern trips, for ``check_migrations``.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, NotInTransactionMixin
from django.db import DatabaseError
from django.db.migrations.operations import AddConstraint, AddField, AddIndex, AlterField
from syzygy.constants import Stage


def _is_postgresql(schema_editor):
    return schema_editor.connection.vendor == "postgresql"


class AddIndexConcurrentlyIfPostgres(AddIndexConcurrently):
    """``CREATE INDEX CONCURRENTLY`` on PostgreSQL (writers keep writing); a plain index elsewhere.

    Idempotent: a run killed half-way can leave an INVALID index of this
    name, so it is dropped (concurrently) before being built again.
    """

    requires_non_atomic = True

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgresql(schema_editor):
            return AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.index.name)}")
        return super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgresql(schema_editor):
            return AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
        return super().database_backwards(app_label, schema_editor, from_state, to_state)


#: What idempotence costs: the half-built constraint of an interrupted run is
#: dropped before being built again, which squawk reads as a lost guarantee.
DROPS_ITS_OWN = ("ban-drop-constraint",)


def drop_constraint_if_present(schema_editor, table, name):
    """Drop constraint ``name`` only if it exists.

    ``ALTER TABLE ... DROP CONSTRAINT IF EXISTS`` takes the table's exclusive
    lock even when there is nothing to drop; queued behind a long
    transaction, that lock request would hold up every write meanwhile. The
    catalog is asked first instead (``name`` and ``table`` come quoted).
    """
    schema_editor.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(%s) AND conname = %s) "
        f"THEN ALTER TABLE {table} DROP CONSTRAINT {name}; END IF; END $$",
        [table, name.strip('"')],
    )


class SafeOnPostgresql(NotInTransactionMixin):
    """Django's plain operation off PostgreSQL; on it, ``forwards_on_postgresql`` outside a transaction."""

    requires_non_atomic = True

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgresql(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        self._ensure_not_in_transaction(schema_editor)
        model = to_state.apps.get_model(app_label, self.model_name)
        self.forwards_on_postgresql(schema_editor, model, schema_editor.quote_name(model._meta.db_table))

    def forwards_on_postgresql(self, schema_editor, model, table):
        raise NotImplementedError


class AddUniqueConstraintConcurrently(SafeOnPostgresql, AddConstraint):
    """A UniqueConstraint on plain columns: a unique index built concurrently, then made the constraint.

    ``ADD CONSTRAINT ... UNIQUE USING INDEX`` only renames the finished index
    into a constraint: a moment's lock instead of a build under it.
    """

    lint_exempt = DROPS_ITS_OWN

    def describe(self):
        return f"Concurrently create unique constraint {self.constraint.name} on model {self.model_name}"

    def forwards_on_postgresql(self, schema_editor, model, table):
        name = schema_editor.quote_name(self.constraint.name)
        columns = ", ".join(schema_editor.quote_name(model._meta.get_field(f).column) for f in self.constraint.fields)
        drop_constraint_if_present(schema_editor, table, name)
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        schema_editor.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON {table} ({columns})")
        schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE USING INDEX {name}")


class NotValidThenValidate(SafeOnPostgresql):
    """Add a constraint ``NOT VALID`` (no scan under the lock), then ``VALIDATE`` it (writers go on)."""

    lint_exempt = DROPS_ITS_OWN

    @staticmethod
    def add_not_valid(schema_editor, table, name, definition):
        drop_constraint_if_present(schema_editor, table, name)
        schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition} NOT VALID")
        try:
            schema_editor.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")
        except DatabaseError:
            # Rows break the rule: leave nothing enforced on new writes (the
            # migration is not recorded as applied), then say why.
            drop_constraint_if_present(schema_editor, table, name)
            raise


class AddCheckConstraintNotValid(NotValidThenValidate, AddConstraint):
    """A CheckConstraint added NOT VALID, then validated."""

    def describe(self):
        return f"Add check constraint {self.constraint.name} to model {self.model_name} (NOT VALID, then VALIDATE)"

    def forwards_on_postgresql(self, schema_editor, model, table):
        check = self.constraint._get_check_sql(model, schema_editor)
        self.add_not_valid(schema_editor, table, schema_editor.quote_name(self.constraint.name), f"CHECK ({check})")


class AddForeignKeyNotValid(NotValidThenValidate, AddField):
    """A nullable ForeignKey column: the column, its index concurrently, the constraint NOT VALID, then VALIDATE."""

    def describe(self):
        return f"Add foreign key field {self.name} to {self.model_name} (index concurrently, NOT VALID, then VALIDATE)"

    def forwards_on_postgresql(self, schema_editor, model, table):
        field = model._meta.get_field(self.name)
        column = schema_editor.quote_name(field.column)
        definition, params = schema_editor.column_sql(model, field)
        schema_editor.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition}", params)
        if field.db_index:
            index = schema_editor.quote_name(schema_editor._create_index_name(model._meta.db_table, [field.column]))
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")
            schema_editor.execute(f"CREATE INDEX CONCURRENTLY {index} ON {table} ({column})")
        statement = schema_editor._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s")
        name = str(statement.parts["name"])
        definition = str(statement).split(f"ADD CONSTRAINT {name} ", 1)[1].rstrip(";")
        self.add_not_valid(schema_editor, table, name, definition)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        return AddField.database_backwards(self, app_label, schema_editor, from_state, to_state)


class SetNotNullThroughCheck(SafeOnPostgresql, AlterField):
    """``null=True`` to ``null=False`` without a scan under the exclusive lock.

    ``CHECK (col IS NOT NULL) NOT VALID``, ``VALIDATE`` (writers go on), then
    ``SET NOT NULL``, which PostgreSQL 12+ proves from the validated check
    instead of scanning, then the helper check is dropped.
    """

    #: The release still running may write NULL: after the rollout (syzygy reads this).
    stage = Stage.POST_DEPLOY
    #: The linter reads any ``SET NOT NULL`` as a scan, and squawk any dropped
    #: constraint as a lost guarantee: here the scan was the VALIDATE, and the
    #: dropped constraint is this operation's own helper, replaced by NOT NULL.
    lint_exempt = ("NOT_NULL", "ban-drop-constraint")

    def describe(self):
        return f"Make field {self.name} of {self.model_name} NOT NULL (through a validated CHECK)"

    def forwards_on_postgresql(self, schema_editor, model, table):
        field = model._meta.get_field(self.name)
        column = schema_editor.quote_name(field.column)
        helper = schema_editor.quote_name(f"{model._meta.db_table}_{field.column}_not_null")
        NotValidThenValidate.add_not_valid(schema_editor, table, helper, f"CHECK ({column} IS NOT NULL)")
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL")
        schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {helper}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # Django's AlterField goes back by running its forwards between the
        # swapped states: DROP NOT NULL, a moment's lock.
        return AlterField.database_forwards(self, app_label, schema_editor, from_state, to_state)
