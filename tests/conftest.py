import pytest
from django.db import connection

from tests import dbtools


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, built by our ``migrate``, minus the audit rows that run wrote about itself.

    Tests that use it start from an empty audit trail, as they did before
    migrate audited itself (tests/test_rollback.py checks those rows on
    databases of its own). TRUNCATE: the append-only trigger stops row deletes.
    """
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_logs")


@pytest.fixture
def scratch_db():
    """A fresh, empty PostgreSQL database, dropped after the test."""
    name = dbtools.create_database()
    yield name
    dbtools.drop_database(name)


@pytest.fixture
def legacy_db(scratch_db):
    """A database exactly as legacy revision 001 left it."""
    dbtools.run_sql_file(scratch_db, dbtools.LEGACY_001)
    return scratch_db


@pytest.fixture(scope="module")
def migrated_template():
    """One fully migrated database per test module, to clone from (never modified)."""
    name = dbtools.create_database("template")
    result = dbtools.manage("migrate", "--no-input", database=name)
    assert result.returncode == 0, result.stderr
    yield name
    dbtools.drop_database(name)


@pytest.fixture
def migrated_db(migrated_template):
    """A fresh, fully migrated database (a clone of the module's template)."""
    name = dbtools.clone_database(migrated_template)
    yield name
    dbtools.drop_database(name)


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory):
    """A SQLite file migrated once per module (copy it before changing it)."""
    path = tmp_path_factory.mktemp("sqlite") / "migrated.sqlite3"
    result = dbtools.manage("migrate", "--no-input", env={"DATABASE_URL": None, "SQLITE_PATH": str(path)})
    assert result.returncode == 0, result.stderr
    return path
