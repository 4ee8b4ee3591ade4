"""Migration 0001 builds exactly the legacy catalog; 0002 exactly revision 002.

Two independent oracles: ``catalog_snapshot`` (columns with position, type and
nullability; constraints by name and definition; indexes by name and
definition; enum labels in order) and ``pg_dump --schema-only`` text.
"""

import subprocess

import pytest

from tests import dbtools
from tests.dbtools import FIXTURES, LEGACY_001, manage

REVISIONS = {
    "0001_initial": [LEGACY_001],
    "0002_user_password_hash": [LEGACY_001, FIXTURES / "revision_002.sql"],
}
BOOKKEEPING = ("alembic_version", "django_migrations", "django_migrations_id_seq")


def schema_dump(dbname):
    excluded = [arg for table in BOOKKEEPING for arg in ("-T", table)]
    dump = subprocess.run(
        ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", *excluded, dbtools.url(dbname)],
        check=True, capture_output=True, text=True,
    ).stdout
    # Drop comments, blank lines and pg_dump's per-run \restrict nonce.
    return [line for line in dump.splitlines() if line and not line.startswith(("--", "\\restrict", "\\unrestrict"))]


@pytest.fixture
def two_databases():
    names = [dbtools.create_database("legacy"), dbtools.create_database("migrated")]
    yield names
    for name in names:
        dbtools.drop_database(name)


@pytest.mark.parametrize("migration", sorted(REVISIONS))
def test_migration_builds_the_legacy_catalog_exactly(two_databases, migration):
    legacy, migrated = two_databases
    for path in REVISIONS[migration]:
        dbtools.run_sql_file(legacy, path)
    result = manage("migrate", "ecomind_core", migration, database=migrated)
    assert result.returncode == 0, result.stderr

    expected, actual = dbtools.catalog_snapshot(legacy), dbtools.catalog_snapshot(migrated)
    for part in ("columns", "constraints", "indexes", "enums"):
        assert actual[part] == expected[part], part
    assert len(actual["columns"]) == 61 + (migration != "0001_initial")
    assert schema_dump(migrated) == schema_dump(legacy)


def test_sqlmigrate_has_none_of_djangos_defaults():
    result = manage("sqlmigrate", "ecomind_core", "0001", env={"DATABASE_URL": f"{dbtools.SERVER}/postgres"})
    assert result.returncode == 0, result.stderr
    ddl = result.stdout
    for default in ("DEFERRABLE", "_like", "jsonb", "timestamp with time zone", "varchar("):
        assert default not in ddl, default
    assert 'CREATE TYPE "plantype" AS ENUM' in ddl and 'CONSTRAINT "users_org_id_fkey"' in ddl


def test_makemigrations_check_is_clean():
    result = manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
