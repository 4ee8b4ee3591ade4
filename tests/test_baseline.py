"""baseline adopts legacy databases, refuses everything else, and never touches a row.

Every test runs the real command in a subprocess against a real scratch
PostgreSQL database built from the legacy SQL (tests/fixtures/legacy) plus this
repository's fixtures (tests/fixtures).
"""

import json
import subprocess

import pytest

from tests import dbtools
from tests.dbtools import LEGACY_001, manage

FIXTURES = dbtools.FIXTURES
SHAPES = {
    "001": [LEGACY_001],
    "002": [LEGACY_001, FIXTURES / "revision_002.sql"],
    "pre-migration": [LEGACY_001, FIXTURES / "pre_migration.sql"],
}
PASSWORD = "s3cr3t-pw"
#: The rows that were there before: baseline adds its own audit row.
OLD_ROWS = {"audit_logs": "action NOT LIKE 'schema.%'"}


def build(dbname, shape, data=True):
    for path in SHAPES[shape] + ([FIXTURES / "legacy_data.sql"] if data else []):
        dbtools.run_sql_file(dbname, path)


def state(dbname):
    """Everything baseline must not change when it refuses or dry-runs."""
    return {
        "tables": dbtools.public_tables(dbname),
        "rows": dbtools.table_checksums(dbname),
        "enums": dbtools.catalog_snapshot(dbname)["enums"],
        "catalog": dbtools.catalog_snapshot(dbname),
    }


def baseline(dbname, *args, **kwargs):
    return manage("baseline", *args, database=dbname, **kwargs)


def audit_rows(dbname, action="schema.baseline"):
    rows = dbtools.execute(dbname, "SELECT details::text FROM audit_logs WHERE action = %s", [action])
    return [json.loads(r[0]) for r in rows]


