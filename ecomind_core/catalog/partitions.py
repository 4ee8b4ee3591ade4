"""What the catalog comparison cannot see through the parent table: its partitions' own state.

Which months exist changes every month, so partitions are not compared one
by one; these are the ways one can still be wrong:

* a partition without its table's statement-level trigger: PostgreSQL does
  not inherit those, and a statement naming the partition (``DELETE FROM
  audit_logs_p202701``) would pass the append-only guard;
* a default partition: it forbids ``DETACH ... CONCURRENTLY`` (retention)
  and would silently take rows meant for a month not yet made.

Findings for ``verify_schema``, ``baseline``'s proof and ``migrate``'s drift
check (catalog/__init__.py). How many months are ready is a metric with an
alert, not drift (monitoring).
"""

from .findings import finding

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
DEFAULT_PARTITIONS_SQL = """
SELECT parent.relname, child.relname
FROM pg_partitioned_table p JOIN pg_class parent ON parent.oid = p.partrelid JOIN pg_class child ON child.oid = p.partdefid
WHERE p.partrelid = ANY(%s::regclass[])
ORDER BY 1
"""


def partition_findings(connection, expected, live, owned_tables):
    """Findings on the partitions of the tables ``expected`` wants partitioned and ``live`` has so."""
    tables = [name for name, table in expected.tables.items()
              if table.kind == "p" and name in live.tables and live.tables[name].kind == "p"]
    if connection.vendor != "postgresql" or not tables:
        return []
    quote = connection.ops.quote_name
    names = [quote(table) for table in tables]
    found = []
    with connection.cursor() as cursor:
        cursor.execute(MISSING_TRIGGERS_SQL, [names])
        for table, partition, trigger in cursor.fetchall():
            found.append(finding("partition_trigger_missing", partition, f"trigger {trigger}", "none", table=table,
                                 owned_tables=owned_tables, trigger=trigger))
        cursor.execute(DEFAULT_PARTITIONS_SQL, [names])
        for table, partition in cursor.fetchall():
            found.append(finding("partition_default", partition, "no default partition", "DEFAULT", table=table,
                                 owned_tables=owned_tables))
    return found
