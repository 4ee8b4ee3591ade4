"""verify_schema beside 0 and beside 1,000 unrelated tables, in one run.

    .venv/bin/python benchmarks/verify_schema_cost.py [--unrelated 1000] [--repeat 60]

Makes two scratch databases on ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), both migrated; into the second it adds
the unrelated tables, each with what the catalog proof reads for EcoMind's
own tables: a primary key, a foreign key, a unique and a check constraint,
an index, an enum column, a trigger, a rule, a row-level security policy,
a comment, extended statistics, and membership of a publication; plus
settings for roles that are not ours. It then times the whole check
(``catalog.verify``: migration state, expected catalog, live catalog,
comparison) on the two databases in turns, one warm-up each, in this
process so that Django's start-up is not counted, and prints the best and
the median time of each, their ratios (goal: at most 1.15x; the best time is
the one other processes on a shared machine disturb least, as in
admin_changelist.py) and the length of the text report each time (goal: one
summary line for what is not ours). Not part of the test suite. Both
databases are dropped at the end.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("ECOMIND_BENCH_PG", "postgres://postgres@127.0.0.1:5432")

UNRELATED = """
DO $$ BEGIN
  FOR i IN 1..10 LOOP
    EXECUTE format('CREATE TYPE unrelated_kind_%%s AS ENUM (''a'', ''b'')', i);
  END LOOP;
  CREATE FUNCTION unrelated_touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
  CREATE PUBLICATION unrelated_cdc;
  FOR i IN 1..%(count)s LOOP
    EXECUTE format(
      'CREATE TABLE unrelated_%%s (id int PRIMARY KEY, parent_id int %%s, name varchar UNIQUE,'
      ' kind unrelated_kind_%%s, n int CHECK (n > 0), ts timestamptz)',
      i, CASE WHEN i > 1 THEN format('REFERENCES unrelated_%%s (id)', i - 1) ELSE '' END, i %% 10 + 1);
    EXECUTE format('CREATE INDEX unrelated_%%s_kind_ts ON unrelated_%%s (kind, ts DESC) WHERE n > 1', i, i);
    EXECUTE format('CREATE TRIGGER unrelated_%%s_touch BEFORE UPDATE ON unrelated_%%s '
                   'FOR EACH ROW EXECUTE FUNCTION unrelated_touch()', i, i);
    EXECUTE format('CREATE RULE unrelated_%%s_keep AS ON DELETE TO unrelated_%%s WHERE OLD.n > 100 DO INSTEAD NOTHING',
                   i, i);
    EXECUTE format('CREATE POLICY unrelated_%%s_own ON unrelated_%%s USING (n > 0)', i, i);
    EXECUTE format('COMMENT ON TABLE unrelated_%%s IS ''someone else''''s''', i);
    EXECUTE format('CREATE STATISTICS unrelated_%%s_stats ON kind, n FROM unrelated_%%s', i, i);
    EXECUTE format('ALTER PUBLICATION unrelated_cdc ADD TABLE unrelated_%%s', i);
  END LOOP;
  FOR i IN 1..20 LOOP
    EXECUTE format('CREATE ROLE unrelated_%%s_%%s', current_database(), i);
    EXECUTE format('ALTER ROLE unrelated_%%s_%%s IN DATABASE %%I SET work_mem = ''8MB''',
                   current_database(), i, current_database());
  END LOOP;
END $$
"""

def create(name):
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop(name):
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        roles = conn.execute("SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", [f"unrelated_{name}_"])
        for (role,) in roles.fetchall():
            conn.execute(f'DROP ROLE "{role}"')


def time_verify(aliases, repeat):
    """Median time of ``catalog.verify`` per alias, measured in turns; and each one's last report."""
    from django.db import connections

    from ecomind_core import catalog
    from ecomind_core.catalog.report import render_text

    samples = {alias: [] for alias in aliases}
    results = {}
    for alias in aliases:
        catalog.verify(connections[alias])  # warm-up: connection, migration graph, caches
    for _ in range(repeat):
        for alias in aliases:
            started = time.perf_counter()
            results[alias] = catalog.verify(connections[alias])
            samples[alias].append(time.perf_counter() - started)
    return {
        alias: (min(samples[alias]), statistics.median(samples[alias]),
                render_text(results[alias].findings, "bench").count("\n"), len(results[alias].findings))
        for alias in aliases
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unrelated", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=60)
    args = parser.parse_args()

    stem = f"bench_verify_{uuid.uuid4().hex[:8]}"
    few, many = f"{stem}_few", f"{stem}_many"
    try:
        for name in (few, many):
            create(name)
            env = {**os.environ, "DATABASE_URL": f"{SERVER}/{name}", "DEBUG": "true", "SECRET_KEY": "bench"}
            subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
        with psycopg.connect(f"{SERVER}/{many}", autocommit=True) as conn:
            conn.execute(UNRELATED % {"count": args.unrelated})
        for name in (few, many):  # the same planner statistics for both catalogs
            with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as conn:
                conn.execute("ANALYZE")
        os.environ.update(DATABASE_URL=f"{SERVER}/{few}", DEBUG="true", SECRET_KEY="bench",
                          DJANGO_SETTINGS_MODULE="ecomind.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connections

        connections.settings["many"] = {**connections.settings["default"], "NAME": many}
        timings = time_verify(["default", "many"], args.repeat)
        connections.close_all()
    finally:
        for name in (few, many):
            drop(name)

    few, many = timings["default"], timings["many"]
    print(f"verify_schema, {args.repeat} runs each, in turns (catalog.verify in one process)")
    print("| database | best | median | text report lines | findings |")
    print("|---|---|---|---|---|")
    for label, (best, median, lines, findings) in (("EcoMind's tables only", few),
                                                    (f"beside {args.unrelated:,} unrelated tables", many)):
        print(f"| {label} | {best * 1000:.1f} ms | {median * 1000:.1f} ms | {lines} | {findings} |")
    print(f"ratio: best {many[0] / few[0]:.2f}x, median {many[1] / few[1]:.2f}x (goal: at most 1.15x)")


if __name__ == "__main__":
    main()
