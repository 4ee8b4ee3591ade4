"""The partitions of the tables the migrations partition: each compared as its parent makes it.

Which months exist changes every month, so the set of partitions is not
compared; each partition that exists is, like any table of ours: its
columns, keys, indexes, triggers, rules, policies, publications and
everything PostgreSQL records for it, against what PostgreSQL makes for a
partition of the expected parent (``expected_partitions``). So an unlogged
month, a row trigger or a CHECK added to one partition, an extra unique
index on it, are drift, though the parent is unchanged: rows routed through
the parent meet them. Its indexes are matched through their attachment to
the parent's indexes (pg_inherits), whatever PostgreSQL named them.

Findings of their own:

* a partition that is not one of ours: neither the legacy partition (from
  ``MINVALUE``) nor a whole month named for it (``<table>_pYYYYMM``): a table
  attached by hand, whose rows show in the parent's;
* a partition without its table's statement-level trigger: PostgreSQL does
  not pass those on, and a statement naming the partition (``DELETE FROM
  audit_logs_p202701``) would pass the append-only guard;
* a default partition: it forbids ``DETACH ... CONCURRENTLY`` (retention)
  and would silently take rows meant for a month not yet made.

How many months are ready is a metric with an alert, not drift (monitoring).
"""

import copy
import dataclasses
from dataclasses import dataclass

from ecomind_core.partitions.inventory import partitions_of
from ecomind_core.partitions.months import add_months, legacy_name, month_start, partition_name

from .findings import finding
from .objects import Catalog
from .postgres_defaults import Default

#: Each index of a partition and the index of its parent it is attached to.
ATTACHED_INDEXES_SQL = """
SELECT child_table.relname, parent_index.relname, child_index.relname
FROM pg_inherits link
JOIN pg_class child_index ON child_index.oid = link.inhrelid
JOIN pg_class parent_index ON parent_index.oid = link.inhparent
JOIN pg_index x ON x.indexrelid = child_index.oid
JOIN pg_class child_table ON child_table.oid = x.indrelid
WHERE child_table.relname = ANY(%s) AND child_table.relnamespace = to_regnamespace(%s)
"""

@dataclass(frozen=True)
class Recorded(Default):
    """A catalog column PostgreSQL sets for a partition's object (its bound, its parent's oid): any value, not none."""

    def accepts(self, value):
        return value not in (None, "0")


_PARTITION = "a partition of {table}: recreate it as maintain_partitions makes it, or detach it"


def partitioned_parents(expected, live):
    """Names of the tables ``expected`` wants partitioned and ``live`` has so."""
    return [name for name, table in expected.tables.items()
            if table.kind == "p" and name in live.tables and live.tables[name].kind == "p"]


@dataclass
class PartitionCatalog:
    """What each live partition should be (``expected``), and the partitions' indexes that copy one of the
    parent's that the models do not describe (``inherited``): that one is reported on the parent, once."""

    expected: Catalog
    inherited: set


def expected_partitions(connection, expected, live):
    """A :class:`PartitionCatalog` of the live partitions of the partitioned tables: each its parent, as a partition."""
    catalog = Catalog(vendor=expected.vendor, schema=expected.schema)
    partitions = {child: parent for parent in partitioned_parents(expected, live) for child in live.tables[parent].children}
    if not partitions:
        return PartitionCatalog(catalog, set())
    with connection.cursor() as cursor:
        cursor.execute(ATTACHED_INDEXES_SQL, [sorted(partitions), expected.schema])
        attached = {(table, parent_index): index for table, parent_index, index in cursor.fetchall()}
    inherited = set()
    for child, parent in partitions.items():
        live_parent = live.tables[parent]
        # The parent's indexes as they are (a renamed or an extra one is the parent's finding).
        catalog.tables[child] = as_partition(expected.tables[parent], child, attached, live_parent)
        described = {index.name for index in catalog.tables[child].indexes} | {
            key.name for key in catalog.tables[child].primary_key}
        inherited |= {attached[child, index.name] for index in (*live_parent.indexes, *live_parent.primary_key)
                      if (child, index.name) in attached} - described
    return PartitionCatalog(catalog, inherited)


