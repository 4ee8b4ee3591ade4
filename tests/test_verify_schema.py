"""verify_schema as operators run it: real ``manage.py`` subprocesses, real PostgreSQL and SQLite.

Clean databases, both report formats, the severity rule and ``--strict``, the
migration state, the exit-2 failures (one line, never the password) and the
read-only promise, checked with row counts and checksums. The drift battery is
in test_verify_schema_drifts.py, the query counts in test_verify_schema_cost.py.
"""

import json
import shutil
import sqlite3
import uuid

import pytest
from psycopg import sql

from tests import dbtools
from tests.dbtools import manage

PASSWORD = "s3cr3t-pw"
#: What every JSON finding carries.
KEYS = {"kind", "object", "expected", "actual", "severity"}


def verify(dbname=None, *args, env=None):
    return manage("verify_schema", *args, database=dbname, env=env)


def findings(result):
    data = json.loads(result.stdout)
    assert all(KEYS <= set(f) for f in data), data
    return data


def summary(result):
    return {(f["kind"], f["object"], f["severity"]) for f in findings(result)}


def assert_could_not_check(result, *words):
    """Exit 2 with one line on stderr naming the problem: no report, no traceback, no password."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    assert "Traceback" not in result.stderr and PASSWORD not in result.stderr
    for word in words:
        assert word in result.stderr


def everything(dbname):
    """The tables, their rows and the catalog: what a read-only command must leave as it was."""
    tables = dbtools.public_tables(dbname)
    return tables, dbtools.table_checksums(dbname, tables), dbtools.catalog_snapshot(dbname, tables)


def as_role(role, dbname, password=None):
    host = dbtools.SERVER.split("@", 1)[1]
    secret = f":{password}" if password else ""
    return {"DATABASE_URL": f"postgres://{role}{secret}@{host}/{dbname}"}


@pytest.fixture
def make_role():
    """Creates login roles (cluster-wide) and drops them, with their grants in ``databases``, afterwards."""
    made = []

    def make(options, databases=()):
        name = f"verify_{uuid.uuid4().hex[:8]}"
        dbtools.execute("postgres", sql.SQL("CREATE ROLE {} " + options).format(sql.Identifier(name)))
        made.append((name, databases))
        return name

    yield make
    for name, databases in made:
        for dbname in databases:
            if dbtools.execute("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", [dbname]):
                dbtools.execute(dbname, sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        dbtools.execute("postgres", sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


# -- clean databases ---------------------------------------------------------------


def test_fresh_postgresql_verifies_clean(migrated_db):
    text = verify(migrated_db)
    assert text.returncode == 0, text.stdout + text.stderr
    assert text.stdout == f"postgresql://postgres@127.0.0.1:5432/{migrated_db}: the schema matches the models and migrations.\n"
    assert findings(verify(migrated_db, "--format", "json")) == []
    # Not even a warning: other apps' tables are expected too.
    assert verify(migrated_db, "--strict", "--database", "default").returncode == 0


def sqlite_copy(migrated_sqlite, tmp_path):
    path = tmp_path / "db.sqlite3"
    shutil.copy(migrated_sqlite, path)
    return path, {"DATABASE_URL": None, "SQLITE_PATH": str(path)}


def test_fresh_sqlite_verifies_clean(migrated_sqlite, tmp_path):
    path, env = sqlite_copy(migrated_sqlite, tmp_path)
    text = verify(env=env)
    assert text.returncode == 0, text.stdout + text.stderr
    assert text.stdout == f"sqlite file {path}: the schema matches the models and migrations.\n"
    assert findings(verify(None, "--format", "json", env=env)) == []
    assert verify(None, "--strict", env=env).returncode == 0


def test_sqlite_drift_is_caught(migrated_sqlite, tmp_path):
    path, env = sqlite_copy(migrated_sqlite, tmp_path)
    with sqlite3.connect(path) as conn:
        # The CHECK that stands in for the plantype enum, with a label renamed (SQLite rebuilds the table).
        [orgs] = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'orgs'").fetchone()
        assert "'enterprise'" in orgs
        renamed = orgs.replace("'enterprise'", "'business'").replace('"orgs"', '"orgs_new"', 1)
        conn.executescript(
            f"{renamed}; INSERT INTO orgs_new SELECT * FROM orgs; DROP TABLE orgs; ALTER TABLE orgs_new RENAME TO orgs; "
            "DROP INDEX ix_events_org_ts; ALTER TABLE orgs ADD COLUMN extra integer; DROP TABLE daily_user_agg;"
        )
    result = verify(None, "--format", "json", env=env)
    assert result.returncode == 1
    assert summary(result) == {
        ("column_allowed_values", "orgs.plan", "error"),
        ("index_missing", "ix_events_org_ts", "error"),
        ("column_unexpected", "orgs.extra", "error"),
        ("table_missing", "daily_user_agg", "error"),
    }


# -- the report ----------------------------------------------------------------------


def test_report_is_grouped_by_table_and_json_lists_findings(migrated_db):
    dbtools.execute(migrated_db, "DROP INDEX ix_audit_logs_ts; ALTER TABLE orgs ALTER COLUMN name DROP NOT NULL")
    text = verify(migrated_db)
    assert text.returncode == 1 and text.stderr == ""
    assert text.stdout.startswith(f"postgresql://postgres@127.0.0.1:5432/{migrated_db}: 2 errors, 0 warnings.\n")
    assert (
        "\naudit_logs\n"
        "  ERROR   index_missing: ix_audit_logs_ts\n"
        "          expected (ts); found absent\n"
        "          fix: run `manage.py migrate`, or recreate it as the migrations define it\n"
        "\norgs\n"
        "  ERROR   column_nullability: orgs.name\n"
        "          expected NOT NULL; found NULL\n"
        "          catalog: pg_attribute.attnotnull\n"
        "          fix: ALTER TABLE orgs ALTER COLUMN name SET NOT NULL\n"
    ) in text.stdout
    data = verify(migrated_db, "--format", "json")
    assert data.returncode == 1
    assert sorted((f["table"], f["kind"], f["object"], f["expected"], f["actual"], f["severity"]) for f in findings(data)) == [
        ("audit_logs", "index_missing", "ix_audit_logs_ts", "(ts)", "absent", "error"),
        ("orgs", "column_nullability", "orgs.name", "NOT NULL", "NULL", "error"),
    ]


def test_text_report_shows_lists_readably(migrated_db):
    dbtools.execute(
        migrated_db,
        "CREATE TYPE mood AS ENUM ('ok', 'meh'); "
        "ALTER TABLE daily_user_agg DROP CONSTRAINT daily_user_agg_pkey, ADD PRIMARY KEY (org_id, user_id)",
    )
    text = verify(migrated_db, "-v", "2").stdout
    assert "expected columns: date, org_id, user_id; found columns: org_id, user_id\n" in text
    assert "expected absent; found ok, meh\n" in text


def test_column_position_is_not_drift(migrated_db):
    """No client relies on column positions (docs/verify_schema.md): a column re-added at the end verifies clean."""
    dbtools.execute(migrated_db, "ALTER TABLE orgs DROP COLUMN plan; ALTER TABLE orgs ADD COLUMN plan plantype")
    result = verify(migrated_db)
    assert result.returncode == 0, result.stdout


def test_unowned_objects_are_warnings_unless_strict(migrated_db):
    dbtools.run_sql_file(migrated_db, dbtools.FIXTURES / "alembic_version.sql")
    dbtools.execute(migrated_db, "CREATE TABLE reports (id varchar PRIMARY KEY)")
    relaxed = verify(migrated_db, "--format", "json")
    assert relaxed.returncode == 0
    assert summary(relaxed) == {("table_unowned", "alembic_version", "warning"), ("table_unowned", "reports", "warning")}
    text = verify(migrated_db)
    assert text.returncode == 0 and "the schema matches the models and migrations." in text.stdout
    assert "Not described by any model, left untouched: 2 tables" in text.stdout  # one line, not a list
    listed = verify(migrated_db, "-v", "2")
    assert listed.returncode == 0 and "0 errors, 2 warnings." in listed.stdout
    assert "\nalembic_version\n  WARNING table_unowned: alembic_version\n" in listed.stdout
    strict = verify(migrated_db, "--strict", "--format", "json")
    assert strict.returncode == 1 and summary(strict) == summary(relaxed)


# -- the migration state -----------------------------------------------------------


def test_unapplied_migration_is_an_error(scratch_db):
    assert manage("migrate", "ecomind_core", "0001", database=scratch_db).returncode == 0
    result = verify(scratch_db, "--format", "json")
    assert result.returncode == 1
    found = summary(result)
    assert ("migration_unapplied", "ecomind_core.0002_user_password_hash", "error") in found
    assert ("column_missing", "users.password_hash", "error") in found
    # Other applications' migrations and tables are checked the same way (staff sign-in rests on them): errors.
    assert ("migration_unapplied", "sessions.0001_initial", "error") in found
    assert ("table_missing", "django_session", "error") in found

    assert manage("migrate", "--no-input", database=scratch_db).returncode == 0
    assert verify(scratch_db, "--strict").returncode == 0  # migrated step by step: clean too


def test_migration_recorded_but_missing_on_disk(migrated_db):
    dbtools.execute(
        migrated_db,
        "INSERT INTO django_migrations (app, name, applied) VALUES "
        "('ecomind_core', '0999_from_the_future', now()), ('sessions', '0999_from_the_future', now())",
    )
    result = verify(migrated_db, "--format", "json")
    assert result.returncode == 1
    assert summary(result) == {
        ("migration_unknown", "ecomind_core.0999_from_the_future", "error"),
        ("migration_unknown", "sessions.0999_from_the_future", "error"),
    }


MODEL_CHANGED = """
from django.core.management import call_command
from ecomind_core.models import Organisation
Organisation._meta.get_field("name").null = True  # a model edit with no migration
call_command("verify_schema", "--format", "json")
"""


def test_models_that_no_longer_match_the_migrations(migrated_db):
    result = manage("shell", "--no-imports", "-c", MODEL_CHANGED, database=migrated_db)
    assert result.returncode == 1, result.stderr
    [finding] = findings(result)
    assert (finding["kind"], finding["object"], finding["severity"]) == ("models_unmigrated", "ecomind_core", "error")
    assert "name" in finding["actual"] and "makemigrations" in finding["hint"]


# -- could not check: exit 2, one line, never the password ---------------------------


def test_unknown_database_alias():
    assert_could_not_check(verify(None, "--database", "replica"), "'replica' is not configured", "default")


def test_unreachable_server():
    result = verify(env={"DATABASE_URL": f"postgres://postgres:{PASSWORD}@127.0.0.1:1/ecomind"})
    assert_could_not_check(result, "cannot connect to postgresql://postgres:***@127.0.0.1:1/ecomind", "Connection refused")


def test_unreachable_server_with_the_password_apart():
    result = verify(env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/ecomind", "DATABASE_PASSWORD": PASSWORD})
    assert_could_not_check(result, "cannot connect to postgresql://postgres:***@127.0.0.1:1/ecomind")


def test_missing_database(scratch_db):
    result = verify(env={"DATABASE_URL": f"{dbtools.SERVER}/{scratch_db}_absent"})
    assert_could_not_check(result, f'database "{scratch_db}_absent" does not exist')


def test_bad_configuration():
    result = verify(env={"DATABASE_URL": f"mysql://ecomind:{PASSWORD}@127.0.0.1/ecomind"})
    assert_could_not_check(result, "DATABASE_URL has an unsupported scheme")


def test_bad_flag():
    assert_could_not_check(verify(None, "--format", "xml"), "invalid choice: 'xml'")


# The local server trusts every connection from 127.0.0.1 (pg_hba: trust), so
# a wrong password is accepted there and cannot be tested; these are the
# authentication failures it can produce.
def test_unknown_role(scratch_db):
    result = verify(env=as_role("nobody_by_that_name", scratch_db, PASSWORD))
    assert_could_not_check(result, 'role "nobody_by_that_name" does not exist')


def test_role_not_permitted_to_log_in(scratch_db, make_role):
    role = make_role(f"NOLOGIN PASSWORD '{PASSWORD}'")
    result = verify(env=as_role(role, scratch_db, PASSWORD))
    assert_could_not_check(result, "is not permitted to log in")


def test_role_without_connect_privilege(scratch_db, make_role):
    role = make_role(f"LOGIN PASSWORD '{PASSWORD}'", databases=[scratch_db])
    dbtools.execute("postgres", sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(scratch_db)))
    result = verify(env=as_role(role, scratch_db, PASSWORD))
    assert_could_not_check(result, "permission denied for database")


# -- read-only ------------------------------------------------------------------------


def test_catalog_only_role_checks_everything_but_the_migration_state(migrated_db, make_role):
    role = make_role("LOGIN", databases=[migrated_db])
    dbtools.execute(migrated_db, "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC")
    before = everything(migrated_db)
    result = verify(None, "--format", "json", env=as_role(role, migrated_db))
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result) == {("migration_state_unreadable", "django_migrations", "warning")}
    assert "permission denied for table django_migrations" in findings(result)[0]["actual"]
    assert verify(None, "--strict", env=as_role(role, migrated_db)).returncode == 1
    assert everything(migrated_db) == before

    dbtools.execute(migrated_db, "DROP INDEX ix_events_org_ts")
    drifted = verify(None, "--format", "json", env=as_role(role, migrated_db))
    assert drifted.returncode == 1
    assert ("index_missing", "ix_events_org_ts", "error") in summary(drifted)


def test_select_only_role_checks_everything(migrated_db, make_role):
    role = make_role("LOGIN", databases=[migrated_db])
    dbtools.execute(migrated_db, sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(role)))
    before = everything(migrated_db)
    result = verify(None, "--format", "json", env=as_role(role, migrated_db))
    assert result.returncode == 0, result.stdout + result.stderr
    assert findings(result) == []
    assert everything(migrated_db) == before


def test_catalog_only_role_on_a_database_never_migrated(legacy_db, make_role):
    role = make_role("LOGIN", databases=[legacy_db])
    before = everything(legacy_db)
    result = verify(None, "--format", "json", env=as_role(role, legacy_db))
    assert result.returncode == 1, result.stderr
    assert ("migration_unapplied", "ecomind_core.0001_initial", "error") in summary(result)
    assert everything(legacy_db) == before


def test_never_writes_not_even_the_migration_table(legacy_db):
    before = everything(legacy_db)
    result = verify(legacy_db)
    assert result.returncode == 1  # nothing applied yet
    assert "django_migrations" not in dbtools.public_tables(legacy_db)
    assert everything(legacy_db) == before


READ_ONLY_SESSION = {"PGOPTIONS": "-c default_transaction_read_only=on"}


# As a superuser whose every transaction is read-only: any write would fail the check.
def test_works_in_a_read_only_session(migrated_db):
    result = verify(migrated_db, "--format", "json", env=READ_ONLY_SESSION)
    assert result.returncode == 0, result.stderr
    assert findings(result) == []


def test_works_in_a_read_only_session_on_a_database_never_migrated(legacy_db):
    result = verify(legacy_db, "--format", "json", env=READ_ONLY_SESSION)
    assert result.returncode == 1, result.stderr
    assert ("table_unowned", "alembic_version", "warning") in summary(result)
