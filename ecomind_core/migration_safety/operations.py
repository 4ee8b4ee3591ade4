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
The concurrent builds and ``VALIDATE`` run with ``lock_timeout`` off (they
block no one while they wait: ecomind_core/db/concurrent.py); the brief
``ALTER TABLE`` steps keep the short one.

Re-runs keep what is done. Django records a non-atomic migration only when
all of it has finished, so after a failure or a kill it runs again from its
first operation; each operation looks at the catalog first (existing.py):

* a VALID index or constraint of the intended definition is kept as it is
  (same ``pg_class``/``pg_constraint`` oid);
* an INVALID index (an interrupted build) is dropped concurrently and built
  again; a ``NOT VALID`` constraint (an interrupted add) is validated;
* an object of the same name with another definition is an error naming both;
* a UNIQUE constraint is never dropped to be rebuilt: while it exists,
  duplicates stay refused.

On SQLite (development) each is its plain Django counterpart. ``lint_exempt``
names the linter rules its known-safe SQL pattern trips, for ``check_migrations``.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, NotInTransactionMixin
from django.db import DatabaseError, IntegrityError
from django.db.backends.utils import truncate_name
from django.db.migrations.operations import AddConstraint, AddField, AddIndex, AlterField, RemoveIndex
from django_pg_migration_tools.operations import SaferRemoveIndexConcurrently
from syzygy.constants import Stage

from ecomind_core.migration_safety import existing
from ecomind_core.migration_safety.existing import DefinitionConflict


def _is_postgresql(schema_editor):
    return schema_editor.connection.vendor == "postgresql"


def ensure_index(schema_editor, table, name, create_sql, partitioned=False):
    """Index ``name`` on ``table`` as ``create_sql`` (a ``CREATE [UNIQUE] INDEX CONCURRENTLY``) builds it.

    Kept if a VALID one of that definition is there; an INVALID one is
    dropped concurrently and built again; another definition is an error.
    ``partitioned``: ``table`` is partitioned (ensure_partitioned_index).
    """
    if partitioned:
        return ensure_partitioned_index(schema_editor, table, name, str(create_sql))
    quote = schema_editor.quote_name
    if existing.looks_up(schema_editor):
        found = existing.index(schema_editor, quote(table), name)
        if found is not None:
            if found.kind != "i" or found.table != quote(table) or (
                    found.shape != existing.intended_index(schema_editor, table, create_sql)):
                raise DefinitionConflict("index", name, table, found.definition, str(create_sql))
            if found.valid:
                return
            schema_editor.execute(f"DROP INDEX CONCURRENTLY {quote(name)}")  # an interrupted build
    schema_editor.execute(create_sql)


def ensure_partitioned_index(schema_editor, table, name, create_sql):
    """The index on a partitioned table, partition by partition: PostgreSQL cannot build one there concurrently.

    The parent's index is made ``ON ONLY`` the parent (no partition is
    touched: a moment), then each partition's is built ``CONCURRENTLY``
    (ensure_index: re-run safe) and attached; once every partition has its
    own, PostgreSQL marks the parent's valid. Partitions made later get
    theirs with their attach (maintain_partitions). Re-run: what is attached
    is kept.
    """
    quote = schema_editor.quote_name
    on_table = f" ON {quote(table)} "
    parent_sql = create_sql.replace(" INDEX CONCURRENTLY ", " INDEX ", 1).replace(on_table, f" ON ONLY {quote(table)} ", 1)
    live = existing.looks_up(schema_editor)
    found = existing.index(schema_editor, quote(table), name) if live else None
    if found is not None and (found.kind != "I" or found.table != quote(table) or (
            found.shape[1] != existing.intended_index(schema_editor, table, create_sql)[1])):
        raise DefinitionConflict("index", name, table, found.definition, create_sql)
    if found is None:
        schema_editor.execute(parent_sql)
    # sqlmigrate lists the partitions there are; check_migrations, with no database, shows one for each.
    if getattr(schema_editor.connection, "reads_catalog", True):
        partitions = partitions_needing(schema_editor, table, name)
    else:
        partitions = [f"{table}_pYYYYMM"]
    for partition in partitions:
        child = truncate_name(f"{partition}_{name}", schema_editor.connection.ops.max_name_length())
        ensure_index(schema_editor, partition, child,
                     create_sql.replace(quote(name), quote(child), 1).replace(on_table, f" ON {quote(partition)} ", 1))
        schema_editor.execute(f"ALTER INDEX {quote(name)} ATTACH PARTITION {quote(child)}")


