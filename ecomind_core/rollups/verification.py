"""Check a period of the daily tables against the events, one day at a time.

Only days that hold data are checked: they are found with a loose index scan
(one ``min()`` probe per day on the ``ts`` index and on each daily table's
primary key), so an empty stretch costs nothing and a stray event dated 1970
adds one day, not fifty years. Each day is then one statement
(comparison.py): its cost follows the day's events, not the table's size.
Every statement is a ``SELECT``: verifying never writes.
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone

from .comparison import divergent_rows
from .rules import DAILY_MODELS, EVENTS_TABLE, day_start_sql, next_day_start_sql

#: The verdicts of a check.
CLEAN, DIVERGENT = "clean", "divergent"


def _days_of_table_sql(table):
    """A loose scan of ``table.date`` from ``%(since)s`` to ``%(until)s`` (NULL: open)."""
    in_period = "date <= coalesce(%(until)s::date, 'infinity')"
    return (
        f"{table}_days(day) AS (SELECT min(date) FROM {table} "
        f"WHERE date >= coalesce(%(since)s::date, '-infinity') AND {in_period} "
        f"UNION ALL SELECT (SELECT min(date) FROM {table} WHERE date > day AND {in_period}) "
        f"FROM {table}_days WHERE day IS NOT NULL)"
    )


def _days_of_events_sql():
    """The same over events: the next day with events starts at the first ``ts`` after the day."""
    in_period = f"ts < coalesce({next_day_start_sql('%(until)s')}, 'infinity')"
    return (
        f"event_days(day) AS (SELECT min(ts)::date FROM {EVENTS_TABLE} "
        f"WHERE ts >= coalesce({day_start_sql('%(since)s::date')}, '-infinity') AND {in_period} "
        f"UNION ALL SELECT (SELECT min(ts)::date FROM {EVENTS_TABLE} WHERE ts >= {next_day_start_sql('day')} AND {in_period}) "
        f"FROM event_days WHERE day IS NOT NULL)"
    )


_TABLES = [model._meta.db_table for model in DAILY_MODELS]
DAYS_WITH_DATA_SQL = (
    "WITH RECURSIVE "
    + ", ".join([_days_of_events_sql(), *map(_days_of_table_sql, _TABLES)])
    + " SELECT day FROM ("
    + " UNION ".join(f"SELECT day FROM {name} WHERE day IS NOT NULL" for name in ["event_days", *(f"{t}_days" for t in _TABLES)])
    + ") days ORDER BY day"
)


def days_with_data(cursor, since=None, until=None):
    """Every day from ``since`` to ``until`` (None: open) with an event or a daily row, in order."""
    cursor.execute(DAYS_WITH_DATA_SQL, {"since": since, "until": until})
    return [day for (day,) in cursor.fetchall()]


@dataclass
class Verification:
    """What a check of a period found."""

    #: The period asked for (None: open at that end).
    since: datetime.date | None
    until: datetime.date | None
    #: The days with data in it, all checked.
    days: list
    divergent: list = field(default_factory=list)
    checked_at: datetime.datetime = field(default_factory=timezone.now)

    @property
    def clean(self):
        return not self.divergent

    @property
    def verdict(self):
        return CLEAN if self.clean else DIVERGENT

    @property
    def divergent_days(self):
        return sorted({row.date for row in self.divergent})

    def rows_by_table(self):
        return dict(Counter(row.table for row in self.divergent))

    def covered_until(self):
        """The last day this check vouches for: ``until``, or when open every day up to the check
        (days after the last one with data had none)."""
        if self.until:
            return self.until
        return max([self.checked_at.date(), *self.days[-1:]])


def verify(connection, since=None, until=None, on_day=None):
    """Check every day with data from ``since`` to ``until``.

    ``on_day(done, total, day, divergent_so_far)`` is called after each day
    (progress reports).
    """
    with connection.cursor() as cursor:
        result = Verification(since, until, days_with_data(cursor, since, until))
        for done, day in enumerate(result.days, 1):
            result.divergent.extend(divergent_rows(cursor, day))
            if on_day:
                on_day(done, len(result.days), day, len(result.divergent))
    return result
