"""The schema catalog: what a database holds, what it should hold, and how they differ.

One module for ``verify_schema`` and ``baseline``:

* ``read_live(connection, expected)``: the live catalog of the expected
  tables (``live_postgresql`` or ``live_sqlite``), in a fixed number of
  queries whatever else the database holds.
* ``expected_catalog(apps, connection)``: the catalog derived from a
  migration state's models.
* ``compare(expected, live, owned_tables)``: findings (differences on
  ``owned_tables`` are errors).
* ``check_catalog(connection, state_apps)``: the three above for one
  migration state, every table its migrations build counting as owned
  (Django's, django-axes' and django-otp's too); ``verify(connection)``: that
  for every migration on disk, plus the migration state (``verify_schema``).

What is compared is "everything PostgreSQL records, except the allow-list"
(``allowed.py``; docs/verify_schema.md).
"""

from dataclasses import dataclass

from ecomind_core.migration_safety.graph import OWNED_APPS, expected_nodes, nodes_at, owned_tables, state_at

from . import live_postgresql, live_sqlite
from .compare import compare
from .expected import expected_catalog
from .findings import ERROR, KINDS, WARNING, Finding, has_errors
from .migration_findings import findings_at, load, migration_findings
from .partitions import expected_partitions, live_partitions, missing_triggers, partition_findings, read_partitions

READERS = {"postgresql": live_postgresql.read, "sqlite": live_sqlite.read}


def read_live(connection, expected, also=()):
    """The live catalog of what ``expected`` describes and of the tables ``also`` names (and the names of everything else)."""
    try:
        reader = READERS[connection.vendor]
    except KeyError:
        raise NotImplementedError(f"no catalog reader for {connection.vendor}") from None
    return reader(connection, set(expected.tables) | set(also), set(expected.functions))


@dataclass
class CheckResult:
    live: object
    expected: object
    owned_tables: set
    findings: list


def migrated_tables(state_apps):
    """Every table the migrations of ``state_apps`` build: differences on them are errors.

    Not only EcoMind's eight: staff sign-in rests on Django's, django-axes'
    and django-otp's tables (a unique username, lockout counts, devices), so
    their drift is as dangerous (docs/verify_schema.md).
    """
    return {
        model._meta.db_table
        for model in state_apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and not model._meta.swapped
    }


def check_catalog(connection, state_apps, live=None):
    """Compare ``connection``'s live catalog with what ``state_apps`` describe."""
    expected = expected_catalog(state_apps, connection)
    partitions = read_partitions(connection, expected)
    if live is None:
        # The partitions are read with their tables: one catalog read, whatever the number of months.
        live = read_live(connection, expected, [p.name for found in partitions.values() for p in found])
    checked = migrated_tables(state_apps)
    findings = compare(expected, live, checked)
    findings += check_partitions(connection, expected, live, checked, findings, partitions)
    return CheckResult(live, expected, checked, findings)


def check_partitions(connection, expected, live, owned_tables, parent_findings, partitions):
    """Findings on the partitions of the tables the migrations partition (catalog/partitions.py).

    A change made to the parent reaches every partition: it is reported
    once, on the parent (a partition's finding of the same kind, expected
    and actual value as one of its parent's is left out). A missing
    statement trigger has a finding of its own, saying how to mend it.
    """
    if connection.vendor != "postgresql":
        return []
    made = expected_partitions(connection, expected, live)
    if not made.expected.tables:
        return []
    found = compare(made.expected, live_partitions(live, made, lambda more: read_live(connection, more)),
                    owned_tables | set(made.expected.tables))
    parent_of = {name: table.parents[0] for name, table in made.expected.tables.items()}
    on_parents = {(f.table, f.kind, f.expected, f.actual) for f in parent_findings}
    # A catalog column this release does not know is one finding, however many tables carry it.
    unknown = {f.object for f in parent_findings if f.kind == "catalog_column_unreviewed"}
    found = [f for f in found if (parent_of.get(f.table), f.kind, f.expected, f.actual) not in on_parents
             and not (f.kind == "catalog_column_unreviewed" and f.object in unknown)]
    return missing_triggers(found, parent_of, owned_tables) + partition_findings(expected, live, partitions, owned_tables)


def verify(connection):
    """Everything ``verify_schema`` reports: catalog and migration state."""
    loader, problem = load(connection)
    result = check_catalog(connection, state_at(loader, expected_nodes(loader)).apps)
    result.findings = ([problem] if problem else []) + migration_findings(connection, loader) + result.findings
    return result


def verify_at(connection, target):
    """``verify`` against the state at ``target`` (``(app, name)``; name None: the app at zero)."""
    loader, problem = load(connection)
    nodes = nodes_at(loader.graph, target)
    result = check_catalog(connection, state_at(loader, nodes).apps)
    result.findings = ([problem] if problem else []) + findings_at(loader, nodes) + result.findings
    return result


__all__ = [
    "ERROR", "KINDS", "WARNING", "OWNED_APPS", "CheckResult", "Finding", "check_catalog", "compare", "expected_catalog",
    "has_errors", "load", "migrated_tables", "owned_tables", "read_live", "state_at", "verify", "verify_at",
]