def drop_partitioned_index(schema_editor, name):
    """PostgreSQL cannot drop a partitioned index concurrently: a plain drop, which holds the table's lock for a
    moment (it reads no row), under migrate's short lock_timeout and retries."""
    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def partitions_needing(schema_editor, table, index):
    """The partitions of ``table`` that have no index attached to ``index`` yet."""
    from ecomind_core.partitions.inventory import partitions

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("""
            SELECT x.indrelid::regclass::text FROM pg_inherits link JOIN pg_index x ON x.indexrelid = link.inhrelid
            WHERE link.inhparent = to_regclass(%s)""", [schema_editor.quote_name(index)])
        done = {name.strip('"') for (name,) in cursor.fetchall()}
        return [p.name for p in partitions(cursor, schema_editor.quote_name(table)) if p.name not in done]


def _partitioned(model):
    from ecomind_core.partitions.options import partition_key  # (the partitions package imports this module)

    return partition_key(model._meta) is not None


class AddIndexConcurrentlyIfPostgres(AddIndexConcurrently):
    """``CREATE INDEX CONCURRENTLY`` on PostgreSQL (writers keep writing); a plain index elsewhere.

    Re-run: a VALID index of this definition is kept, an INVALID one rebuilt.
    On a partitioned table: ``ON ONLY`` the parent, then each partition's
    concurrently, attached (ensure_partitioned_index).
    """

    requires_non_atomic = True
    #: The linters read the parent's ``CREATE INDEX ... ON ONLY`` as a build that blocks writes: it builds
    #: nothing (each partition's index is built CONCURRENTLY, then attached).
    lint_exempt = ("require-concurrent-index-creation", "CREATE_INDEX")

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgresql(schema_editor):
            return AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
        self._ensure_not_in_transaction(schema_editor)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            create_sql = self.index.create_sql(model, schema_editor, concurrently=True)
            ensure_index(schema_editor, model._meta.db_table, self.index.name, create_sql, _partitioned(model))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgresql(schema_editor):
            return AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
        if _partitioned(from_state.apps.get_model(app_label, self.model_name)):
            return drop_partitioned_index(schema_editor, self.index.name)
        return super().database_backwards(app_label, schema_editor, from_state, to_state)