@pytest.mark.parametrize(("shape", "recorded"), [("001", ["0001_initial"]), ("002", ["0001_initial", "0002_user_password_hash"])])
def test_adopts_legacy_revision_and_keeps_every_value(scratch_db, shape, recorded):
    build(scratch_db, shape)
    columns = dbtools.table_columns(scratch_db)
    before = dbtools.column_checksums(scratch_db, columns, where=OLD_ROWS)
    assert before["events_enriched"][0] == 6000

    dry = baseline(scratch_db, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"Shape found: legacy revision {shape}" in dry.stdout
    assert "django_migrations" not in dbtools.public_tables(scratch_db), "--dry-run must not even create the migration table"

    real = baseline(scratch_db, "--no-input")
    assert real.returncode == 0, real.stdout + real.stderr
    applied = dbtools.execute(scratch_db, "SELECT name FROM django_migrations WHERE app = 'ecomind_core' ORDER BY name")
    assert [r[0] for r in applied] == recorded

    migrate = manage("migrate", "--no-input", database=scratch_db)
    assert migrate.returncode == 0, migrate.stderr
    verify = manage("verify_schema", database=scratch_db)
    assert verify.returncode == 0, verify.stdout

    assert dbtools.column_checksums(scratch_db, columns, where=OLD_ROWS) == before
    [audit] = audit_rows(scratch_db)
    assert audit["shape"] == f"legacy revision {shape}"
    assert audit["migrations_recorded"] == [f"ecomind_core.{name}" for name in recorded]
    assert "127.0.0.1" in audit["target"] and PASSWORD not in json.dumps(audit)


def test_second_baseline_is_a_no_op(scratch_db):
    build(scratch_db, "001", data=False)
    assert baseline(scratch_db, "--no-input").returncode == 0
    again = baseline(scratch_db, "--no-input")
    assert again.returncode == 0
    assert "Already baselined" in again.stdout
    assert len(audit_rows(scratch_db)) == 1


def test_two_baselines_at_once_adopt_once(scratch_db):
    build(scratch_db, "002")
    env = dict(dbtools.manage_env(database=scratch_db))
    runs = [
        subprocess.Popen([dbtools.sys.executable, "manage.py", "baseline", "--no-input"], cwd=dbtools.ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in runs]
    assert [code for code, _, _ in results] == [0, 0], results
    assert len(audit_rows(scratch_db)) == 1
    rows = dbtools.execute(scratch_db, "SELECT name, count(*) FROM django_migrations WHERE app = 'ecomind_core' GROUP BY name")
    assert sorted(rows) == [("0001_initial", 1), ("0002_user_password_hash", 1)]


def assert_refused_untouched(dbname, result, before, *mentions):
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for mention in mentions:
        assert mention in output, f"{mention!r} not in:\n{output}"
    assert state(dbname) == before
    assert "django_migrations" not in dbtools.public_tables(dbname)


def test_refuses_empty_database(scratch_db):
    before = state(scratch_db)
    assert_refused_untouched(scratch_db, baseline(scratch_db, "--no-input"), before, "migrate")


def test_refuses_pre_migration_without_opt_in(scratch_db):
    build(scratch_db, "pre-migration")
    before = state(scratch_db)
    for args in (["--dry-run"], ["--no-input"]):
        assert_refused_untouched(scratch_db, baseline(scratch_db, *args), before, "FREE", "OWNER", "--rename-enum-labels")


def test_refuses_database_missing_a_table(scratch_db):
    build(scratch_db, "001")
    dbtools.execute(scratch_db, "DROP TABLE daily_model_agg")
    before = state(scratch_db)
    assert_refused_untouched(scratch_db, baseline(scratch_db, "--no-input"), before, "daily_model_agg")


HAND_ALTERATIONS = {
    "index dropped": ("DROP INDEX ix_events_org_ts", "ix_events_org_ts"),
    "index columns changed": ("DROP INDEX ix_audit_logs_ts; CREATE INDEX ix_audit_logs_ts ON audit_logs (ts, org_id)", "ix_audit_logs_ts"),
    "index made unique": ("DROP INDEX ix_daily_org_date; CREATE UNIQUE INDEX ix_daily_org_date ON daily_org_agg (date, org_id)", "ix_daily_org_date"),
    "extra index": ("CREATE INDEX ix_extra ON events_enriched (provider)", "ix_extra"),
    "column type changed": ("ALTER TABLE events_enriched ALTER COLUMN tokens_in TYPE bigint", "events_enriched.tokens_in"),
    "json to jsonb": ("ALTER TABLE events_enriched ALTER COLUMN metadata TYPE jsonb", "events_enriched.metadata"),
    "timestamp to timestamptz": ("ALTER TABLE audit_logs ALTER COLUMN ts TYPE timestamptz", "audit_logs.ts"),
    "varchar length added": ("ALTER TABLE orgs ALTER COLUMN name TYPE varchar(200)", "orgs.name"),
    "nullability changed": ("ALTER TABLE events_enriched ALTER COLUMN model SET NOT NULL", "events_enriched.model"),
    "column dropped": ("ALTER TABLE events_enriched DROP COLUMN region", "events_enriched.region"),
    "extra column": ("ALTER TABLE orgs ADD COLUMN notes varchar", "orgs.notes"),
    "unique constraint removed": ("ALTER TABLE users DROP CONSTRAINT users_email_key", "users_email_key"),
    "foreign key removed": ("ALTER TABLE users DROP CONSTRAINT users_org_id_fkey", "users_org_id_fkey"),
    "foreign key made deferrable": (
        "ALTER TABLE users ALTER CONSTRAINT users_org_id_fkey DEFERRABLE INITIALLY DEFERRED", "users_org_id_fkey"),
    "primary key changed": (
        "ALTER TABLE daily_user_agg DROP CONSTRAINT daily_user_agg_pkey; "
        "ALTER TABLE daily_user_agg ADD CONSTRAINT daily_user_agg_pkey PRIMARY KEY (org_id, user_id, date)", "daily_user_agg_pkey"),
    "extra enum label": ("ALTER TYPE role ADD VALUE 'auditor'", "role"),
    "enum label renamed": ("ALTER TYPE plantype RENAME VALUE 'pro' TO 'professional'", "plantype"),
    "check constraint added": ("ALTER TABLE events_enriched ADD CONSTRAINT kwh_positive CHECK (kwh >= 0)", "kwh_positive"),
}


@pytest.mark.parametrize("alteration", sorted(HAND_ALTERATIONS))
def test_refuses_hand_altered_database(scratch_db, alteration):
    statement, named = HAND_ALTERATIONS[alteration]
    build(scratch_db, "001", data=alteration == "column type changed")
    dbtools.execute(scratch_db, statement)
    before = state(scratch_db)
    assert_refused_untouched(scratch_db, baseline(scratch_db, "--no-input"), before, named, "differs from the initial migrations")


def test_opt_in_renames_labels_keeps_rows_and_verifies_clean(scratch_db):
    build(scratch_db, "pre-migration")
    columns = dbtools.table_columns(scratch_db)
    # create-all's order, as real pre-migration databases have it
    assert columns["users"] == ["id", "org_id", "email", "name", "password_hash", "role", "created_at"]
    before = dbtools.column_checksums(scratch_db, columns, casefold=True, where=OLD_ROWS)
    unowned_before = dbtools.table_checksums(scratch_db, ("alerts", "notifications", "reports"))

    dry = baseline(scratch_db, "--dry-run", "--rename-enum-labels")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "Would rename: enum plantype label 'FREE' -> 'free'" in dry.stdout
    assert "alerts" in dry.stdout  # reported, left untouched
    assert "django_migrations" not in dbtools.public_tables(scratch_db)

    real = baseline(scratch_db, "--no-input", "--rename-enum-labels")
    assert real.returncode == 0, real.stdout + real.stderr
    assert dbtools.column_checksums(scratch_db, columns, casefold=True, where=OLD_ROWS) == before
    assert dbtools.execute(scratch_db, "SELECT DISTINCT plan::text FROM orgs ORDER BY 1") == [("enterprise",), ("free",), ("pro",)]
    assert dbtools.table_checksums(scratch_db, ("alerts", "notifications", "reports")) == unowned_before

    assert manage("migrate", "--no-input", database=scratch_db).returncode == 0
    verify = manage("verify_schema", database=scratch_db)
    assert verify.returncode == 0, verify.stdout
    [audit] = audit_rows(scratch_db)
    assert audit["shape"] == "pre-migration" and len(audit["labels_renamed"]) == 8


def test_undo_removes_exactly_what_baseline_recorded(scratch_db):
    build(scratch_db, "pre-migration", data=False)
    before = dbtools.catalog_snapshot(scratch_db)
    assert baseline(scratch_db, "--no-input", "--rename-enum-labels").returncode == 0
    dry = baseline(scratch_db, "--undo", "--dry-run")
    assert dry.returncode == 0 and "0002_user_password_hash" in dry.stdout
    undone = baseline(scratch_db, "--undo", "--no-input")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert dbtools.catalog_snapshot(scratch_db) == before  # labels back in upper case
    assert "django_migrations" not in dbtools.public_tables(scratch_db)
    assert len(audit_rows(scratch_db, "schema.baseline_undo")) == 1


def test_undo_refused_after_later_migrations(scratch_db):
    build(scratch_db, "001", data=False)
    assert baseline(scratch_db, "--no-input").returncode == 0
    assert manage("migrate", "--no-input", database=scratch_db).returncode == 0
    result = baseline(scratch_db, "--undo", "--no-input")
    assert result.returncode == 1
    assert "later migrations" in result.stderr and "migrate ecomind_core 0001_initial" in result.stderr


def test_undo_refused_when_never_baselined(scratch_db):
    build(scratch_db, "001", data=False)
    result = baseline(scratch_db, "--undo", "--no-input")
    assert result.returncode == 1 and "not adopted by baseline" in result.stderr


def test_unanswered_confirmation_writes_nothing(scratch_db):
    build(scratch_db, "001", data=False)
    before = state(scratch_db)
    result = baseline(scratch_db)  # interactive, but standard input is empty
    assert "Target: postgresql://postgres@127.0.0.1:5432/" in result.stdout
    assert result.returncode == 2 and "not confirmed" in result.stderr, result.stdout + result.stderr
    assert state(scratch_db) == before and "django_migrations" not in dbtools.public_tables(scratch_db)


def test_unreachable_server_is_one_line_without_password():
    result = manage("baseline", "--dry-run", env={"DATABASE_URL": f"postgres://postgres:{PASSWORD}@127.0.0.1:1/nowhere"})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot connect" in lines[0] and "127.0.0.1:1/nowhere" in lines[0]
    assert PASSWORD not in result.stdout + result.stderr
