"""verify_schema beside 0 and beside 1,000 unrelated tables, in one run.

    .venv/bin/python benchmarks/verify_schema_cost.py [--unrelated 1000] [--repeat 15]

Makes a scratch database on ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), migrates it, and times the whole check
(``catalog.verify``: migration state, expected catalog, live catalog,
comparison; median of --repeat runs after one warm-up, in this process so
that Django's start-up is not counted), then adds the unrelated tables (each
with a primary key, a foreign key, a unique and a check constraint, an index
and an enum column, like an application sharing the database) and times it
again. Prints the ratio (goal: at most 1.15x) and the length of the text
report each time (goal: one summary line for what is not ours). Not part of
the test suite.
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
  FOR i IN 1..%(count)s LOOP
    EXECUTE format(
      'CREATE TABLE unrelated_%%s (id int PRIMARY KEY, parent_id int %%s, name varchar UNIQUE,'
      ' kind unrelated_kind_%%s, n int CHECK (n > 0), ts timestamptz)',
      i, CASE WHEN i > 1 THEN format('REFERENCES unrelated_%%s (id)', i - 1) ELSE '' END, i %% 10 + 1);
    EXECUTE format('CREATE INDEX unrelated_%%s_kind_ts ON unrelated_%%s (kind, ts DESC) WHERE n > 1', i, i);
  END LOOP;
END $$
"""


def time_verify(repeat):
    from django.db import connection

    from ecomind_core import catalog
    from ecomind_core.catalog.report import render_text

    catalog.verify(connection)  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = catalog.verify(connection)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), render_text(result.findings, "bench").count("\n"), len(result.findings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unrelated", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    name = f"bench_verify_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "DATABASE_URL": f"{SERVER}/{name}", "DEBUG": "true", "SECRET_KEY": "bench"}
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
        os.environ.update(env, DJANGO_SETTINGS_MODULE="ecomind.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        few = time_verify(args.repeat)
        with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as conn:
            conn.execute(UNRELATED % {"count": args.unrelated})
            conn.execute("ANALYZE")
        many = time_verify(args.repeat)
        from django.db import connection

        connection.close()
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"verify_schema, median of {args.repeat} runs (catalog.verify in one process)")
    print("| database | time | text report lines | findings |")
    print("|---|---|---|---|")
    print(f"| EcoMind's tables only | {few[0] * 1000:.1f} ms | {few[1]} | {few[2]} |")
    print(f"| beside {args.unrelated:,} unrelated tables | {many[0] * 1000:.1f} ms | {many[1]} | {many[2]} |")
    print(f"ratio: {many[0] / few[0]:.2f}x (goal: at most 1.15x)")


if __name__ == "__main__":
    main()