class RemoveIndexConcurrentlyIfPostgres(SaferRemoveIndexConcurrently):
    """``DROP INDEX CONCURRENTLY IF EXISTS`` on PostgreSQL, as django-pg-migration-tools does it; a plain drop elsewhere.

    A plain ``DROP INDEX`` takes the table's exclusive lock, and waiting for
    it behind a long transaction queues every reader and writer. The
    library's operation drops concurrently with ``lock_timeout`` off (the
    drop waits for the table's users without blocking anyone), and is
    idempotent; its reverse rebuilds the index concurrently, dropping an
    INVALID leftover first.
    """

    requires_non_atomic = True

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgresql(schema_editor):
            return RemoveIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
        if _partitioned(from_state.apps.get_model(app_label, self.model_name)):
            return drop_partitioned_index(schema_editor, self.name)
        return super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgresql(schema_editor):
            return RemoveIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if _partitioned(model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            create_sql = index.create_sql(model, schema_editor, concurrently=True)
            return ensure_index(schema_editor, model._meta.db_table, self.name, create_sql, partitioned=True)
        return super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"Concurrently remove index {self.name} from {self.model_name}"


class SafeOnPostgresql(NotInTransactionMixin):
    """Django's plain operation off PostgreSQL; on it, ``forwards_on_postgresql`` outside a transaction."""

    requires_non_atomic = True

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgresql(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        self._ensure_not_in_transaction(schema_editor)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            self.forwards_on_postgresql(schema_editor, model, model._meta.db_table)

    def forwards_on_postgresql(self, schema_editor, model, table):
        raise NotImplementedError


class AddUniqueConstraintConcurrently(SafeOnPostgresql, AddConstraint):
    """A UniqueConstraint on plain columns: a unique index built concurrently, then made the constraint.

    ``ADD CONSTRAINT ... UNIQUE USING INDEX`` only renames the finished index
    into a constraint: a moment's lock instead of a build under it. Re-run:
    the constraint, once there, is kept (never dropped: duplicates would get
    in while it was rebuilt); a finished index without it is attached.
    """

    def describe(self):
        return f"Concurrently create unique constraint {self.constraint.name} on model {self.model_name}"

    def forwards_on_postgresql(self, schema_editor, model, table):
        quote = schema_editor.quote_name
        name = self.constraint.name
        columns = ", ".join(quote(model._meta.get_field(f).column) for f in self.constraint.fields)
        if existing.looks_up(schema_editor):
            found = existing.constraint(schema_editor, quote(table), name)
            if found is not None:
                intended = existing.intended_constraint(schema_editor, quote(table), f"UNIQUE ({columns})")
                if found.definition != intended:
                    raise DefinitionConflict("constraint", name, table, found.definition, intended)
                return
        ensure_index(schema_editor, table, name,
                     f"CREATE UNIQUE INDEX CONCURRENTLY {quote(name)} ON {quote(table)} ({columns})")
        schema_editor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} UNIQUE USING INDEX {quote(name)}")


class NotValidThenValidate(SafeOnPostgresql):
    """Add a constraint ``NOT VALID`` (no scan under the lock), then ``VALIDATE`` it (writers go on)."""

    @staticmethod
    def add_not_valid(schema_editor, table, name, definition, intended=None):
        """Constraint ``name`` = ``definition`` on ``table``, VALID at the end.

        Re-run: kept if validated, validated if ``NOT VALID``; another
        definition is an error. ``intended()`` gives the definition as
        PostgreSQL prints it (default: built on a sandbox copy of the table).
        """
        quote = schema_editor.quote_name
        found = existing.constraint(schema_editor, quote(table), name) if existing.looks_up(schema_editor) else None
        if found is not None:
            wanted = intended() if intended else existing.intended_constraint(schema_editor, quote(table), definition)
            if existing.without_not_valid(found.definition) != wanted:
                raise DefinitionConflict("constraint", name, table, found.definition, wanted)
            if found.validated:
                return
        else:
            schema_editor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition} NOT VALID")
        try:
            schema_editor.execute(f"ALTER TABLE {quote(table)} VALIDATE CONSTRAINT {quote(name)}")
        except IntegrityError:
            # Rows break the rule: leave nothing enforced on new writes (the
            # migration is not recorded as applied), then say why.
            try:
                schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            except DatabaseError:
                pass  # the rows' error is the one to read; a re-run validates again
            raise


class AddCheckConstraintNotValid(NotValidThenValidate, AddConstraint):
    """A CheckConstraint added NOT VALID, then validated."""

    def describe(self):
        return f"Add check constraint {self.constraint.name} to model {self.model_name} (NOT VALID, then VALIDATE)"

    def forwards_on_postgresql(self, schema_editor, model, table):
        check = self.constraint._get_check_sql(model, schema_editor)
        self.add_not_valid(schema_editor, table, self.constraint.name, f"CHECK ({check})")