def as_partition(parent, name, attached, live_parent):
    """``parent``'s expected Table as PostgreSQL makes it for its partition ``name``."""
    table = copy.deepcopy(parent)
    table.name, table.kind, table.partitioning, table.access_method = name, "r", "", "heap"
    table.parents, table.children = (parent.name,), ()
    table.catalog["pg_class.relispartition"] = Default(True, _PARTITION)
    table.catalog["pg_class.relpartbound"] = Recorded(None, _PARTITION)
    # A table has one primary key: the partition's is the copy of whatever the parent's is now.
    live_key = [key.name for key in live_parent.primary_key]
    table.primary_key = [partition_index(key, attached.get((name, live_key[0]) if live_key else None))
                         for key in table.primary_key]
    for part in ("indexes", "uniques"):
        # One the parent lacks (or holds under another name) is the parent's finding: not repeated here.
        setattr(table, part, [partition_index(index, attached[name, index.name])
                              for index in getattr(table, part) if (name, index.name) in attached])
    return table


def partition_index(index, name):
    """``index`` of the parent as its copy on a partition, under the name PostgreSQL (or the conversion) gave it."""
    catalog = {
        **index.catalog,
        "pg_class.relkind": Default("i", "drop it and recreate it as the migrations define it"),
        "pg_class.relispartition": Default(True, _PARTITION),
    }
    if "pg_constraint.conparentid" in catalog:
        catalog["pg_constraint.conparentid"] = Recorded(None, _PARTITION)
    return dataclasses.replace(index, name=name or index.name, catalog=catalog)


def read_partitions(connection, expected):
    """``{table: [Partition]}`` of the tables ``expected`` wants partitioned, default partitions included: one
    query, before the catalog read, which reads these partitions with their tables."""
    tables = [connection.ops.quote_name(name) for name, table in expected.tables.items() if table.kind == "p"]
    if connection.vendor != "postgresql" or not tables:
        return {}
    with connection.cursor() as cursor:
        return partitions_of(cursor, tables, with_default=True)


def live_partitions(live, partitions, read_more):
    """The live catalog of the partitions ``partitions`` describes: from ``live`` (read with their parents), the
    ones it lacks read with ``read_more(catalog)``; less the indexes that copy a parent's the models lack."""
    tables = {name: live.tables[name] for name in partitions.expected.tables if name in live.tables}
    if len(tables) < len(partitions.expected.tables):
        missing = Catalog(vendor=live.vendor, schema=live.schema,
                          tables={n: t for n, t in partitions.expected.tables.items() if n not in tables})
        tables.update(read_more(missing).tables)
    for table in tables.values():
        table.indexes = [index for index in table.indexes if index.name not in partitions.inherited]
    return Catalog(vendor=live.vendor, schema=live.schema, tables=tables)


def missing_triggers(findings, parent_of, owned_tables):
    """``findings`` with each statement trigger missing on a partition said as such, with how to mend it."""
    return [
        finding("partition_trigger_missing", f.table, f"trigger {f.object}", "none", table=parent_of[f.table],
                owned_tables=owned_tables, trigger=f.object)
        if f.kind == "trigger_missing" and f.table in parent_of else f
        for f in findings
    ]


def partition_findings(expected, live, partitions, owned_tables):
    """Partitions that are not ours, and default partitions, of the tables ``expected`` wants partitioned
    (``partitions``: read_partitions)."""
    found = []
    for table in partitioned_parents(expected, live):
        for partition in partitions.get(table, []):
            if partition.default:
                found.append(finding("partition_default", partition.name, "no default partition", "DEFAULT",
                                     table=table, owned_tables=owned_tables))
            elif not is_ours(table, partition):
                found.append(finding(
                    "partition_unexpected", partition.name, "a whole month, or the legacy partition",
                    f"FROM {partition.lower or 'MINVALUE'} TO {partition.upper or 'MAXVALUE'}", table=table,
                    owned_tables=owned_tables))
    return found


def is_ours(table, partition):
    """The legacy partition (everything before the first month), or one whole month under its own name."""
    if partition.lower is None:
        return partition.name == legacy_name(table)
    return (partition.lower == month_start(partition.lower) and partition.upper == add_months(partition.lower, 1)
            and partition.name == partition_name(table, partition.lower))
