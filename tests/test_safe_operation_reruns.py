"""Every safe operation, run again from every partial state, ends VALID and rebuilds nothing that was VALID.

A non-atomic migration is recorded only when all of it has finished; killed
(or failed) after any of its statements, it runs again from the start. Here
``makemigrations`` writes the safe operations for a real model edit (an
index, a CHECK, a foreign key, a unique constraint; then NULL to NOT NULL),
``sqlmigrate`` lists the statements each migration runs, and for every k the
first k statements are run by hand (the state a kill after statement k
leaves), or a concurrent build is killed half-way (``pg_terminate_backend``:
an INVALID index); then ``migrate`` runs again, as a deploy job's retry
does. Each run must exit 0 with every index and constraint VALID, every
object that was VALID before keeping its oid, and the catalog exactly what
a run from scratch leaves (which ``verify_schema`` proves right).
"""

import re
import threading
import time

import psycopg
import pytest

from tests import dbtools
from tests.checkout import copy_checkout, edit, manage_in

PRE, POST = "0007_evolve", "0008_evolve"
#: The migration before them.
BEFORE = "0006"
#: How the deploy job runs each again: pre-deploy, then everything.
RERUN = {PRE: ("migrate", "--pre-deploy", "--no-input"), POST: ("migrate", "--no-input")}
#: The model edit: one of each safe operation on tables that hold rows.
EDITS = [
    ('''            models.Index(fields=["user_id"], name="ix_events_enriched_user_id"),
        ]''', '''            models.Index(fields=["user_id"], name="ix_events_enriched_user_id"),
            models.Index(fields=["provider", "ts"], name="ix_events_provider_ts"),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(kwh__gte=0), name="events_kwh_not_negative")]'''),
    # (On users: a partitioned table such as events takes no foreign key online.)
    ('''    name = models.CharField(null=True, blank=True)
    role = EnumField''', '''    name = models.CharField(null=True, blank=True)
    team = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    role = EnumField'''),
    ('''    source = models.CharField(null=True, blank=True)''', '''    source = models.CharField()'''),
    ('''        ordering = ["email"]
        constraints = [''', '''        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="users_org_name_uniq"),'''),
]
TABLES = ["events_enriched", "users"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A checkout with the edit made and its two migrations written by makemigrations."""
    checkout = copy_checkout(tmp_path_factory.mktemp("reruns") / "ecomind")
    for old, new in EDITS:
        edit(checkout / "ecomind_core" / "models.py", old, new)
    made = manage_in(checkout, "makemigrations", "ecomind_core", "--no-input", "-n", "evolve")
    assert made.returncode == 0, made.stdout + made.stderr
    assert sorted(p.stem for p in (checkout / "ecomind_core" / "migrations").glob("*_evolve.py")) == [PRE, POST]
    return checkout


def fill(dbname):
    dbtools.execute(dbname, """
        INSERT INTO orgs (id, name, plan, created_at) SELECT 'org_' || i, 'Org ' || i, 'pro', now() FROM generate_series(1, 20) i;
        INSERT INTO users (id, org_id, email, name, role, created_at)
        SELECT 'user_' || i, 'org_' || (i % 20 + 1), 'p' || i || '@example.com', 'Person ' || i, 'viewer', now()
        FROM generate_series(1, 200) i;
        INSERT INTO events_enriched (id, org_id, user_id, provider, model, kwh, water_l, co2_kg, ts, source)
        SELECT 'evt_' || i, 'org_' || (i % 20 + 1), 'user_' || i, 'openai', 'gpt-4o', 0.001, 0.002, 0.0004, now(), 'gateway'
        FROM generate_series(1, 3000) i""")


@pytest.fixture(scope="module")
def before_each(project):
    """Databases holding rows, migrated up to just before each migration under test: {migration: name}."""
    made = {}
    for migration, target in ((PRE, BEFORE), (POST, PRE)):
        name = dbtools.create_database("reruns")
        assert manage_in(project, "migrate", "--no-input", database=name).returncode == 0  # every other app
        assert manage_in(project, "migrate", "ecomind_core", BEFORE, "--no-input", database=name).returncode == 0
        fill(name)
        result = manage_in(project, "migrate", "ecomind_core", target, "--no-input", database=name)
        assert result.returncode == 0, result.stdout + result.stderr
        made[migration] = name
    yield made
    for name in made.values():
        dbtools.drop_database(name)


def statements(project, dbname, migration):
    """What ``sqlmigrate`` shows the migration running, statement by statement."""
    shown = manage_in(project, "sqlmigrate", "ecomind_core", migration, database=dbname)
    assert shown.returncode == 0, shown.stderr
    lines = [line for line in shown.stdout.splitlines() if line.strip() and not line.startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE) if s.strip()]


def valid_objects(dbname):
    """Name -> oid of every VALID index and validated constraint on the tables under test."""
    indexes = dbtools.execute(dbname, "SELECT c.relname, c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                      "WHERE i.indrelid = ANY(%s::regclass[]) AND i.indisvalid", [TABLES])
    constraints = dbtools.execute(dbname, "SELECT 'constraint ' || conname, oid FROM pg_constraint "
                                          "WHERE conrelid = ANY(%s::regclass[]) AND convalidated", [TABLES])
    return dict(indexes + constraints)


def assert_all_valid(dbname):
    assert dbtools.execute(dbname, "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid") == []
    assert dbtools.execute(dbname, "SELECT conname FROM pg_constraint WHERE NOT convalidated") == []


def kill_half_way(dbname, statement):
    """Run ``statement`` (a concurrent build) and terminate it while it waits for an old snapshot: an INVALID index."""
    holder = dbtools.connect(dbname)
    holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    holder.execute("SELECT count(*) FROM orgs")
    builder = dbtools.connect(dbname)
    pid = builder.info.backend_pid
    failed = []

    def build():
        try:
            builder.execute(statement)
        except psycopg.OperationalError as exc:
            failed.append(exc)

    thread = threading.Thread(target=build)
    thread.start()
    deadline = time.monotonic() + 30
    while not dbtools.execute(dbname, "SELECT 1 FROM pg_stat_progress_create_index WHERE pid = %s "
                                      "AND phase = 'waiting for old snapshots'", [pid]):
        assert time.monotonic() < deadline, "the build never reached its wait for old snapshots"
        time.sleep(0.05)
    dbtools.execute(dbname, "SELECT pg_terminate_backend(%s)", [pid])
    thread.join(timeout=30)
    holder.execute("ROLLBACK")
    holder.close()
    assert failed, "the build was not killed"
    # (A partitioned table's index, made ON ONLY the parent, is INVALID too until its partitions' are attached.)
    assert dbtools.execute(dbname, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                   "WHERE NOT i.indisvalid AND c.relkind = 'i'") == [(1,)]


def partial_states(project, before_each):
    """(id, migration, statements run whole, a concurrent statement killed half-way or None)."""
    cases = []
    for migration in (PRE, POST):
        run = statements(project, before_each[migration], migration)
        for k in range(len(run) + 1):
            cases.append((f"{migration}-after-{k}-of-{len(run)}", migration, run[:k], None))
            if k < len(run) and "INDEX CONCURRENTLY" in run[k]:
                cases.append((f"{migration}-killed-in-{k + 1}", migration, run[:k], run[k]))
    return cases


def test_every_partial_state_runs_again_to_valid_without_rebuilding_what_was_valid(project, before_each):
    cases = partial_states(project, before_each)
    kinds = " ".join(" ".join(s for s in done + [killed or ""]) for _, _, done, killed in cases)
    for needed in ("CREATE INDEX CONCURRENTLY", "CREATE UNIQUE INDEX CONCURRENTLY", "UNIQUE USING INDEX",
                   "NOT VALID", "VALIDATE CONSTRAINT", "SET NOT NULL", "ADD COLUMN"):
        assert needed in kinds, f"no partial state after {needed}"
    failures, clean = [], {}
    for case, migration, done, killed in cases:
        dbname = dbtools.clone_database(before_each[migration], "rerun")
        try:
            for statement in done:
                dbtools.execute(dbname, statement)
            if killed:
                kill_half_way(dbname, killed)
            before = valid_objects(dbname)
            rerun = manage_in(project, *RERUN[migration], database=dbname)
            if rerun.returncode != 0:
                failures.append(f"{case}: exit {rerun.returncode}: {rerun.stderr.strip()}")
                continue
            assert_all_valid(dbname)
            after = valid_objects(dbname)
            rebuilt = {name for name, oid in before.items() if name in after and after[name] != oid}
            assert not rebuilt, f"{case}: rebuilt what was VALID: {rebuilt}"
            gone = {name for name in before if name not in after and not name.endswith("_not_null")}
            assert not gone, f"{case}: dropped {gone}"
            # The catalog a run from scratch leaves (proved by verify_schema), exactly.
            if migration not in clean:
                assert not done and not killed
                verify = manage_in(project, "verify_schema", database=dbname)
                assert verify.returncode == 0, f"{case}: {verify.stdout}"
                clean[migration] = dbtools.catalog_snapshot(dbname)
            assert dbtools.catalog_snapshot(dbname) == clean[migration], case
        finally:
            dbtools.drop_database(dbname)
    assert not failures, "\n".join(failures)


def test_an_object_of_the_same_name_and_another_definition_is_an_error_naming_both(project, before_each):
    dbname = dbtools.clone_database(before_each[PRE], "rerun")
    try:
        dbtools.execute(dbname, "CREATE INDEX ix_events_provider_ts ON events_enriched (model)")
        [(oid,)] = dbtools.execute(dbname, "SELECT 'ix_events_provider_ts'::regclass::oid")
        # migrate's drift check sees it first (it is wrong for the state after PRE too): nothing applied.
        refused = manage_in(project, *RERUN[PRE], database=dbname)
        assert refused.returncode == 1 and "index_unexpected: ix_events_provider_ts" in refused.stderr, refused.stderr
        assert "Nothing was applied" in refused.stderr
        # Knowingly past it, the operation itself refuses, naming both definitions.
        result = manage_in(project, *RERUN[PRE], "--allow-drift", database=dbname)
        assert result.returncode == 1, result.stdout + result.stderr
        line = result.stderr.strip()
        assert "\n" not in line and "Traceback" not in line
        assert "ix_events_provider_ts" in line and "USING btree (model)" in line and '("provider", "ts")' in line
        assert "rolled back" not in line and "it is not atomic" in line
        assert dbtools.execute(dbname, "SELECT 'ix_events_provider_ts'::regclass::oid") == [(oid,)]
    finally:
        dbtools.drop_database(dbname)


def unique_pair(dbname):
    return dbtools.execute(dbname, "SELECT org_id, name FROM users ORDER BY id LIMIT 1")[0]


class DuplicateWriter(threading.Thread):
    """Inserts a user with an existing (org, name) pair, again and again: each must be refused."""

    def __init__(self, dbname):
        super().__init__(daemon=True)
        self.dbname, self.stop, self.refused, self.accepted = dbname, threading.Event(), 0, 0
        self.pair = unique_pair(dbname)

    def run(self):
        with dbtools.connect(self.dbname) as conn:
            number = 0
            while not self.stop.is_set():
                number += 1
                try:
                    conn.execute("INSERT INTO users (id, org_id, email, name, role, created_at) "
                                  "VALUES (%s, %s, %s, %s, 'viewer', now())",
                                  [f"dup_{number}", *self.pair[:1], f"dup{number}@example.com", self.pair[1]])
                    self.accepted += 1
                except psycopg.errors.UniqueViolation as exc:
                    assert exc.diag.constraint_name == "users_org_name_uniq"
                    self.refused += 1
                time.sleep(0.002)


@pytest.mark.parametrize("state", ["constraint made, migration not recorded", "index built, constraint not yet"])
def test_a_unique_constraints_rerun_never_lets_a_duplicate_in(project, before_each, state):
    dbname = dbtools.clone_database(before_each[PRE], "rerun")
    try:
        run = statements(project, dbname, PRE)
        upto = next(k for k, s in enumerate(run) if "CREATE UNIQUE INDEX" in s) + (2 if state.startswith("constraint") else 1)
        for statement in run[:upto]:
            dbtools.execute(dbname, statement)
        before = valid_objects(dbname)
        writer = DuplicateWriter(dbname)
        writer.start()
        time.sleep(0.3)
        rerun = manage_in(project, *RERUN[PRE], database=dbname)
        time.sleep(0.3)
        writer.stop.set()
        writer.join(timeout=30)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert writer.refused > 50 and writer.accepted == 0, (writer.refused, writer.accepted)
        after = valid_objects(dbname)
        assert after["users_org_name_uniq"] == before["users_org_name_uniq"]
        assert "constraint users_org_name_uniq" in after
        if state.startswith("constraint"):
            assert after["constraint users_org_name_uniq"] == before["constraint users_org_name_uniq"]
    finally:
        dbtools.drop_database(dbname)


def test_a_long_named_columns_not_null_helper_is_found_again_after_a_kill(tmp_path, migrated_db):
    """The helper CHECK's name is cut to PostgreSQL's 63 characters the same way each run."""
    from tests.test_safe_migrations import add_migration

    checkout = copy_checkout(tmp_path / "ecomind")
    table, column = "usage_records_by_organisation_and_provider_and_region", "normalised_measurement_unit"
    add_migration(checkout, "long_table", (
        f"        migrations.CreateModel(name='LongNamed', fields=[('id', models.BigAutoField(primary_key=True)), "
        f"('{column}', models.CharField(null=True))], options={{'db_table': '{table}'}}),"))
    name = add_migration(checkout, "long_not_null", (
        f"        ecomind_core.migration_safety.operations.SetNotNullThroughCheck(model_name='longnamed', "
        f"name='{column}', field=models.CharField()),"), atomic=False)
    assert manage_in(checkout, "migrate", "ecomind_core", "0007", "--no-input", database=migrated_db).returncode == 0
    dbtools.execute(migrated_db, f"INSERT INTO {table} ({column}) VALUES ('kWh')")
    first = statements(checkout, migrated_db, name)[0]
    helper = re.search(r'ADD CONSTRAINT "([^"]+)"', first)[1]
    assert len(helper) <= 63 and helper != f"{table}_{column}_not_null"
    dbtools.execute(migrated_db, first)  # killed after its first statement
    rerun = manage_in(checkout, "migrate", "--no-input", database=migrated_db)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert dbtools.execute(migrated_db, "SELECT attnotnull FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
                           [table, column]) == [(True,)]
    assert dbtools.execute(migrated_db, "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass", [table]) == [
        (f"{table}_pkey",)]
