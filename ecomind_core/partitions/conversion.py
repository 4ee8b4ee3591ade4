"""The online conversion of a plain table into monthly partitions, and the way back.

Forwards, beside the worker (each step looks at the catalog first, so a
re-run after a failure or a kill carries on where the last try stopped):

1. ``CREATE UNIQUE INDEX CONCURRENTLY <table>_legacy_pkey (id, ts)``: the
   primary key a partition must have (it includes the partition key);
2. ``CHECK (ts < <first month>) NOT VALID``, then ``VALIDATE`` (writers go on):
   it lets ``ATTACH PARTITION`` skip its scan under the lock;
3. the new partitioned table, ``<table>_partitioned``, with the table's
   statement-level triggers, and its monthly partitions from the first month
   on (empty: a moment each);
4. the swap, in one short transaction: the old table becomes the partition
   ``<table>_legacy`` of everything before the first month, keeping its rows
   where they are (no row is copied: that is why this is fast at any size),
   and the new table takes the name. Its primary key and indexes are made
   on the parent, attaching the old table's existing indexes instead of
   building them. It waits for its ACCESS EXCLUSIVE lock under ``migrate``'s
   short ``lock_timeout``; a timeout rolls it back, and ``migrate`` retries,
   naming the blockers.

The first month is two months after the current one (or after the newest
row): the old table keeps taking the worker's rows until the swap, and its
CHECK must admit them.

Backwards (``rollback``): a unique index on ``id`` is built concurrently on
the legacy partition, then in one transaction the legacy partition is
detached, the rows of the monthly partitions (those written since the
conversion) are copied into it, the partitioned table is dropped, and the
names and the primary key ``(id)`` come back. That copy happens under the
lock: its length grows with the rows written since the conversion
(docs/runbooks/partitioning.md).
"""

import datetime
import re

from django.db import IntegrityError, OperationalError, transaction
from django.db.backends.utils import truncate_name

from ecomind_core.migration_safety import existing
from ecomind_core.migration_safety.existing import DefinitionConflict
from ecomind_core.migration_safety.operations import NotValidThenValidate, ensure_index

from .inventory import is_partitioned, partitions
from .maintenance import copy_triggers, ensure_months, months_wanted, statement_triggers
from .months import add_months, legacy_name, literal, month_start, now_utc

_BOUND_VALUE = re.compile(r"'([^']+)'")


class Names:
    """The names the conversion uses for ``model``'s table, all from the model."""

    def __init__(self, model, connection):
        meta = model._meta
        self.max_length = connection.ops.max_name_length()
        self.table = meta.db_table
        self.legacy = legacy_name(self.table)
        self.staging = f"{self.table}_partitioned"
        self.primary_key = f"{self.table}_pkey"
        self.legacy_primary_key = f"{self.legacy}_pkey"
        self.bound_check = f"{self.legacy}_bound"
        self.legacy_id_unique = f"{self.legacy}_id_unique"
        self.indexes = [(index.name, [meta.get_field(name).column for name in index.fields]) for index in meta.indexes]

    def legacy_index(self, columns):
        """A legacy partition's index: named as PostgreSQL names a partition's own (``<partition>_<columns>_idx``)."""
        return truncate_name(f"{self.legacy}_{'_'.join(columns)}_idx", self.max_length)

    def helpers(self):
        """What a try stopped before the swap leaves: the conversion's own, none of the final state."""
        return {self.legacy_primary_key, self.bound_check, self.staging}


def first_month(cursor, names, key, quote):
    """The first monthly partition's start: kept from an earlier try, else two months on (or after the newest row)."""
    cursor.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(%s) AND conname = %s",
        [quote(names.table), names.bound_check],
    )
    row = cursor.fetchone()
    if row:
        return datetime.datetime.fromisoformat(_BOUND_VALUE.search(row[0])[1])
    cursor.execute(f"SELECT max({quote(key)}) FROM {quote(names.table)}")
    newest = cursor.fetchone()[0]
    start = add_months(month_start(now_utc()), 2)
    return max(start, add_months(month_start(newest), 1)) if newest else start


