"""What going back does, before it does it: the order, each step's SQL, and the data it destroys.

Django's backward ``migrate`` drops what a migration added (a table, a
column) without a word about the rows or values in it. Here every reverse
step is looked at first:

* what it destroys is derived from the migration states, not from a list of
  operation types: a table in the state after an operation and not before it
  is dropped going back (its rows are counted on the live database), a column
  likewise (its non-null values are counted). Renames are not losses.
* what it cannot give back: a table or column that the forward step dropped
  is re-created empty (a note, nothing to count);
* an irreversible operation stops the plan before anything runs;
* code (``RunSQL``, ``RunPython``) may change data in ways no state shows: a
  note says so and the SQL is shown in the plan.

The order is Django's (children before parents), with post-deploy migrations
unapplied before pre-deploy ones wherever the dependencies allow: the
reverse of a release, contract undone before expand.
"""

from dataclasses import dataclass, field

from django.db.migrations import RenameField, RenameIndex, RenameModel, RunPython, RunSQL
from django.db.migrations.operations import AlterModelTable

from ecomind_core.migration_safety.stages import POST_DEPLOY, migration_stage

#: Operations that change names only: going back renames, nothing is lost.
RENAMES = (RenameField, RenameModel, RenameIndex, AlterModelTable)


@dataclass(frozen=True)
class Loss:
    """Something a reverse step drops, and how much data it holds now."""

    table: str
    #: None: the whole table.
    column: str | None
    #: Rows (a table) or non-null values (a column), counted on the live database.
    count: int

    def __str__(self):
        if self.column is None:
            return f"drops table {self.table} ({self.count:,} rows)"
        return f"drops column {self.table}.{self.column} ({self.count:,} non-null values)"


@dataclass
class Step:
    """One migration to unapply."""

    migration: object
    stage: object
    sql: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    #: Why it cannot be unapplied (an irreversible operation), or None.
    irreversible: str | None = None

    @property
    def name(self):
        return f"{self.migration.app_label}.{self.migration.name}"

    @property
    def destroys(self):
        """The losses that hold data now (a dropped empty column loses nothing)."""
        return [loss for loss in self.losses if loss.count]


def rollback_order(plan, graph):
    """``plan`` (Django's backward plan) reordered: post-deploy first where dependencies allow."""
    remaining = [migration for migration, backwards in plan]
    keys = {(m.app_label, m.name) for m in remaining}
    # A migration can go once everything in the plan that depends on it has gone.
    dependents = {
        (m.app_label, m.name): {d for d in graph.backwards_plan((m.app_label, m.name)) if d in keys} - {(m.app_label, m.name)}
        for m in remaining
    }
    done, ordered = set(), []
    while remaining:
        ready = [m for m in remaining if dependents[(m.app_label, m.name)] <= done]
        chosen = next((m for m in ready if migration_stage(m) == POST_DEPLOY), ready[0])
        remaining.remove(chosen)
        done.add((chosen.app_label, chosen.name))
        ordered.append((chosen, True))
    return ordered


def _tables(state):
    """``{db_table: {column, ...}}`` of the concrete tables a migration state describes."""
    tables = {}
    for model in state.apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.managed and not meta.proxy:
            tables[meta.db_table] = {f.column for f in meta.local_concrete_fields if f.column}
    return tables


def _reverse_steps(migration, state_before):
    """``(operation, state before it, state after it)`` for each operation, last first (Migration.unapply's phase 1)."""
    steps, state = [], state_before
    for operation in migration.operations:
        before = state.clone()
        state = state.clone()
        operation.state_forwards(migration.app_label, state)
        steps.insert(0, (operation, before, state))
    return steps


def _irreversible(operation):
    if not operation.reversible:
        return True
    if isinstance(operation, RunPython):
        return operation.reverse_code is None
    if isinstance(operation, RunSQL):
        return operation.reverse_sql is None
    return False


def inspect_step(migration, state_before, count):
    """A :class:`Step` for ``migration``: losses counted with ``count(table, column)``."""
    step = Step(migration, migration_stage(migration))
    for operation, before, after in _reverse_steps(migration, state_before):
        if _irreversible(operation):
            step.irreversible = f"{operation.describe()} has no reverse"
            return step
        if isinstance(operation, RENAMES):
            continue
        if isinstance(operation, (RunSQL, RunPython)):
            step.notes.append(f"{operation.describe()}: runs code whose effect on data no state shows; read its reverse")
            continue
        had, has = _tables(after), _tables(before)
        for table in sorted(set(had) - set(has)):
            step.losses.append(Loss(table, None, count(table, None)))
        for table in sorted(set(had) & set(has)):
            for column in sorted(had[table] - has[table]):
                step.losses.append(Loss(table, column, count(table, column)))
        for table in sorted(set(has) - set(had)):
            step.notes.append(f"re-creates table {table} empty: the rows it held before it was dropped do not come back")
        for table in sorted(set(had) & set(has)):
            for column in sorted(has[table] - had[table]):
                step.notes.append(
                    f"re-adds column {table}.{column} empty: the values it held before it was dropped do not come back"
                )
    return step


def counter(connection):
    """``count(table, column)`` on the live database: rows, or non-null values of a column (names from the models)."""
    quote = connection.ops.quote_name

    def count(table, column):
        counted = f"count({quote(column)})" if column else "count(*)"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {counted} FROM {quote(table)}")
            return cursor.fetchone()[0]

    return count


def backward_steps(executor, plan, *, with_sql=True):
    """A :class:`Step` per migration of the backward ``plan``, in its order, counted on the executor's database."""
    count = counter(executor.connection)
    steps = []
    for migration, _ in plan:
        state_before = executor.loader.project_state((migration.app_label, migration.name), at_end=False)
        step = inspect_step(migration, state_before, count)
        if with_sql and step.irreversible is None:
            step.sql = executor.loader.collect_sql([(migration, True)])
        steps.append(step)
    return steps
