"""Old rows removed by partition: detached ``CONCURRENTLY`` and dropped, not deleted row by row.

A whole month older than the cutoff goes with ``DETACH PARTITION ...
CONCURRENTLY`` (a SHARE UPDATE EXCLUSIVE lock: the worker's inserts go on)
and ``DROP TABLE``: a moment, almost no WAL, and the disk space returned,
where a ``DELETE`` writes every row to the WAL and gives no space back
(benchmarks/retention_wal.py). A partition that also holds newer rows is
never dropped.

Some rows are deleted in short batches instead (each batch its own
transaction, so no lock is held for long): those before the cutoff in
the legacy partition (the table as it was before the conversion, which
spans every month before it), rows in partitions that also hold rows
that must stay (``keep``: baseline's records, which ``baseline --undo``
reads), and, when asked to be exact (``purge_audit_logs``), those in the
month the cutoff falls in.

An interrupted ``DETACH ... CONCURRENTLY`` leaves the partition "detach
pending"; the next run finishes it (``FINALIZE``).
"""

import datetime
import json
import re
from contextlib import nullcontext
from dataclasses import dataclass, field

import pgtrigger
from django.db import connections, transaction

from ecomind_core.db.concurrent import run_concurrently

from .inventory import partitions
from .months import add_months, month_start
from .options import partition_key

#: Rows per DELETE batch: a few hundred milliseconds of work, so that locks and WAL bursts stay short.
BATCH_ROWS = 10_000
_DURATION = re.compile(r"^\s*(\d+)\s*(d|w|m|y)\s*$")


def parse_age(text):
    """``"400d"``, ``"8w"``, ``"18m"`` (months) or ``"7y"``: ``(count, unit)``; ValueError otherwise."""
    match = _DURATION.match(str(text))
    if not match or int(match[1]) < 1:
        raise ValueError(f"{text!r} is not an age such as 400d, 8w, 18m or 7y")
    return int(match[1]), match[2]


def cutoff_before(now, age):
    """The moment ``age`` (``parse_age``) before ``now``: rows with ``ts`` before it are old."""
    count, unit = age
    if unit in ("d", "w"):
        return now - datetime.timedelta(days=count * (7 if unit == "w" else 1))
    month = add_months(month_start(now), -count * (12 if unit == "y" else 1))
    last_day = (add_months(month, 1) - datetime.timedelta(days=1)).day  # 31 March less a month: 28 or 29 February
    return now.replace(year=month.year, month=month.month, day=min(now.day, last_day))


@dataclass
class Plan:
    """What removing ``table``'s rows before ``cutoff`` takes."""

    table: str
    cutoff: datetime.datetime
    #: Partitions holding only old rows: detached and dropped (with their estimated rows).
    drop: list = field(default_factory=list)
    #: ``(partition, rows)``: old rows deleted in batches there (estimated, unless exact).
    trim: list = field(default_factory=list)

    def rows(self):
        return sum(rows for _, rows in self.drop) + sum(rows for _, rows in self.trim)


@dataclass
class Done:
    """What a removal has done so far (kept as it goes: a run that fails half-way still says what went)."""

    dropped: list = field(default_factory=list)
    deleted: int = 0

    def __bool__(self):
        return bool(self.dropped or self.deleted)


