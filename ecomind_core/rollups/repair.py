"""Make one day of the daily tables equal to its events, safely beside the worker.

The enrichment worker takes none of our locks: per event it inserts into
``events_enriched``, then upserts the four daily tables (``ON CONFLICT ... DO
UPDATE SET call_count = call_count + 1, ...``), then commits. A day is
repaired in one transaction that

1. locks the four daily tables ``IN SHARE ROW EXCLUSIVE MODE``: it waits for
   every worker transaction that has already upserted (so those are
   committed before we look), and holds back the upserts of the others for
   this short transaction, while their event ``INSERT``\\ s go on;
2. then finds the day's divergent rows (comparison.py), in a statement
   snapshot taken after the lock: a worker that committed is seen, event and
   increments; one that inserted its event but has not upserted yet is not
   seen, and adds its +1 on top of our row after we commit (``ON CONFLICT``
   updates the latest committed row version);
3. inserts the missing rows, updates the wrong ones and deletes the extra
   ones to what the events give, and commits.

So no increment is lost or counted twice. The tables are locked in the order
the worker upserts them (rules.DAILY_MODELS), so a worker halfway through
its upserts makes us wait, never deadlock; a deadlock with another client,
or a lock not granted within the lock timeout, rolls the day back and it
is tried again, up to :data:`ATTEMPTS` times. Events are only ever read.
"""

import datetime
import time
from collections import Counter

import pglock
from django.db import OperationalError, transaction

from ecomind_core.db.errors import DEADLOCK_DETECTED, LOCK_NOT_AVAILABLE, sqlstate

from .comparison import divergent_rows, json_ready
from .rules import DAILY_KEYS, MEASURES

#: Row changes listed in a run's audit row, at most (its counts are always complete).
AUDITED_CHANGES = 1000
#: How long one attempt waits for the daily tables, by default (the worker's
#: transactions are milliseconds long; while we wait, its upserts queue behind us).
LOCK_TIMEOUT = datetime.timedelta(seconds=2)
ATTEMPTS = 5
RETRY_PAUSE = 0.2  # seconds, times the attempt number
_RETRYABLE = {DEADLOCK_DETECTED, LOCK_NOT_AVAILABLE}


class DayNotRepaired(Exception):
    """A day's lock could not be had after every attempt; the day is unchanged."""


def _statements(model):
    table, keys = model._meta.db_table, ("date", *DAILY_KEYS[model])
    where = " AND ".join(f"{column} = %s" for column in keys)
    return {
        "insert": f"INSERT INTO {table} ({', '.join((*keys, *MEASURES))}) VALUES ({', '.join(['%s'] * (len(keys) + len(MEASURES)))})",
        "update": f"UPDATE {table} SET {', '.join(f'{m} = %s' for m in MEASURES)} WHERE {where}",
        "delete": f"DELETE FROM {table} WHERE {where}",
    }


STATEMENTS = {model._meta.db_table: _statements(model) for model in DAILY_KEYS}
CHANGES = ("insert", "update", "delete")


def change_of(row):
    """What repairing ``row`` does: ``insert``, ``update`` or ``delete``."""
    if row.found is None:
        return "insert"
    if row.expected is None:
        return "delete"
    return "update"


def count_changes(rows):
    """``{table: {"insert": n, "update": n, "delete": n}}`` for the tables ``rows`` touch."""
    counts = {}
    for row in rows:
        counts.setdefault(row.table, dict.fromkeys(CHANGES, 0))[change_of(row)] += 1
    return counts


def describe_changes(rows):
    totals = Counter(change_of(row) for row in rows)
    return f"{totals['insert']:,} rows inserted, {totals['update']:,} updated, {totals['delete']:,} deleted"


def _apply(cursor, rows):
    batches = {}
    for row in rows:
        key = [row.date, *row.key.values()]
        expected = [row.expected[m] for m in MEASURES] if row.expected else []
        change = change_of(row)
        params = {"insert": key + expected, "update": expected + key, "delete": key}[change]
        batches.setdefault(STATEMENTS[row.table][change], []).append(params)
    for statement, params in batches.items():
        cursor.executemany(statement, params)


def repair_day(connection, day, lock_timeout=LOCK_TIMEOUT):
    """Make ``day`` of the four daily tables equal to its events; the rows changed.

    Args:
        lock_timeout: how long each attempt waits for the tables' lock (a timedelta).

    Raises:
        DayNotRepaired: the tables' lock was not granted in any attempt.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                pglock.model(*DAILY_KEYS, mode=pglock.SHARE_ROW_EXCLUSIVE, using=connection.alias,
                             timeout=lock_timeout, side_effect=pglock.Raise)
                rows = divergent_rows(cursor, day)
                _apply(cursor, rows)
            return rows
        except OperationalError as exc:
            if sqlstate(exc) not in _RETRYABLE:
                raise
            time.sleep(RETRY_PAUSE * attempt)
    raise DayNotRepaired(
        f"the daily tables could not be locked to repair {day} in {ATTEMPTS} attempts of {lock_timeout.total_seconds():g}s"
    )


class RepairRun:
    """What one ``repair_rollups`` run changed, for its report and its one audit row."""

    def __init__(self, scan):
        #: The verification.Verification that found the divergent days.
        self.scan = scan
        self.days, self.rows = [], []
        #: Why the run stopped before the last divergent day (None: it did not).
        self.stopped = None

    def add(self, day, rows):
        self.days.append(day)
        self.rows.extend(rows)

    def details(self):
        return {
            "since": self.scan.since.isoformat() if self.scan.since else None,
            "until": self.scan.until.isoformat() if self.scan.until else None,
            "days_checked": len(self.scan.days),
            "days_divergent": [day.isoformat() for day in self.scan.divergent_days],
            "days_repaired": [day.isoformat() for day in self.days],
            "rows_by_table": count_changes(self.rows),
            "changes": [
                {**row.as_dict(), "change": change_of(row), "before": json_ready(row.found), "after": json_ready(row.expected)}
                for row in self.rows[:AUDITED_CHANGES]
            ],
            "changes_listed": min(len(self.rows), AUDITED_CHANGES),
            "stopped": self.stopped,
        }
