"""The schema catalog: what a database holds, what it should hold, and how they differ.

One module for ``verify_schema`` and ``baseline``:

* ``read_live(connection, expected)``: the live catalog of the expected
  tables (``live_postgresql`` or ``live_sqlite``), in a fixed number of
  queries whatever else the database holds.
* ``expected_catalog(apps, connection)``: the catalog derived from a
  migration state's models.
* ``compare(expected, live, owned_tables)``: findings.
* ``check_catalog(connection, state_apps)``: the three above for one
  migration state; ``verify(connection)``: that for every migration on disk,
  plus the migration state (``verify_schema``).
"""

from dataclasses import dataclass

from ecomind_core.migration_safety.graph import OWNED_APPS, expected_nodes, nodes_at, owned_tables, state_at

from . import live_postgresql, live_sqlite
from .compare import compare
from .expected import expected_catalog
from .findings import ERROR, KINDS, WARNING, Finding, has_errors
from .migration_findings import findings_at, load, migration_findings

READERS = {"postgresql": live_postgresql.read, "sqlite": live_sqlite.read}


def read_live(connection, expected):
    """The live catalog of what ``expected`` describes (and the names of everything else)."""
    try:
        reader = READERS[connection.vendor]
    except KeyError:
        raise NotImplementedError(f"no catalog reader for {connection.vendor}") from None
    return reader(connection, set(expected.tables), set(expected.functions))


@dataclass
class CheckResult:
    live: object
    expected: object
    owned_tables: set
    findings: list


def check_catalog(connection, state_apps, live=None):
    """Compare ``connection``'s live catalog with what ``state_apps`` describe."""
    expected = expected_catalog(state_apps, connection)
    live = read_live(connection, expected) if live is None else live
    owned = owned_tables(state_apps)
    return CheckResult(live, expected, owned, compare(expected, live, owned))


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
    "has_errors", "load", "owned_tables", "read_live", "state_at", "verify", "verify_at",
]
