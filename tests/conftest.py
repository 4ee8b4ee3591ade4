import pytest

from tests import dbtools


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
