"""What a daily roll-up is: the one place that says how events become daily rows.

* **The day** of an event is its UTC calendar day, ``ts::date`` (``ts`` holds
  naive UTC). The events of day D are those with ``D <= ts < D + 1``, written
  as that range so the ``ts`` index finds them (``ts::date = D`` cannot use it).
* **The key** of a daily row is the day and its table's key columns
  (``DailyTotals.key_columns()``), taken from the event's columns of the same
  name; an event without a model counts under ``'unknown'``, as the
  enrichment worker files it.
* **The values**: ``call_count`` counts the events, and every ``FOOTPRINT``
  column sums theirs.
* **Equal sums**: the worker adds one event at a time, a ``GROUP BY`` adds in
  another order, and floating-point sums differ in their last bits, so two
  sums are equal within a relative tolerance (:data:`RELATIVE_TOLERANCE`).

``rebuild``, ``comparison`` (verify and repair), the benchmark and the tests
read these; nothing else says them again.
"""

import datetime

from django.db.models import F, Value
from django.db.models.functions import Coalesce, TruncDate

from ecomind_core import models

#: The four daily models, each with the event columns that key it after the
#: day. In the order the enrichment worker upserts them, which is also the
#: order repair locks them in (see repair.py).
DAILY_MODELS = tuple(models.DailyTotals.__subclasses__())
DAILY_KEYS = {model: model.key_columns() for model in DAILY_MODELS}

EVENTS_TABLE = models.Event._meta.db_table
#: Event columns whose missing value counts under a stand-in.
STAND_INS = {"model": "unknown"}
#: What a daily row holds (``DailyTotals.MEASURES``): the count of events,
#: then the sum of each ``FOOTPRINT`` column of theirs.
MEASURES = models.DailyTotals.MEASURES
COUNT, SUMS = MEASURES[0], MEASURES[1:]

#: Two sums are equal when they differ by at most this fraction of the
#: expected one, plus :data:`ABSOLUTE_TOLERANCE` (for sums of zero). Reordering a
#: sum of n doubles moves it by about n * 1e-16 of its size; an event wrongly
#: counted or missed moves it by far more than 1e-9 unless it is a billionth
#: of its day.
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-12

#: Every event column some daily table is keyed by.
ALL_KEY_COLUMNS = tuple(dict.fromkeys(column for keys in DAILY_KEYS.values() for column in keys))


def day_start_sql(day):
    """SQL for the first instant of the UTC day ``day`` (an SQL date expression), as ``ts`` holds it."""
    return f"({day})::timestamp"


def next_day_start_sql(day):
    """SQL for the first instant after the UTC day ``day``.

    Computed by the server: ``date.max + 1`` overflows in Python, not there.
    """
    return f"(({day})::date + 1)::timestamp"


def event_key_sql(column):
    """SQL for the value an event files under in key column ``column``."""
    if column in STAND_INS:
        return f"COALESCE({column}, '{STAND_INS[column]}')"
    return column


def event_key_expression(column):
    """The ORM form of :func:`event_key_sql` (for :func:`rebuild.rebuild_daily_totals`)."""
    if column in STAND_INS:
        return Coalesce(F(column), Value(STAND_INS[column]))
    return F(column)


#: The ORM form of the day (TruncDate in UTC, whatever the session's zone).
EVENT_DAY = TruncDate("ts", tzinfo=datetime.UTC)

#: The events of the days ``%(first_day)s`` .. ``%(last_day)s`` (dates),
#: with their day and the values they file under, read through the ``ts``
#: index.
EVENTS_OF_DAYS_SQL = (
    "SELECT ts::date AS date, "
    + ", ".join(f"{event_key_sql(c)} AS {c}" for c in ALL_KEY_COLUMNS)
    + ", "
    + ", ".join(SUMS)
    + f" FROM {EVENTS_TABLE} WHERE ts >= {day_start_sql('%(first_day)s::date')} AND ts < {next_day_start_sql('%(last_day)s')}"
)


def expected_rows_sql(model, events):
    """SQL for the rows ``model``'s table should hold, given the relation ``events``.

    ``events`` has the columns of :data:`EVENTS_OF_DAYS_SQL` (a CTE of it).
    """
    group = ", ".join(("date", *DAILY_KEYS[model]))
    sums = ", ".join(f"sum({column}) AS {column}" for column in SUMS)
    return f"SELECT {group}, count(*) AS {COUNT}, {sums} FROM {events} GROUP BY {group}"


def differs_sql(found, expected, measure):
    """SQL that is true when ``found`` is not what ``expected`` says (NULL found differs)."""
    if measure == COUNT:
        return f"{found} IS DISTINCT FROM {expected}"
    # Relative to the expected sum only: a NaN or infinite ``found`` must not
    # widen its own tolerance (PostgreSQL orders NaN above every number and
    # equal to itself, so greatest(NaN, x) would make NaN "close").
    return (
        f"({found} IS NULL OR NOT abs({found} - {expected}) <= "
        f"{RELATIVE_TOLERANCE!r} * abs({expected}) + {ABSOLUTE_TOLERANCE!r})"
    )
