"""verify_schema as operators run it: real subprocesses, real PostgreSQL and SQLite."""

import json

import pytest
from psycopg import sql

from tests import dbtools
from tests.dbtools import LEGACY_001, manage

PASSWORD = "s3cr3t-pw"


def verify(dbname=None, *args, env=None):
    return manage("verify_schema", *args, database=dbname, env=env)


def test_fresh_sqlite_verifies_clean(tmp_path):
    env = {"DATABASE_URL": None, "SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    assert manage("migrate", "--no-input", env=env).returncode == 0
    result = verify(env=env)
    assert result.returncode == 0, result.stdout
    assert "the schema matches" in result.stdout


def test_report_is_grouped_by_table_and_json_lists_findings(migrated_db):
    dbtools.execute(migrated_db, "DROP INDEX ix_audit_logs_ts; ALTER TABLE orgs ALTER COLUMN name DROP NOT NULL")
    text = verify(migrated_db)
    assert text.returncode == 1
    assert "\naudit_logs\n  ERROR   index_missing: ix_audit_logs_ts" in text.stdout
    assert "\norgs\n  ERROR   column_nullability: orgs.name" in text.stdout
    findings = json.loads(verify(migrated_db, "--format", "json").stdout)
    assert {f["kind"] for f in findings} == {"index_missing", "column_nullability"}
    assert all({"kind", "object", "expected", "actual", "severity"} <= set(f) for f in findings)


def test_unowned_objects_are_warnings_unless_strict(migrated_db):
    dbtools.run_sql_file(migrated_db, dbtools.FIXTURES / "alembic_version.sql")
    dbtools.execute(migrated_db, "CREATE TABLE reports (id varchar PRIMARY KEY)")
    relaxed = verify(migrated_db, "--format", "json")
    assert relaxed.returncode == 0
    warnings = {(f["kind"], f["object"], f["severity"]) for f in json.loads(relaxed.stdout)}
    assert warnings == {("table_unowned", "alembic_version", "warning"), ("table_unowned", "reports", "warning")}
    assert verify(migrated_db, "--strict").returncode == 1


def test_unapplied_and_unknown_migrations_are_errors(scratch_db):
    assert manage("migrate", "ecomind_core", "0001", database=scratch_db).returncode == 0
    result = verify(scratch_db, "--format", "json")
    assert result.returncode == 1
    objects = {(f["kind"], f["object"]) for f in json.loads(result.stdout)}
    assert ("migration_unapplied", "ecomind_core.0002_user_password_hash") in objects
    assert ("column_missing", "users.password_hash") in objects

    assert manage("migrate", database=scratch_db).returncode == 0
    dbtools.execute(scratch_db, "INSERT INTO django_migrations (app, name, applied) VALUES ('ecomind_core', '0999_from_the_future', now())")
    result = verify(scratch_db, "--format", "json")
    assert result.returncode == 1
    assert [f["severity"] for f in json.loads(result.stdout) if f["kind"] == "migration_unknown"] == ["error"]


def test_unknown_database_alias_is_one_line():
    result = verify(None, "--database", "replica")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "replica" in result.stderr


def test_unreachable_server_exits_2_with_one_line_and_no_password():
    result = verify(env={"DATABASE_URL": f"postgres://postgres:{PASSWORD}@127.0.0.1:1/ecomind"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "cannot connect to postgresql://postgres@127.0.0.1:1/ecomind" in result.stderr
    assert "Traceback" not in result.stderr and PASSWORD not in result.stdout + result.stderr


def test_missing_database_exits_2(scratch_db):
    result = verify(env={"DATABASE_URL": f"{dbtools.SERVER}/{scratch_db}_absent"})
    assert result.returncode == 2 and "does not exist" in result.stderr


@pytest.fixture
def reader_role(migrated_db):
    """A login role that may connect to ``migrated_db`` but holds no privilege on any table."""
    name = f"reader_{dbtools.uuid.uuid4().hex[:8]}"
    dbtools.execute("postgres", sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    yield name
    dbtools.execute(migrated_db, sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
    dbtools.execute("postgres", sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def as_role(role, dbname):
    host = dbtools.SERVER.split("@", 1)[1]
    return {"DATABASE_URL": f"postgres://{role}@{host}/{dbname}"}


def test_catalog_only_role_checks_everything_but_the_migration_state(migrated_db, reader_role):
    dbtools.execute(migrated_db, sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC"))
    before = dbtools.table_checksums(migrated_db, ("django_migrations", *dbtools.OWNED_TABLES))
    result = verify(None, "--format", "json", env=as_role(reader_role, migrated_db))
    assert result.returncode == 0, result.stdout + result.stderr
    findings = json.loads(result.stdout)
    assert [(f["kind"], f["severity"]) for f in findings] == [("migration_state_unreadable", "warning")]
    dbtools.execute(migrated_db, "DROP INDEX ix_events_org_ts")
    assert verify(None, env=as_role(reader_role, migrated_db)).returncode == 1
    assert dbtools.table_checksums(migrated_db, ("django_migrations", *dbtools.OWNED_TABLES)) == before


def test_select_only_role_checks_everything(migrated_db, reader_role):
    dbtools.execute(migrated_db, sql.SQL("GRANT SELECT ON django_migrations TO {}").format(sql.Identifier(reader_role)))
    result = verify(None, env=as_role(reader_role, migrated_db))
    assert result.returncode == 0, result.stdout + result.stderr


def test_never_writes_not_even_the_migration_table(legacy_db):
    before = dbtools.catalog_snapshot(legacy_db), dbtools.table_checksums(legacy_db), dbtools.public_tables(legacy_db)
    result = verify(legacy_db)
    assert result.returncode == 1  # nothing applied yet
    assert "django_migrations" not in dbtools.public_tables(legacy_db)
    assert (dbtools.catalog_snapshot(legacy_db), dbtools.table_checksums(legacy_db), dbtools.public_tables(legacy_db)) == before


COUNT_QUERIES = """
import json
from django.db import connection
from django.test.utils import CaptureQueriesContext
from ecomind_core import catalog
with CaptureQueriesContext(connection) as live:
    catalog.read_live(connection)
with CaptureQueriesContext(connection) as everything:
    catalog.verify(connection)
print(json.dumps([len(live), len(everything)]))
"""


def query_counts(dbname):
    result = manage("shell", "-c", COUNT_QUERIES, database=dbname)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_catalog_queries_do_not_grow_with_tables(migrated_db):
    with_8 = query_counts(migrated_db)
    dbtools.execute(migrated_db, """
        DO $$ BEGIN
          FOR i IN 1..500 LOOP
            EXECUTE format('CREATE TABLE unrelated_%s (id int PRIMARY KEY, name varchar, ts timestamptz)', i);
            EXECUTE format('CREATE INDEX unrelated_%s_name ON unrelated_%s (name)', i, i);
          END LOOP;
        END $$""")
    with_508 = query_counts(migrated_db)
    assert with_8 == with_508
    assert with_8[0] == 4  # columns, constraints, indexes, enum types
