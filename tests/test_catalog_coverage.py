"""Every column of every catalog table the proof reads is compared or on the allow-list, with a reason.

The column lists come from the running server (``pg_attribute`` of each
catalog table), not from this repository: a PostgreSQL upgrade that adds a
catalog column fails here until someone decides whether it is compared
(``objects.py`` / ``postgres_defaults.py``) or harmless (``allowed.py``,
with why). docs/verify_schema.md says how to add one.
"""

import dataclasses

import pytest

from ecomind_core.catalog import allowed, catalog_columns, postgres_defaults
from ecomind_core.catalog.objects import KINDS_OF_OBJECT, MATCH, Follows
from tests import dbtools

SERVER_COLUMNS = """
SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
GROUP BY c.relname
"""


@pytest.fixture(scope="module")
def server_columns():
    rows = dbtools.execute("postgres", SERVER_COLUMNS, [list(catalog_columns.CATALOG_TABLES)])
    return {table: set(columns) for table, columns in rows}


def test_the_server_has_every_catalog_table_named(server_columns):
    assert set(server_columns) == set(catalog_columns.CATALOG_TABLES)


@pytest.mark.parametrize("table", catalog_columns.CATALOG_TABLES)
def test_every_column_is_compared_or_allowed(server_columns, table):
    accounted = catalog_columns.coverage()[table]
    neither = sorted(server_columns[table] - set(accounted))
    assert not neither, (
        f"{table} has columns that are neither compared nor allowed: {neither}. Decide each: compare it "
        "(objects.py READS, or postgres_defaults.py with PostgreSQL's value for what Django builds) or add it to "
        "allowed.ALLOWED with the reason it changes no read or write (docs/verify_schema.md)."
    )


@pytest.mark.parametrize("table", catalog_columns.CATALOG_TABLES)
def test_nothing_is_accounted_for_that_the_server_does_not_have(server_columns, table):
    """A typo on either list would leave the real column unaccounted for."""
    assert not sorted(set(catalog_columns.coverage()[table]) - server_columns[table])


def test_no_column_is_both_compared_and_allowed():
    both = [
        (table, column, hows) for table, columns in catalog_columns.coverage().items() for column, hows in columns.items()
        if any(h.startswith("allowed") for h in hows) and any(not h.startswith("allowed") for h in hows)
    ]
    assert not both, both


def test_every_allowed_column_says_why():
    for table, reasons in allowed.ALLOWED.items():
        for column, reason in reasons.items():
            assert isinstance(reason, str) and len(reason) > 20, (table, column)
    for name, reason in allowed.ALLOWED_SETTINGS.items():
        assert isinstance(reason, str) and reason, name


def test_every_followed_column_is_compared_elsewhere():
    """A column a kind leaves to another comparison must really be compared by that other one."""
    coverage = catalog_columns.coverage()
    for kind, table, column, reason in catalog_columns.followed():
        hows = coverage[table].get(column, [])
        assert any(not h.startswith("allowed") for h in hows), (kind, table, column, reason)


@pytest.mark.parametrize("kind", [k for k in KINDS_OF_OBJECT if k.GENERIC], ids=lambda k: k.__name__)
def test_raw_columns_are_exactly_the_rest(server_columns, kind):
    """What a kind takes raw (to_jsonb minus the rest) is exactly what postgres_defaults gives a value for.

    Anything more would reach verify_schema as ``catalog_column_unreviewed``.
    """
    for table in kind.RAW:
        rest = server_columns[table] - set(catalog_columns.skipped(kind, table))
        assert rest == set(catalog_columns.raw_columns(kind, table)), (kind.__name__, table)
    for qualified in postgres_defaults.DEFAULTS[kind.GENERIC]:
        table = qualified.split(".", 1)[0]
        assert table in kind.RAW, (kind.__name__, qualified)


def test_each_kind_names_what_it_reads():
    for kind in KINDS_OF_OBJECT:
        attributes = {f.name for f in dataclasses.fields(kind)} | {
            name for name, value in vars(kind).items() if isinstance(value, property)}
        for table, columns in kind.READS.items():
            assert table in catalog_columns.CATALOG_TABLES, (kind.__name__, table)
            for column, how in columns.items():
                assert how == MATCH or isinstance(how, Follows) or how in attributes, (
                    kind.__name__, table, column, how)
