"""The partitions a table has now, with their bounds, read from the catalog."""

import datetime
import re
from dataclasses import dataclass

_BOUND = re.compile(r"FROM \((MINVALUE|'[^']*')\) TO \((MAXVALUE|'[^']*')\)")

PARTITIONS_SQL = """
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), i.inhdetachpending
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = to_regclass(%s)
ORDER BY 1
"""


@dataclass(frozen=True)
class Partition:
    name: str
    #: Rows with ``lower <= ts < upper`` (None: unbounded, MINVALUE/MAXVALUE).
    lower: datetime.datetime | None
    upper: datetime.datetime | None
    #: A ``DETACH ... CONCURRENTLY`` that was interrupted: FINALIZE it.
    detach_pending: bool = False

    def holds_only_before(self, cutoff):
        """Every row it can hold is older than ``cutoff``."""
        return self.upper is not None and self.upper <= cutoff


def _moment(text):
    return None if text in ("MINVALUE", "MAXVALUE") else datetime.datetime.fromisoformat(text.strip("'"))


def partitions(cursor, table):
    """:class:`Partition` of ``table``, oldest first (empty: a plain table, or none)."""
    cursor.execute(PARTITIONS_SQL, [table])
    found = []
    for name, bound, pending in cursor.fetchall():
        match = _BOUND.search(bound or "")
        if match:
            found.append(Partition(name, _moment(match[1]), _moment(match[2]), pending))
    return sorted(found, key=lambda p: (p.lower is not None, p.lower or datetime.datetime.min))


def is_partitioned(cursor, table):
    cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table])
    row = cursor.fetchone()
    return bool(row and row[0])


def covered_until(found):
    """The end of the last monthly partition (None: none)."""
    uppers = [p.upper for p in found if p.upper is not None]
    return max(uppers) if uppers else None
