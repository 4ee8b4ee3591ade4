"""Every ecomind_core migration reverses and re-applies on a database full of data.

The migrations are discovered from Django's graph (not listed here), so a
new migration is covered the day it lands.
"""

import sqlite3

import pytest
from django.db.migrations.loader import MigrationLoader

from tests import dbtools
from tests.dbtools import FIXTURES, manage

APP = "ecomind_core"


def ecomind_migrations():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    leaf = loader.graph.leaf_nodes(APP)[0]
    return [name for app, name in loader.graph.forwards_plan(leaf) if app == APP]


def migrate(dbname, *args):
    result = manage("migrate", *args, "--no-input", database=dbname)
    assert result.returncode == 0, result.stdout + result.stderr


def roll_back(dbname, target):
    """Back to ``target`` knowingly: the realistic data includes values the way back drops."""
    result = manage("rollback", "--to", f"{APP}.{target}", "--allow-data-loss", "--no-input", database=dbname)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def full_db(scratch_db):
    migrate(scratch_db)
    dbtools.run_sql_file(scratch_db, FIXTURES / "legacy_data.sql")
    return scratch_db


def test_zero_and_back_on_realistic_data(full_db):
    counts = {t: c[0] for t, c in dbtools.table_checksums(full_db).items()}
    [(audit_rows,)] = dbtools.execute(full_db, "SELECT count(*) FROM audit_logs WHERE action NOT LIKE 'schema.%%'")
    assert counts["events_enriched"] == 6000 and audit_rows == 1500 and counts["daily_user_agg"] > 1000
    refused = manage("migrate", APP, "zero", "--no-input", database=full_db)
    assert refused.returncode == 1 and "drops table events_enriched (6,000 rows)" in refused.stderr
    roll_back(full_db, "zero")
    assert not set(dbtools.owned_tables()) & set(dbtools.public_tables(full_db))
    assert dbtools.catalog_snapshot(full_db)["enums"] == []  # plantype and role dropped with their tables
    migrate(full_db)
    assert manage("verify_schema", database=full_db).returncode == 0


#: The audit rows migrate and rollback write about themselves are not data the way back may change.
NOT_SCHEMA_ROWS = {"audit_logs": "action NOT LIKE 'schema.%'"}


def per_column_checksums(dbname):
    """(table, column) -> (rows, md5 of its values): comparable across schema changes."""
    columns = dbtools.table_columns(dbname)
    return {
        (table, column): value
        for table, names in columns.items()
        for column in names
        for value in dbtools.column_checksums(dbname, {table: [column]}, where=NOT_SCHEMA_ROWS).values()
    }


def test_every_migration_reverses_one_step_at_a_time(full_db):
    """Step back through the graph one migration at a time, then forward again.

    At each step every column that exists both before and after keeps its
    values; forward again, the catalog is exactly as before.
    """
    names = ecomind_migrations()
    assert names[:2] == ["0001_initial", "0002_user_password_hash"]
    reference = dbtools.catalog_snapshot(full_db)
    for name, parent in reversed(list(zip(names, ["zero", *names[:-1]]))):
        before = per_column_checksums(full_db)
        roll_back(full_db, parent)
        after = per_column_checksums(full_db)
        kept = set(before) & set(after)
        assert {k: after[k] for k in kept} == {k: before[k] for k in kept}, f"reversing {name} changed data"
        if parent != "zero":
            assert kept, name
    migrate(full_db)
    assert dbtools.catalog_snapshot(full_db) == reference


def test_sqlite_default_without_database_url(tmp_path):
    path = tmp_path / "embedded.sqlite3"
    env = {"DATABASE_URL": None, "SQLITE_PATH": str(path)}
    for command in (["migrate", "--no-input"], ["seed_demo", "--events", "300"], ["verify_schema"]):
        result = manage(*command, env=env)
        assert result.returncode == 0, command + [result.stdout, result.stderr]
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM events_enriched").fetchone()[0] == 300
    for statement in (
        "INSERT INTO orgs (id, name, plan) VALUES ('org_x', 'X', 'platinum')",
        "INSERT INTO users (id, org_id, email, role) VALUES ('user_x', (SELECT id FROM orgs LIMIT 1), 'x@example.com', 'OWNER')",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            db.execute(statement)
