"""baseline proves what verify_schema proves, and says when this role could not write the baseline.

Real ``manage.py baseline`` subprocesses on real legacy databases: one on
which Django's, axes' and otp's migrations ran before (their tables are
proved too, then ``migrate`` goes on from there), one holding a table that a
migration not yet recorded would create (refused), and runs as roles or in
sessions that cannot write (``--dry-run`` says so; nothing is written either
way). The alteration battery is in test_catalog_alterations.py.
"""

import uuid

import pytest
from psycopg import sql

from tests import dbtools
from tests.dbtools import manage
from tests.legacy_shapes import build_legacy_with_apps


def everything(dbname):
    tables = dbtools.public_tables(dbname)
    return tables, dbtools.table_checksums(dbname, tables), dbtools.catalog_snapshot(dbname, tables)


def baseline(dbname, *args, env=None):
    return manage("baseline", *args, database=dbname, env=env)


def one_line_error(result):
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.fixture
def make_role():
    made = []

    def make(dbname, grants=""):
        name = f"baseline_{uuid.uuid4().hex[:8]}"
        dbtools.execute("postgres", sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        if grants:
            dbtools.execute(dbname, sql.SQL(grants).format(role=sql.Identifier(name)))
        made.append((name, dbname))
        return name

    yield make
    for name, dbname in made:
        if dbtools.execute("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", [dbname]):
            dbtools.execute(dbname, sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        dbtools.execute("postgres", sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def as_role(role, dbname):
    host = dbtools.SERVER.split("@", 1)[1]
    return {"DATABASE_URL": f"postgres://{role}@{host}/{dbname}"}


def test_a_legacy_database_with_django_tables_already_migrated_is_proved_and_adopted(scratch_db):
    build_legacy_with_apps(scratch_db)
    recorded_before = dbtools.execute(scratch_db, "SELECT app, name FROM django_migrations ORDER BY 1, 2")
    dry = baseline(scratch_db, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "Left untouched: auth_user" not in dry.stdout  # proved, not merely left alone

    adopted = baseline(scratch_db, "--no-input")
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    recorded_after = dbtools.execute(scratch_db, "SELECT app, name FROM django_migrations ORDER BY 1, 2")
    assert set(recorded_after) - set(recorded_before) == {("ecomind_core", "0001_initial")}

    migrate = manage("migrate", "--no-input", database=scratch_db)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    verify = manage("verify_schema", database=scratch_db)
    assert verify.returncode == 0, verify.stdout


def test_a_table_a_later_migration_would_create_is_refused(scratch_db):
    """``migrate`` would fail on it after the baseline ("relation already exists"): refused first."""
    dbtools.run_sql_file(scratch_db, dbtools.LEGACY_001)
    dbtools.execute(scratch_db, "CREATE TABLE django_session (session_key varchar(40) PRIMARY KEY, "
                                "session_data text NOT NULL, expire_date timestamptz NOT NULL)")
    before = everything(scratch_db)
    for args in (("--dry-run",), ("--no-input",)):
        result = baseline(scratch_db, *args)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "table_unrecorded: django_session" in result.stdout
        assert "baseline refused" in result.stderr
        one_line_error(result)
        assert everything(scratch_db) == before


def test_dry_run_says_a_read_only_session_could_not_adopt(scratch_db):
    dbtools.run_sql_file(scratch_db, dbtools.LEGACY_001)
    before = everything(scratch_db)
    env = {"PGOPTIONS": "-c default_transaction_read_only=on"}
    for args in (("--dry-run",), ("--no-input",)):
        result = baseline(scratch_db, *args, env=env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "This role cannot write the database: every transaction of this session is read-only" in result.stdout
        assert "this role cannot write" in result.stderr and "Nothing was written" in result.stderr
        assert "Would record as applied: 0001_initial" in result.stdout  # the proof itself passed
        one_line_error(result)
    assert everything(scratch_db) == before


def test_dry_run_lists_what_a_read_only_role_may_not_do(scratch_db, make_role):
    dbtools.run_sql_file(scratch_db, dbtools.LEGACY_001)
    role = make_role(scratch_db, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    before = everything(scratch_db)
    result = baseline(None, "--dry-run", env=as_role(role, scratch_db))
    assert result.returncode == 2, result.stdout + result.stderr
    out = result.stdout
    assert "may not create tables in schema public" in out
    assert "may not lock audit_logs, daily_model_agg" in out
    assert "may not INSERT into audit_logs" in out
    one_line_error(result)
    assert everything(scratch_db) == before


def test_a_role_that_may_write_is_not_stopped(scratch_db, make_role):
    dbtools.run_sql_file(scratch_db, dbtools.LEGACY_001)
    role = make_role(scratch_db, "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}; "
                                 "GRANT CREATE ON SCHEMA public TO {role}")
    result = baseline(None, "--dry-run", env=as_role(role, scratch_db))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cannot write" not in result.stdout


def test_a_read_only_database_is_refused_and_said_to_be_unwritable(scratch_db):
    """The issue's case: `baseline --dry-run` used to say it would adopt a database whose every transaction is read-only."""
    dbtools.run_sql_file(scratch_db, dbtools.LEGACY_001)
    dbtools.execute(scratch_db, sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(
        sql.Identifier(scratch_db)))
    before = everything(scratch_db)
    result = baseline(scratch_db, "--dry-run")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "setting_harmful: default_transaction_read_only (database" in result.stdout
    assert "This role cannot write the database" in result.stdout
    assert "baseline refused" in result.stderr
    one_line_error(result)
    assert everything(scratch_db) == before
