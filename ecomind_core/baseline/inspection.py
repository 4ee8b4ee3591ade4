"""Recognise the shape of an existing database and what adopting it would take.

Read-only: the catalog (through ``ecomind_core.catalog``), Django's migration
records, the one-row ``alembic_version`` table and the planner's row
estimates. No table is scanned.

The proof is ``verify_schema``'s, against the initial migrations plus
whatever other applications' migrations ``django_migrations`` already
records (a ``migrate`` from before the guard may have built Django's
tables): those tables are checked as strictly as EcoMind's. A table that a
migration not yet recorded would create is refused (``table_unrecorded``):
``migrate`` would fail on it after the baseline.
"""

from dataclasses import dataclass, field

from ecomind_core import catalog
from ecomind_core.catalog.findings import ERROR, finding
from ecomind_core.migration_safety.graph import OWNED_APPS

APP = OWNED_APPS[0]
#: Which initial migration each legacy revision corresponds to.
INITIAL_FOR_REVISION = {"001": "0001_initial", "002": "0002_user_password_hash"}
#: The legacy migration tool's bookkeeping table: its row is the revision.
LEGACY_TABLE = "alembic_version"
#: The column whose presence tells revision 002 (and pre-migration) from 001.
REVISION_002_COLUMN = ("users", "password_hash")

EMPTY, BASELINED, PARTIAL = "empty", "already baselined", "partial"
LEGACY_001, LEGACY_002, PRE_MIGRATION = "legacy revision 001", "legacy revision 002", "pre-migration"
UNKNOWN_REVISION = "unknown legacy revision"


class MigrationStateUnreadable(Exception):
    """``django_migrations`` exists but this role cannot read it."""


@dataclass
class Inspection:
    shape: str
    #: The last initial migration to record, e.g. ``0002_user_password_hash``.
    target: str | None = None
    #: Migration names that a baseline records, in order.
    migrations: list = field(default_factory=list)
    findings: list = field(default_factory=list)
    #: ``(enum type, label in database, label expected)`` differing only in case.
    label_renames: list = field(default_factory=list)
    #: Owned table -> estimated rows (planner statistics, never counted; None: not analysed).
    table_sizes: dict = field(default_factory=dict)
    alembic_version: str | None = None
    missing_tables: list = field(default_factory=list)
    #: The tables a baseline takes over.
    owned_tables: list = field(default_factory=list)
    #: The migrations the proof compares with: the target, and other applications' recorded ones.
    proof_nodes: list = field(default_factory=list)

    @property
    def blocking(self):
        """Differences that make a baseline impossible (case-only enum labels aside)."""
        renamed = {enum for enum, _, _ in self.label_renames}
        return [
            f for f in self.findings
            if f.severity == catalog.ERROR and not (f.kind == "enum_labels" and f.object in renamed)
        ]

    @property
    def warnings(self):
        return [f for f in self.findings if f.severity == catalog.WARNING]

    @property
    def adoptable(self):
        return self.shape in (LEGACY_001, LEGACY_002, PRE_MIGRATION) and not self.blocking


def _alembic_version(connection, live):
    if LEGACY_TABLE not in live.other_tables:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version_num FROM {connection.ops.quote_name(LEGACY_TABLE)}")
        rows = [r[0] for r in cursor.fetchall()]
    return ",".join(rows) if rows else ""


def _table_sizes(connection, tables):
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            # reltuples is -1 until the table is first analysed: None then.
            "SELECT c.relname, CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END FROM pg_class c "
            "WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = %s) AND c.relname = ANY(%s)",
            [connection.schema_name, sorted(tables)],
        )
        return dict(cursor.fetchall())


def _case_only_renames(expected_enums, live_enums):
    renames = []
    for name, enum in expected_enums.items():
        found = live_enums.get(name)
        if found and found.labels != enum.labels and [label.lower() for label in found.labels] == list(enum.labels):
            renames.extend((name, old, new) for old, new in zip(found.labels, enum.labels) if old != new)
    return renames


def _shape_and_target(alembic_version, live):
    table, column = REVISION_002_COLUMN
    has_002_column = live.tables[table].column(column) is not None
    if alembic_version is None:
        return PRE_MIGRATION, INITIAL_FOR_REVISION["002" if has_002_column else "001"]
    if alembic_version in INITIAL_FOR_REVISION:
        return {"001": LEGACY_001, "002": LEGACY_002}[alembic_version], INITIAL_FOR_REVISION[alembic_version]
    return f"{UNKNOWN_REVISION} {alembic_version!r}", None


def recorded_elsewhere(loader):
    """Other applications' migrations that ``django_migrations`` records (and this code has)."""
    return sorted(node for node in loader.applied_migrations if node[0] != APP and node in loader.graph.nodes)


def prove(connection, loader, nodes, live=None):
    """Every finding of the catalog against the migrations ``nodes``, and tables later migrations would create.

    Returns ``(findings, check result)``.
    """
    result = catalog.check_catalog(connection, catalog.state_at(loader, nodes).apps, live=live)
    later = catalog.migrated_tables(catalog.state_at(loader).apps) - set(result.expected.tables)
    premature = later & set(result.live.other_tables)
    findings = [f for f in result.findings if not (f.kind == "table_unowned" and f.object in premature)]
    findings += [
        finding("table_unrecorded", name, "absent until its migration runs", "present", table=name, severity=ERROR)
        for name in sorted(premature)
    ]
    return findings, result


def inspect(connection):
    loader, problem = catalog.load(connection)
    if problem is not None:
        raise MigrationStateUnreadable(problem.actual)
    first = loader.graph.root_nodes(APP)[0]
    if first in loader.applied_migrations:
        return Inspection(BASELINED, migrations=sorted(n for a, n in loader.applied_migrations if a == APP))

    # The initial migrations all describe the same eight tables (and other applications'
    # recorded migrations their own): read them once.
    elsewhere = recorded_elsewhere(loader)
    first_state = catalog.state_at(loader, [first, *elsewhere]).apps
    live = catalog.read_live(connection, catalog.expected_catalog(first_state, connection))
    owned = catalog.owned_tables(first_state)
    present = owned & set(live.tables)
    if not present:
        return Inspection(EMPTY, missing_tables=sorted(owned))
    if present != owned:
        return Inspection(PARTIAL, missing_tables=sorted(owned - present), table_sizes=_table_sizes(connection, present))

    alembic_version = _alembic_version(connection, live)
    shape, target = _shape_and_target(alembic_version, live)
    inspection = Inspection(shape, alembic_version=alembic_version, table_sizes=_table_sizes(connection, owned),
                            owned_tables=sorted(owned))
    if target is None:
        return inspection
    inspection.target = target
    inspection.migrations = [name for app, name in loader.graph.forwards_plan((APP, target)) if app == APP]
    inspection.proof_nodes = [(APP, target), *elsewhere]
    inspection.findings, result = prove(connection, loader, inspection.proof_nodes, live=live)
    inspection.label_renames = _case_only_renames(result.expected.enums, live.enums)
    return inspection
