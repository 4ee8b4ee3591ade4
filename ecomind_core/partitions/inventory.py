"""The partitions a table has now, with their bounds, read from the catalog."""

import datetime
import re
from dataclasses import dataclass

_BOUND = re.compile(r"FROM \((MINVALUE|'[^']*')\) TO \((MAXVALUE|'[^']*')\)")

PARTITIONS_SQL = """
SELECT p.relname, c.relname, pg_get_expr(c.relpartbound, c.oid), i.inhdetachpending
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
WHERE i.inhparent = ANY(ARRAY(SELECT to_regclass(t) FROM unnest(%s::text[]) t))
ORDER BY 1, 2
"""


@dataclass(frozen=True)
class Partition:
    name: str
    #: Rows with ``lower <= ts < upper`` (None: unbounded, MINVALUE/MAXVALUE).
    lower: datetime.datetime | None
    upper: datetime.datetime | None
    #: A ``DETACH ... CONCURRENTLY`` that was interrupted: FINALIZE it.
    detach_pending: bool = False
    #: The default partition (``partitions_of(..., with_default=True)`` only): the catalog proof reports it.
    default: bool = False

    def holds_only_before(self, cutoff):
        """Every row it can hold is older than ``cutoff``."""
        return self.upper is not None and self.upper <= cutoff


def _moment(text):
    return None if text in ("MINVALUE", "MAXVALUE") else datetime.datetime.fromisoformat(text.strip("'"))


def partitions(cursor, table):
    """:class:`Partition` of ``table`` (quoted), oldest first (empty: a plain table, or none)."""
    return next(iter(partitions_of(cursor, [table]).values()), [])


def partitions_of(cursor, tables, with_default=False):
    """``{table name: [Partition, oldest first]}`` of the partitioned ones among ``tables`` (quoted), in one query.

    A default partition is left out (none of ours has one) unless ``with_default``.
    """
    cursor.execute(PARTITIONS_SQL, [list(tables)])
    found = {}
    for parent, name, bound, pending in cursor.fetchall():
        match = _BOUND.search(bound or "")
        if match:
            found.setdefault(parent, []).append(Partition(name, _moment(match[1]), _moment(match[2]), pending))
        elif bound == "DEFAULT" and with_default:
            found.setdefault(parent, []).append(Partition(name, None, None, pending, default=True))
    return {parent: sorted(items, key=lambda p: (p.lower is not None, p.lower or datetime.datetime.min))
            for parent, items in found.items()}


def not_partitioned(cursor, tables):
    """Those of ``tables`` (names, unquoted) that are not partitioned yet: migration 0006 has not converted them."""
    cursor.execute("SELECT t FROM unnest(%s::text[]) t WHERE NOT EXISTS "
                   "(SELECT 1 FROM pg_class WHERE oid = to_regclass(quote_ident(t)) AND relkind = 'p')", [list(tables)])
    return [name for (name,) in cursor.fetchall()]


#: What maintain_partitions and retention say of ``not_partitioned``'s tables (exit 1).
NOT_PARTITIONED = "not partitioned yet: {}; run `manage.py migrate` (migration 0006 converts them)."


def is_partitioned(cursor, table):
    cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table])
    row = cursor.fetchone()
    return bool(row and row[0])
