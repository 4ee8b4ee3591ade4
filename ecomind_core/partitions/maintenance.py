"""Monthly partitions made ahead of time, so the worker's INSERT always finds one.

There is no default partition (pg_partman's way): a default partition
forbids ``DETACH ... CONCURRENTLY``, and one stray row in it halts the
making of the month it falls in. Instead ``maintain_partitions`` runs on a
schedule (deploy/) and keeps ``PARTITIONS_AHEAD`` months beyond the current
one; the metrics say how many there are (``ecomind_partition_months_ahead``)
and an alert fires well before the last one is reached
(docs/runbooks/partitioning.md).

A partition is made as a plain table (``LIKE`` the parent) and then
attached: ``ATTACH PARTITION`` takes only SHARE UPDATE EXCLUSIVE on the
parent, so the worker's inserts go on, where ``CREATE TABLE ... PARTITION
OF`` would take ACCESS EXCLUSIVE. The new table is empty, so attaching it
and building its indexes take a moment. Statement-level triggers (the
audit rows' append-only guard) are not inherited by partitions, so each
partition gets its parent's.
"""

import re

from .inventory import partitions
from .months import add_months, literal, month_start, now_utc, partition_name

#: ``FOR EACH ROW`` is bit 0 of pg_trigger.tgtype: row-level triggers are cloned by PostgreSQL itself.
STATEMENT_TRIGGERS_SQL = """
SELECT t.tgname, pg_get_triggerdef(t.oid), obj_description(t.oid, 'pg_trigger') FROM pg_trigger t
WHERE t.tgrelid = to_regclass(%s) AND NOT t.tgisinternal AND (t.tgtype & 1) = 0
ORDER BY t.tgname
"""
#: Each partition lacking one of its parent's statement-level triggers (or holding it other than the parent's).
MISSING_TRIGGERS_SQL = """
SELECT parent.relname, child.relname, t.tgname
FROM pg_inherits i
JOIN pg_class parent ON parent.oid = i.inhparent
JOIN pg_class child ON child.oid = i.inhrelid
JOIN pg_trigger t ON t.tgrelid = parent.oid AND NOT t.tgisinternal AND (t.tgtype & 1) = 0
WHERE parent.oid = ANY(%s::regclass[])
  AND NOT EXISTS (
    SELECT 1 FROM pg_trigger c
    WHERE c.tgrelid = child.oid AND c.tgname = t.tgname AND c.tgfoid = t.tgfoid AND c.tgtype = t.tgtype
      AND c.tgenabled = t.tgenabled
  )
ORDER BY 1, 2, 3
"""
_TRIGGER_TABLE = re.compile(r"( ON )(\S+)( FOR EACH )")


def statement_triggers(cursor, table):
    """``{name: (CREATE TRIGGER statement, comment)}`` of ``table``'s own statement-level triggers."""
    cursor.execute(STATEMENT_TRIGGERS_SQL, [table])
    return {name: (definition, comment) for name, definition, comment in cursor.fetchall()}


def copy_triggers(execute, definitions, quote, table):
    """The statement-level triggers ``definitions`` (``statement_triggers`` of another table) made on ``table`` too.

    With their comments: django-pgtrigger keeps the hash of what it installed
    there, and reads a trigger without it as outdated.
    """
    for name, (definition, comment) in definitions.items():
        execute(_TRIGGER_TABLE.sub(lambda m: f"{m[1]}{quote(table)}{m[3]}", definition, count=1))
        if comment is not None:
            execute(f"COMMENT ON TRIGGER {quote(name)} ON {quote(table)} IS %s", [comment])


def create_partition(execute, quote, parent, start, triggers, named_after=None):
    """The month from ``start`` as a new partition of ``parent``: a plain table, then attached."""
    name = partition_name(named_after or parent, start)
    execute(f"CREATE TABLE {quote(name)} (LIKE {quote(parent)} INCLUDING DEFAULTS)")
    execute(f"ALTER TABLE {quote(parent)} ATTACH PARTITION {quote(name)} "
            f"FOR VALUES FROM ({literal(start)}) TO ({literal(add_months(start, 1))})")
    copy_triggers(execute, triggers, quote, name)
    return name


def months_wanted(ahead, now=None):
    """The end of the coverage wanted: the current month and ``ahead`` more."""
    return add_months(month_start(now or now_utc()), ahead + 1)


def ensure_months(cursor, execute, quote, parent, start, until, named_after=None):
    """Partitions of ``parent`` for every month from ``start`` up to ``until`` that has none; the names made.

    ``cursor`` None: nothing is read (the SQL is only being collected). ``named_after``: the table
    whose name the partitions carry (the conversion's staging table takes it at the swap).
    """
    found = partitions(cursor, quote(parent)) if cursor else []
    triggers = statement_triggers(cursor, quote(parent)) if cursor else {}
    return [create_partition(execute, quote, parent, month, triggers, named_after)
            for month in missing_months(found, start, until)]


#: How far ahead months are counted (a partition up to MAXVALUE would otherwise count forever).
MAX_MONTHS_COUNTED = 120


def covers(found, month):
    """Some partition holds every row of ``month`` (the month starting then)."""
    end = add_months(month, 1)
    return any((p.lower is None or p.lower <= month) and (p.upper is None or p.upper >= end) for p in found)


def missing_months(found, start, until):
    """The months from ``start`` up to ``until`` that no partition holds (a gap is as bad as the end)."""
    months, month = [], start
    while month < until:
        if not covers(found, month):
            months.append(month)
        month = add_months(month, 1)
    return months


def months_ahead(found, now=None):
    """Whole months covered without a gap after the current one (-1: the current month has no partition).

    Counted month by month, not from the last partition's end: a partition attached by hand far
    ahead must not hide the months missing before it.
    """
    month = month_start(now or now_utc())
    if not covers(found, month):
        return -1
    ahead = 0
    while ahead < MAX_MONTHS_COUNTED and covers(found, add_months(month, ahead + 1)):
        ahead += 1
    return ahead