def convert(editor, model, key, pk_columns, ahead):
    """``model``'s plain table made monthly partitions by ``key``, online (see the module's docstring)."""
    if not existing.looks_up(editor):  # only collecting the SQL: nothing to read
        return _convert(editor, None, model, key, pk_columns, ahead)
    with editor.connection.cursor() as cursor:
        return _convert(editor, cursor, model, key, pk_columns, ahead)


def _convert(editor, cursor, model, key, pk_columns, ahead):
    quote, names = editor.quote_name, Names(model, editor.connection)
    live = cursor is not None
    if live and is_partitioned(cursor, quote(names.table)):
        return  # converted by an earlier try
    first = first_month(cursor, names, key, quote) if live else add_months(month_start(now_utc()), 2)
    columns = ", ".join(quote(c) for c in (*pk_columns, key))
    ensure_index(editor, names.table, names.legacy_primary_key,
                 f"CREATE UNIQUE INDEX CONCURRENTLY {quote(names.legacy_primary_key)} ON {quote(names.table)} ({columns})")
    NotValidThenValidate.add_not_valid(editor, names.table, names.bound_check, f"CHECK ({quote(key)} < {literal(first)})")
    make_staging(editor, cursor, names, key, quote)
    ensure_months(cursor, editor.execute, quote, names.staging, first, max(months_wanted(ahead), add_months(first, 1)),
                  named_after=names.table)
    with transaction.atomic(using=editor.connection.alias):
        swap_in(editor, names, key, pk_columns, first, model, quote)


def make_staging(editor, cursor, names, key, quote):
    """The empty partitioned table, with the old table's columns and statement-level triggers (kept if made before)."""
    if cursor is not None:
        if is_partitioned(cursor, quote(names.staging)):
            return
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [quote(names.staging)])
        if cursor.fetchone()[0]:
            raise DefinitionConflict("table", names.staging, names.staging, "a plain table",
                                     f"a table partitioned by RANGE ({key})")
    editor.execute(f"CREATE TABLE {quote(names.staging)} (LIKE {quote(names.table)}) PARTITION BY RANGE ({quote(key)})")
    copy_triggers(editor.execute, statement_triggers(cursor, quote(names.table)) if cursor else {}, quote, names.staging)


def swap_in(editor, names, key, pk_columns, first, model, quote):
    """The old table becomes the legacy partition; the partitioned one takes its name (one short transaction)."""
    run = editor.execute
    run(f"LOCK TABLE {quote(names.table)} IN ACCESS EXCLUSIVE MODE")
    run(f"ALTER TABLE {quote(names.table)} RENAME TO {quote(names.legacy)}")
    run(f"ALTER TABLE {quote(names.legacy)} DROP CONSTRAINT {quote(names.primary_key)}")
    run(f"ALTER TABLE {quote(names.legacy)} ADD CONSTRAINT {quote(names.legacy_primary_key)} "
        f"PRIMARY KEY USING INDEX {quote(names.legacy_primary_key)}")
    for index, columns in names.indexes:
        run(f"ALTER INDEX {quote(index)} RENAME TO {quote(names.legacy_index(columns))}")
    run(f"ALTER TABLE {quote(names.staging)} ATTACH PARTITION {quote(names.legacy)} "
        f"FOR VALUES FROM (MINVALUE) TO ({literal(first)})")
    run(f"ALTER TABLE {quote(names.legacy)} DROP CONSTRAINT {quote(names.bound_check)}")
    run(f"ALTER TABLE {quote(names.staging)} RENAME TO {quote(names.table)}")
    columns = ", ".join(quote(c) for c in (*pk_columns, key))
    # On the parent, each finds the legacy partition's matching index and attaches it: nothing is built.
    run(f"ALTER TABLE {quote(names.table)} ADD CONSTRAINT {quote(names.primary_key)} PRIMARY KEY ({columns})")
    for index in model._meta.indexes:
        run(str(index.create_sql(model, editor)))


