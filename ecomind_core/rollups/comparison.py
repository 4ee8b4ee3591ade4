"""The rows of the daily tables that differ from their events on a day, found in one statement.

The day's events are read once, through the ``ts`` index, into a CTE; each
daily table's expected rows are grouped from it and compared with the
table's rows of that day (read through its primary key, which starts with
``date``) by a ``FULL OUTER JOIN``, so a missing row, an extra row and a
wrong value all show up in one pass. Only divergent rows come back.

The events and the daily rows are read in one statement, so in one snapshot:
a worker transaction (event and upserts together) is either wholly seen or
not at all, and a check while the worker writes finds no false divergence.
"""

import datetime
import math
from dataclasses import dataclass

from .rules import COUNT, DAILY_KEYS, EVENTS_OF_DAYS_SQL, MEASURES, differs_sql, expected_rows_sql

#: The kinds of divergence, as reports name them: the day has events for a
#: key but no row, a row but no events, or a row whose measure differs.
MISSING_ROW = "missing row"
EXTRA_ROW = "extra row"
WRONG = {measure: f"wrong {measure}" for measure in MEASURES}


def json_ready(value):
    """``value`` with NaN and infinities as text: a corrupt row may hold them, and JSON (the
    report, the audit row's ``json`` column) has no such numbers."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


@dataclass(frozen=True)
class Problem:
    kind: str
    #: The measure's value (wrong ...), or all the row's measures (missing/extra row).
    expected: object
    found: object


@dataclass(frozen=True)
class DivergentRow:
    """A row of a daily table that is not what the events of its day and key give."""

    table: str
    date: datetime.date
    #: The key columns after ``date``, in the primary key's order.
    key: dict
    #: ``{measure: value}`` from the events; None when the day has no events for the key.
    expected: dict | None
    #: ``{measure: value}`` the table holds; None when it has no row.
    found: dict | None
    #: The measures whose value differs (both present).
    wrong: tuple = ()

    @property
    def problems(self):
        if self.found is None:
            return [Problem(MISSING_ROW, self.expected, None)]
        if self.expected is None:
            return [Problem(EXTRA_ROW, None, self.found)]
        return [Problem(WRONG[m], self.expected[m], self.found[m]) for m in self.wrong]

    def as_dict(self):
        return {
            "table": self.table, "date": self.date.isoformat(), "key": self.key,
            "problems": [{"kind": p.kind, "expected": json_ready(p.expected), "found": json_ready(p.found)} for p in self.problems],
        }


def _table_comparison_sql(model):
    """Divergent rows of one table: its expected rows FULL JOINed with its rows of the day."""
    table, keys = model._meta.db_table, DAILY_KEYS[model]
    join_columns = ", ".join(("date", *keys))
    flags = ", ".join(f"{differs_sql(f'd.{m}', f'e.{m}', m)} AS wrong_{m}" for m in MEASURES)
    return (
        f"SELECT '{table}' AS daily_table, date, ARRAY[{', '.join(keys)}]::text[] AS key, "
        f"e.{COUNT} IS NOT NULL AS has_expected, d.date IS NOT NULL AS has_found, "
        + ", ".join(f"e.{m} AS expected_{m}" for m in MEASURES) + ", "
        + ", ".join(f"d.{m} AS found_{m}" for m in MEASURES) + f", {flags} "
        f"FROM ({expected_rows_sql(model, 'day_events')}) e "
        f"FULL JOIN (SELECT {join_columns}, {', '.join(MEASURES)} FROM {table} "
        f"WHERE date BETWEEN %(first_day)s AND %(last_day)s) d USING ({join_columns})"
    )


DIVERGENT_ROWS_SQL = (
    f"WITH day_events AS MATERIALIZED ({EVENTS_OF_DAYS_SQL}) "
    "SELECT * FROM ("
    + " UNION ALL ".join(_table_comparison_sql(model) for model in DAILY_KEYS)
    + ") compared WHERE NOT (has_expected AND has_found) OR "
    + " OR ".join(f"wrong_{m}" for m in MEASURES)
    + " ORDER BY date, daily_table, key"
)
_COLUMNS_BY_TABLE = {model._meta.db_table: DAILY_KEYS[model] for model in DAILY_KEYS}


def query_parameters(day):
    """The parameters of :data:`DIVERGENT_ROWS_SQL` for ``day``."""
    return {"first_day": day, "last_day": day}


def divergent_rows(cursor, day):
    """Every divergent row of the four tables on ``day``."""
    cursor.execute(DIVERGENT_ROWS_SQL, query_parameters(day))
    names = [column.name for column in cursor.description]
    return [_divergent_row(dict(zip(names, values))) for values in cursor.fetchall()]


def _divergent_row(row):
    return DivergentRow(
        table=row["daily_table"],
        date=row["date"],
        key=dict(zip(_COLUMNS_BY_TABLE[row["daily_table"]], row["key"])),
        expected={m: row[f"expected_{m}"] for m in MEASURES} if row["has_expected"] else None,
        found={m: row[f"found_{m}"] for m in MEASURES} if row["has_found"] else None,
        wrong=tuple(m for m in MEASURES if row["has_expected"] and row["has_found"] and row[f"wrong_{m}"]),
    )