class AddForeignKeyNotValid(NotValidThenValidate, AddField):
    """A nullable ForeignKey column: the column, its index concurrently, the constraint NOT VALID, then VALIDATE."""

    def describe(self):
        return f"Add foreign key field {self.name} to {self.model_name} (index concurrently, NOT VALID, then VALIDATE)"

    def forwards_on_postgresql(self, schema_editor, model, table):
        field = model._meta.get_field(self.name)
        self.add_column(schema_editor, model, table, field)
        if field.db_index:
            create_sql = schema_editor._create_index_sql(model, fields=[field], concurrently=True)
            ensure_index(schema_editor, table, str(create_sql.parts["name"]).strip('"'), create_sql)
        statement = schema_editor._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s")
        name = str(statement.parts["name"])
        definition = str(statement).split(f"ADD CONSTRAINT {name} ", 1)[1].rstrip(";")
        target = field.target_field

        def intended():
            return existing.intended_foreign_key(schema_editor, field.column, target.model._meta.db_table,
                                                 target.column, "DEFERRABLE" in definition)

        self.add_not_valid(schema_editor, table, name.strip('"'), definition, intended)

    @staticmethod
    def add_column(schema_editor, model, table, field):
        """The nullable column, unless it is there with the intended type."""
        quote = schema_editor.quote_name
        found = existing.column(schema_editor, quote(table), field.column) if existing.looks_up(schema_editor) else None
        if found is None:
            definition, params = schema_editor.column_sql(model, field)
            schema_editor.execute(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(field.column)} {definition}", params)
            return
        wanted = existing.intended_column_type(schema_editor, field.db_type(schema_editor.connection))
        if (found.type, found.not_null) != (wanted, not field.null):
            raise DefinitionConflict("column", field.column, table, f"{found.type}{' NOT NULL' if found.not_null else ''}",
                                     f"{wanted}{'' if field.null else ' NOT NULL'}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        return AddField.database_backwards(self, app_label, schema_editor, from_state, to_state)


def not_null_helper_name(connection, table, column):
    """The helper CHECK's name, as PostgreSQL will store it (at most 63 characters, Django's truncation)."""
    return truncate_name(f"{table}_{column}_not_null", connection.ops.max_name_length())


def own_leftovers(migration, state, connection):
    """Names of the helper objects ``migration``'s operations make and drop again (none of the final state).

    A try killed in between leaves them; ``migrate``'s drift check knows
    them as the migration's own (``state``: the project state after it).
    """
    names = set()
    for operation in migration.operations:
        # Each operation that makes helpers says which (SetNotNullThroughCheck, ConvertToMonthlyPartitions).
        if hasattr(operation, "leftover_names"):
            names |= operation.leftover_names(migration.app_label, state, connection)
    return names


class SetNotNullThroughCheck(SafeOnPostgresql, AlterField):
    """``null=True`` to ``null=False`` without a scan under the exclusive lock.

    ``CHECK (col IS NOT NULL) NOT VALID``, ``VALIDATE`` (writers go on), then
    ``SET NOT NULL``, which PostgreSQL 12+ proves from the validated check
    instead of scanning, then the helper check is dropped. Re-run: each step
    already done is skipped.
    """

    #: The release still running may write NULL: after the rollout (syzygy reads this).
    stage = Stage.POST_DEPLOY
    #: The linter reads any ``SET NOT NULL`` as a scan, and squawk any dropped
    #: constraint as a lost guarantee: here the scan was the VALIDATE, and the
    #: dropped constraint is this operation's own helper, replaced by NOT NULL.
    lint_exempt = ("NOT_NULL", "ban-drop-constraint")

    def describe(self):
        return f"Make field {self.name} of {self.model_name} NOT NULL (through a validated CHECK)"

    def leftover_names(self, app_label, state, connection):
        """Its helper CHECK, which a try killed between its add and its drop leaves (own_leftovers)."""
        model = state.apps.get_model(app_label, self.model_name)
        column = model._meta.get_field(self.name).column
        return {not_null_helper_name(connection, model._meta.db_table, column)}

    def forwards_on_postgresql(self, schema_editor, model, table):
        quote = schema_editor.quote_name
        column = model._meta.get_field(self.name).column
        helper = not_null_helper_name(schema_editor.connection, table, column)
        found, helper_found = None, None
        if existing.looks_up(schema_editor):
            found = existing.column(schema_editor, quote(table), column)
            helper_found = existing.constraint(schema_editor, quote(table), helper)
        definition = f"CHECK ({quote(column)} IS NOT NULL)"
        if not (found and found.not_null):
            NotValidThenValidate.add_not_valid(schema_editor, table, helper, definition)
            schema_editor.execute(f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} SET NOT NULL")
        elif helper_found is None:
            return  # done: NOT NULL, helper gone
        else:
            intended = existing.intended_constraint(schema_editor, quote(table), definition)
            if existing.without_not_valid(helper_found.definition) != intended:
                raise DefinitionConflict("constraint", helper, table, helper_found.definition, intended)
        schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(helper)}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # Django's AlterField goes back by running its forwards between the
        # swapped states: DROP NOT NULL, a moment's lock.
        return AlterField.database_forwards(self, app_label, schema_editor, from_state, to_state)