def refuse_to_go_back(cursor, names, key, pk_columns, quote):
    """Stop before anything changes when going back would lose or merge rows.

    * A partition left "detach pending" by an interrupted ``retention``: the
      parent no longer shows its rows, so they would not be copied back, and
      dropping the parent would take them. ``retention`` run again finishes it.
    * Two rows sharing an id: the plain table's key, ``id`` alone, cannot hold
      both. Only rows written since the conversion can share one (the legacy
      partition had that key): the months after it are read, and the legacy
      partition through its key's index.
    """
    found = partitions(cursor, quote(names.table))
    pending = [p.name for p in found if p.detach_pending]
    if pending:
        raise OperationalError(
            f"{names.table}: partition {', '.join(pending)} is still being detached (an interrupted retention); "
            "going back now would leave its rows out, so nothing was changed. Run `manage.py retention` again to "
            "finish it, then roll back"
        )
    legacy = next(p for p in found if p.name == names.legacy)
    table, pk = quote(names.table), quote(pk_columns[0])
    cursor.execute(f"""
        (SELECT {pk} FROM {table} WHERE {quote(key)} >= %(first)s GROUP BY {pk} HAVING count(*) > 1
         UNION
         SELECT n.{pk} FROM {table} n WHERE n.{quote(key)} >= %(first)s
           AND EXISTS (SELECT 1 FROM {quote(names.legacy)} l WHERE l.{pk} = n.{pk}))
        LIMIT 5""", {"first": legacy.upper})
    shared = [row[0] for row in cursor.fetchall()]
    if shared:
        raise IntegrityError(
            f"{names.table}: rows written since the conversion share an id with another row ({', '.join(shared)}); "
            f"the plain table's primary key ({pk_columns[0]}) cannot hold both, so nothing was changed. Give one row of "
            "each pair another id, or stay on the partitioned table"
        )


def convert_back(editor, model, key, pk_columns):
    """The partitioned table made one plain table again, every row kept (see the module's docstring)."""
    quote, names = editor.quote_name, Names(model, editor.connection)
    if existing.looks_up(editor):
        with editor.connection.cursor() as cursor:
            if not is_partitioned(cursor, quote(names.table)):
                return  # already plain
            refuse_to_go_back(cursor, names, key, pk_columns, quote)
    pk = ", ".join(quote(c) for c in pk_columns)
    ensure_index(editor, names.legacy, names.legacy_id_unique,
                 f"CREATE UNIQUE INDEX CONCURRENTLY {quote(names.legacy_id_unique)} ON {quote(names.legacy)} ({pk})")
    run = editor.execute
    with transaction.atomic(using=editor.connection.alias):
        run(f"LOCK TABLE {quote(names.table)} IN ACCESS EXCLUSIVE MODE")
        run(f"ALTER TABLE {quote(names.table)} DETACH PARTITION {quote(names.legacy)}")
        # The rows written since the conversion, then the partitioned table (after its rows are safe).
        run(f"INSERT INTO {quote(names.legacy)} SELECT * FROM {quote(names.table)}")
        run(f"DROP TABLE {quote(names.table)}")
        run(f"ALTER TABLE {quote(names.legacy)} DROP CONSTRAINT {quote(names.legacy_primary_key)}")
        run(f"ALTER TABLE {quote(names.legacy)} ADD CONSTRAINT {quote(names.primary_key)} "
            f"PRIMARY KEY USING INDEX {quote(names.legacy_id_unique)}")
        for index, columns in names.indexes:
            run(f"ALTER INDEX {quote(names.legacy_index(columns))} RENAME TO {quote(index)}")
        run(f"ALTER TABLE {quote(names.legacy)} RENAME TO {quote(names.table)}")