class Remover:
    """Plans and carries out the removal of old rows of one partitioned table on one connection."""

    def __init__(self, using, model, *, keep=None, exact=False):
        self.using, self.table = using, model._meta.db_table
        self.connection = connections[using]
        self.quote = self.connection.ops.quote_name
        self.key = self.quote(partition_key(model._meta))
        #: ``(sql, params)``: rows that are never removed, whatever their age.
        self.keep = keep
        #: The table's own guards (the append-only trigger) let the batches through, as for purge_audit_logs.
        self.trigger_uris = [trigger.get_uri(model) for trigger in getattr(model._meta, "triggers", [])]
        #: Exact (purge_audit_logs): also delete the old rows of the month the cutoff falls in (else that
        #: month stays whole), and count the rows of partitions to drop (else the statistics' estimate).
        self.exact = exact

    def plan(self, cutoff):
        plan = Plan(self.table, cutoff)
        with self.connection.cursor() as cursor:
            for partition in partitions(cursor, self.quote(self.table)):
                if partition.lower is not None and partition.lower >= cutoff:
                    continue
                has_kept = self.holds_kept(cursor, partition)
                # The legacy partition (no lower bound) is emptied but kept: rolling the conversion back reuses it.
                if partition.holds_only_before(cutoff) and not has_kept and partition.lower is not None:
                    rows = self.count_all(cursor, partition) if self.exact else self.estimate(cursor, partition)
                    plan.drop.append((partition, rows))
                elif partition.lower is None or has_kept or self.exact:
                    rows = (self.count_old if self.exact else self.estimate_old)(cursor, partition, cutoff)
                    if rows:
                        plan.trim.append((partition, rows))
        return plan

    def holds_kept(self, cursor, partition):
        if self.keep is None:
            return False
        sql, params = self.keep
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {self.quote(partition.name)} WHERE {sql})", params)
        return cursor.fetchone()[0]

    def estimate(self, cursor, partition):
        """Rows in a partition to drop, as the planner's statistics say (an exact count would read it whole).

        A partition never analyzed yet (``reltuples`` -1: a young or small one) is counted.
        """
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [self.quote(partition.name)])
        estimate = cursor.fetchone()[0]
        return self.count_all(cursor, partition) if estimate < 0 else estimate

    def count_all(self, cursor, partition):
        cursor.execute(f"SELECT count(*) FROM {self.quote(partition.name)}")
        return cursor.fetchone()[0]

    def old_rows(self, partition, cutoff):
        sql, params = f"{self.key} < %s", [cutoff]
        if self.keep is not None:
            sql, params = f"{sql} AND NOT ({self.keep[0]})", [*params, *self.keep[1]]
        return f"FROM {self.quote(partition.name)} WHERE {sql}", params

    def count_old(self, cursor, partition, cutoff):
        where, params = self.old_rows(partition, cutoff)
        cursor.execute(f"SELECT count(*) {where}", params)
        return cursor.fetchone()[0]

    def estimate_old(self, cursor, partition, cutoff):
        """The planner's estimate of the old rows (the legacy partition can hold hundreds of millions: a count
        would read them all); at least 1 when any is there, so that none is left for want of an estimate."""
        where, params = self.old_rows(partition, cutoff)
        cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 {where}", params)
        plan = cursor.fetchone()[0]
        estimate = int((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"])
        cursor.execute(f"SELECT EXISTS (SELECT 1 {where})", params)
        return max(estimate, 1) if cursor.fetchone()[0] else 0

    def carry_out(self, plan, done=None, on_progress=lambda line: None):
        """Drop and trim as planned, noting each step in ``done`` as it ends; returns ``done``."""
        done = Done() if done is None else done
        for partition, _ in plan.drop:
            self.detach_and_drop(partition)
            done.dropped.append(partition.name)
            on_progress(f"{self.table}: dropped partition {partition.name}")
        for partition, _ in plan.trim:
            before = done.deleted
            self.delete_in_batches(partition, plan.cutoff, done)
            on_progress(f"{self.table}: deleted {done.deleted - before:,} rows before {plan.cutoff:%Y-%m-%d %H:%M} "
                        f"from {partition.name}")
        return done

    def detach_and_drop(self, partition):
        quote = self.quote
        # Outside any transaction (CONCURRENTLY insists), lock_timeout off: it waits for the transactions
        # that may see the partition (a backup's, a long report's), blocking no insert meanwhile, and
        # says whom it waits for (db/concurrent.py).
        finish = "FINALIZE" if partition.detach_pending else "CONCURRENTLY"
        run_concurrently(self.connection, f"ALTER TABLE {quote(self.table)} DETACH PARTITION {quote(partition.name)} {finish}")
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {quote(partition.name)}")

    def delete_in_batches(self, partition, cutoff, done):
        where, params = self.old_rows(partition, cutoff)
        table = self.quote(partition.name)
        sql = f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid {where} LIMIT {BATCH_ROWS}))"
        while True:
            with transaction.atomic(using=self.using), self.ignoring(), self.connection.cursor() as cursor:
                cursor.execute(sql, params)
                count = cursor.rowcount
            done.deleted += count
            if count < BATCH_ROWS:
                return

    def ignoring(self):
        if not self.trigger_uris:
            return nullcontext()
        return pgtrigger.ignore(*self.trigger_uris, databases=[self.using])
