"""Backfills that don't block the worker: an ``UPDATE`` in batches, each committed on its own.

An ``UPDATE`` of a whole table inside a migration's transaction holds a lock
on every row it touched until the commit: on ``daily_org_agg`` every one of
the enrichment worker's upserts waits for the whole migration
(``check_migrations`` flags it: ``backfill-in-transaction``). This operation
updates at most ``batch_size`` rows per statement, in primary-key order, and
commits each batch, so an upsert waits for one batch at most.

It is resumable: ``where`` must select only the rows still to do (``new_col
IS NULL``), so a run stopped half-way (a lock timeout, a killed job) carries
on where it stopped when ``migrate`` runs again, and a finished backfill run
again does nothing. The migration must be non-atomic (``atomic = False``).

Example (docs/deployment/migrations.md, "Backfills")::

    BatchedBackfill(
        model_name="dailyorgtotal",
        set_sql="co2_g = co2_kg * 1000",
        where_sql="co2_g IS NULL",
    )
"""

from django.db.migrations.operations.base import Operation
from django.db.models import CompositePrimaryKey

#: Rows per batch. Each batch's rows stay locked until it commits: at 1,000
#: rows a batch takes milliseconds, which is what a worker upsert may wait.
DEFAULT_BATCH_SIZE = 1000


class BatchedBackfill(Operation):
    """``UPDATE <model's table> SET set_sql WHERE where_sql``, ``batch_size`` rows per committed statement."""

    reduces_to_sql = False
    reversible = True
    atomic = False
    requires_non_atomic = True

    def __init__(self, model_name, set_sql, where_sql, batch_size=DEFAULT_BATCH_SIZE, reverse_set_sql=None,
                 reverse_where_sql=None):
        if batch_size < 1:
            raise ValueError(f"BatchedBackfill batch_size must be at least 1, not {batch_size!r}")
        if (reverse_set_sql is None) != (reverse_where_sql is None):
            raise ValueError("BatchedBackfill needs both reverse_set_sql and reverse_where_sql, or neither")
        self.model_name, self.set_sql, self.where_sql = model_name, set_sql, where_sql
        self.batch_size, self.reverse_set_sql, self.reverse_where_sql = batch_size, reverse_set_sql, reverse_where_sql

    def deconstruct(self):
        kwargs = {"model_name": self.model_name, "set_sql": self.set_sql, "where_sql": self.where_sql}
        if self.batch_size != DEFAULT_BATCH_SIZE:
            kwargs["batch_size"] = self.batch_size
        if self.reverse_set_sql is not None:
            kwargs.update(reverse_set_sql=self.reverse_set_sql, reverse_where_sql=self.reverse_where_sql)
        return self.__class__.__qualname__, [], kwargs

    def state_forwards(self, app_label, state):
        pass  # data only

    def describe(self):
        return f"Backfill {self.model_name} in batches of {self.batch_size}: SET {self.set_sql} WHERE {self.where_sql}"

    @property
    def migration_name_fragment(self):
        return f"backfill_{self.model_name}"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        self.run(schema_editor, model, self.set_sql, self.where_sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if self.reverse_set_sql is not None:
            model = from_state.apps.get_model(app_label, self.model_name)
            self.run(schema_editor, model, self.reverse_set_sql, self.reverse_where_sql)

    def statement(self, schema_editor, model, set_sql, where_sql, after):
        """One batch: the next ``batch_size`` rows to do after key ``after`` (None: from the start), keyset-paged."""
        quote = schema_editor.quote_name
        pk = model._meta.pk
        columns = [f.column for f in (pk.fields if isinstance(pk, CompositePrimaryKey) else [pk])]
        key = ", ".join(quote(c) for c in columns)
        table = quote(model._meta.db_table)
        start = f"({key}) > ({', '.join(['%s'] * len(columns))}) AND " if after else ""
        return (
            f"WITH batch AS (SELECT {key} FROM {table} WHERE {start}({where_sql}) ORDER BY {key} LIMIT {self.batch_size}) "
            f"UPDATE {table} AS t SET {set_sql} FROM batch WHERE "
            + " AND ".join(f"t.{quote(c)} = batch.{quote(c)}" for c in columns)
            + f" RETURNING {', '.join(f't.{quote(c)}' for c in columns)}",
            list(after or ()),
        )

    def run(self, schema_editor, model, set_sql, where_sql):
        if schema_editor.collect_sql:  # sqlmigrate, check_migrations: the first batch shows what each does
            statement, _ = self.statement(schema_editor, model, set_sql, where_sql, None)
            schema_editor.collected_sql.append(f"-- repeated, {self.batch_size} rows a time, until no row is left")
            schema_editor.collected_sql.append(f"{statement};")
            return
        connection = schema_editor.connection
        after = None
        while True:
            statement, params = self.statement(schema_editor, model, set_sql, where_sql, after)
            with connection.cursor() as cursor:  # autocommit: each batch commits on its own
                cursor.execute(statement, params)
                keys = cursor.fetchall()
            if not keys:
                return
            after = max(keys)
