"""verify_schema's cost does not grow with the number of tables in the database.

The catalog queries are counted with Django's ``CaptureQueriesContext`` in a
real process pointed at a scratch database: around ``catalog.read_live`` and
around the whole ``catalog.verify``, first with the project's tables only,
then with 500 unrelated tables (with keys, foreign keys, unique and check
constraints, indexes, enum types, triggers, rules, policies, extended
statistics and a publication: everything the proof reads for EcoMind's own
tables) beside them. The numbers and the very statements must be the same.
"""

import json
import shutil
import sqlite3

from tests import dbtools
from tests.dbtools import manage

EXTRA_TABLES = 500

COUNT_QUERIES = """
import json
from django.db import connection
from django.test.utils import CaptureQueriesContext
from ecomind_core import catalog
expected = catalog.expected_catalog(catalog.state_at(catalog.load(connection)[0]).apps, connection)
with CaptureQueriesContext(connection) as live:
    catalog.read_live(connection, expected)
with CaptureQueriesContext(connection) as everything:
    result = catalog.verify(connection)
print(json.dumps({
    "read_live": len(live),
    "verify": [q["sql"] for q in everything.captured_queries],
    "tables": len(result.live.tables) + len(result.live.other_tables),
    "findings": len(result.findings),
}))
"""

UNRELATED_POSTGRES = f"""
DO $$ BEGIN
  FOR i IN 1..10 LOOP
    EXECUTE format('CREATE TYPE unrelated_kind_%s AS ENUM (''a'', ''b'')', i);
  END LOOP;
  CREATE FUNCTION unrelated_touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
  CREATE PUBLICATION unrelated_cdc;
  FOR i IN 1..{EXTRA_TABLES} LOOP
    EXECUTE format(
      'CREATE TABLE unrelated_%s (id int PRIMARY KEY, parent_id int %s, name varchar UNIQUE,'
      ' kind unrelated_kind_%s, n int CHECK (n > 0), ts timestamptz)',
      i, CASE WHEN i > 1 THEN format('REFERENCES unrelated_%s (id)', i - 1) ELSE '' END, i % 10 + 1);
    EXECUTE format('CREATE INDEX unrelated_%s_kind_ts ON unrelated_%s (kind, ts DESC) WHERE n > 1', i, i);
    EXECUTE format('CREATE TRIGGER unrelated_%s_touch BEFORE UPDATE ON unrelated_%s '
                   'FOR EACH ROW EXECUTE FUNCTION unrelated_touch()', i, i);
    EXECUTE format('CREATE RULE unrelated_%s_keep AS ON DELETE TO unrelated_%s WHERE OLD.n > 100 DO INSTEAD NOTHING', i, i);
    EXECUTE format('CREATE POLICY unrelated_%s_own ON unrelated_%s USING (n > 0)', i, i);
    EXECUTE format('CREATE STATISTICS unrelated_%s_stats ON kind, n FROM unrelated_%s', i, i);
    EXECUTE format('ALTER PUBLICATION unrelated_cdc ADD TABLE unrelated_%s', i);
  END LOOP;
END $$
"""


def counts(env=None, database=None):
    result = manage("shell", "--no-imports", "-c", COUNT_QUERIES, env=env, database=database)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_same_cost(few, many, catalog_queries):
    assert many["tables"] == few["tables"] + EXTRA_TABLES  # the extra tables were seen...
    assert many["findings"] >= few["findings"] + EXTRA_TABLES  # ...and reported (as unowned)
    assert few["read_live"] == many["read_live"] == catalog_queries
    assert len(few["verify"]) == len(many["verify"])
    assert few["verify"] == many["verify"]  # the very same statements
    assert not any("unrelated_" in statement for statement in many["verify"])


def test_postgresql_catalog_queries_do_not_grow_with_tables(migrated_db):
    few = counts(database=migrated_db)
    dbtools.execute(migrated_db, UNRELATED_POSTGRES)
    many = counts(database=migrated_db)
    # the schema, tables (with their publications), columns, constraints, indexes, triggers, rules and
    # policies, enum types, functions, settings, shadowing tables (docs/verify_schema.md)
    assert_same_cost(few, many, catalog_queries=11)


def test_sqlite_catalog_queries_do_not_grow_with_tables(migrated_sqlite, tmp_path):
    path = tmp_path / "db.sqlite3"
    shutil.copy(migrated_sqlite, path)
    env = {"DATABASE_URL": None, "SQLITE_PATH": str(path)}
    few = counts(env=env)
    with sqlite3.connect(path) as conn:
        for i in range(1, EXTRA_TABLES + 1):
            parent = f"REFERENCES unrelated_{i - 1} (id)" if i > 1 else ""
            conn.execute(
                f"CREATE TABLE unrelated_{i} (id integer PRIMARY KEY, parent_id integer {parent}, name varchar UNIQUE, "
                f"kind varchar CHECK (kind IN ('a', 'b')), ts datetime)"
            )
            conn.execute(f"CREATE INDEX unrelated_{i}_kind_ts ON unrelated_{i} (kind, ts DESC) WHERE kind IS NOT NULL")
    many = counts(env=env)
    # tables, columns, index keys, indexes, foreign keys (docs/verify_schema.md)
    assert_same_cost(few, many, catalog_queries=5)
