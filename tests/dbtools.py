"""Real-PostgreSQL helpers for tests: scratch databases, SQL files, checksums.

Nothing here mocks the database: every helper talks to the server named by
``ECOMIND_TEST_PG`` (see tests/settings.py) with psycopg or psql.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
#: Byte for byte the legacy catalog of production (tests/fixtures/legacy/README.md).
LEGACY_001 = FIXTURES / "legacy" / "alembic-001.sql"
SERVER = os.environ.get("ECOMIND_TEST_PG", "postgres://postgres@127.0.0.1:5432")



def owned_tables():
    """The tables of ecomind_core's models, from the models themselves."""
    from django.apps import apps

    return tuple(model._meta.db_table for model in apps.get_app_config("ecomind_core").get_models())


def url(dbname):
    return f"{SERVER}/{dbname}"


def connect(dbname, **kwargs):
    return psycopg.connect(url(dbname), autocommit=True, **kwargs)


def create_database(prefix="scratch"):
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with connect("postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(name):
    with connect("postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class SQLFileFailed(AssertionError):
    """psql could not load a fixture; the message carries psql's own words."""


def run_sql_file(dbname, path):
    result = subprocess.run(
        ["psql", url(dbname), "-q", "-v", "ON_ERROR_STOP=1", "-f", str(path)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise SQLFileFailed(f"psql could not load {path} into {dbname} (exit {result.returncode}): {result.stderr.strip()}")


def execute(dbname, statement, params=None):
    with connect(dbname) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else None


def manage(*args, env=None, database=None, timeout=180, check=False, input=None):
    """Run ``python manage.py ARGS`` in a real subprocess, as an operator would.

    ``database`` names a scratch database for ``DATABASE_URL``; ``env`` adds
    or (with None values) removes variables; ``input`` is what the operator
    types (standard input is empty otherwise).
    """
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT, env=manage_env(env, database), capture_output=True, text=True, timeout=timeout, check=check,
        **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}),
    )


def manage_env(env=None, database=None):
    """The environment ``manage`` runs with (for tests that start processes themselves)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_SETTINGS"))}
    full_env.update(DEBUG="true", SECRET_KEY="tests-only-not-secret")
    if database:
        full_env["DATABASE_URL"] = url(database)
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    return full_env


def table_checksums(dbname, tables=None):
    """Row count and an md5 over every row (as text, in a stable order) per table.

    One aggregate query per table; fine for test-sized data.
    """
    tables = tables or owned_tables()
    result = {}
    with connect(dbname) as conn:
        for table in tables:
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]
            if not exists:
                result[table] = None
                continue
            query = sql.SQL("SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t")
            result[table] = tuple(conn.execute(query.format(sql.Identifier(table))).fetchone())
    return result


def public_tables(dbname):
    rows = execute(dbname, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    return [r[0] for r in rows]


def catalog_snapshot(dbname, tables=None):
    """An independent oracle of a database's catalog, straight from pg_catalog.

    Kept deliberately separate from ecomind_core's catalog module so the two
    check each other.
    """
    tables = list(tables or owned_tables())
    with connect(dbname) as conn:
        def rows(query):
            return sorted(tuple(r) for r in conn.execute(query, [tables]).fetchall())

        return {
            "columns": rows(
                "SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull "
                "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped"
            ),
            "constraints": rows(
                "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred "
                "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relname = ANY(%s)"
            ),
            "indexes": rows(
                "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s)"
            ),
            "enums": sorted(
                tuple(r) for r in conn.execute(
                    "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_type t "
                    "JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE n.nspname = 'public' GROUP BY t.typname"
                ).fetchall()
            ),
        }


def table_columns(dbname, tables=None):
    """Table -> its column names in order, as the database has them now."""
    tables = tables or owned_tables()
    rows = execute(
        dbname,
        "SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = ANY(%s) GROUP BY table_name",
        [list(tables)],
    )
    return dict(rows)


def column_checksums(dbname, columns_by_table, *, casefold=False, where=None):
    """Row count and md5 over exactly these columns per table (rows in a stable order).

    Pass the columns read *before* a change to prove every one of them kept
    its values even if the change added columns. ``casefold`` compares text
    case-insensitively (for enum label renames, which change no row).
    ``where`` maps a table to an SQL condition limiting the rows compared.
    """
    result = {}
    with connect(dbname) as conn:
        for table, columns in sorted(columns_by_table.items()):
            row = sql.SQL("ROW({})::text").format(sql.SQL(", ").join(sql.Identifier(c) for c in columns))
            if casefold:
                row = sql.SQL("lower({})").format(row)
            condition = sql.SQL((where or {}).get(table, "true"))
            query = sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg({row}, '|' ORDER BY {row}), '')) FROM {table} WHERE {condition}"
            ).format(row=row, table=sql.Identifier(table), condition=condition)
            result[table] = tuple(conn.execute(query).fetchone())
    return result


def clone_database(template, prefix="clone"):
    """A copy of ``template`` (which must have no open connections)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with connect("postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    return name


def spread_into_months_sql(table, start, first):
    """SQL making a converted ``table`` look as if converted long ago: its legacy partition ends at ``start``.

    Monthly partitions are made by hand from ``start`` up to the first one ``migrate`` made (``first``,
    as ``YYYYMM``), and the legacy partition's rows move to their months. Shared by the partition tests
    and benchmarks/retention_wal.py, which need months old enough for retention to drop.
    """
    return f"""
        ALTER TABLE {table} DETACH PARTITION {table}_legacy;
        DO $$ DECLARE m timestamp := '{start:%Y-%m-%d}';
        BEGIN
          WHILE to_char(m, 'YYYYMM') < '{first}' LOOP
            EXECUTE format('CREATE TABLE %I (LIKE {table})', '{table}_p' || to_char(m, 'YYYYMM'));
            EXECUTE format('ALTER TABLE {table} ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           '{table}_p' || to_char(m, 'YYYYMM'), m, m + interval '1 month');
            m := m + interval '1 month';
          END LOOP;
        END $$;
        INSERT INTO {table} SELECT * FROM {table}_legacy;
        TRUNCATE {table}_legacy;
        ALTER TABLE {table} ATTACH PARTITION {table}_legacy FOR VALUES FROM (MINVALUE) TO ('{start:%Y-%m-%d}');"""
