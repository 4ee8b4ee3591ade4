"""What migrate's pre-apply drift check costs, at 1,000,000 events, in one run.

    .venv/bin/python benchmarks/migrate_drift_check.py [--events 1000000] [--repeat 7]

Makes a scratch database on ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), migrates it, fills events_enriched with
--events rows (set-based SQL) and ANALYZEs, then times, alternately, median
of --repeat runs each:

* ``manage.py migrate --no-input`` with nothing to do, as the deploy jobs run
  it (a whole process: Django's start-up, the lock, the plan; the drift check
  is not run when there is nothing to apply);
* the same ``migrate`` process with the drift check forced on
  (``ECOMIND_BENCH_FORCE_DRIFT_CHECK``, read only by this benchmark's wrapper
  below), which is what a ``migrate`` with something to apply pays before
  its first migration;
* the check alone in one process (``catalog.check_catalog`` against the state
  of the applied migrations), without Django's start-up.

Prints each time and the ratios to the plain no-op ``migrate``. Not part of
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

EVENTS = """
INSERT INTO events_enriched (id, org_id, user_id, provider, model, tokens_in, tokens_out, node_type, region,
                             kwh, water_l, co2_kg, ts, source, metadata, created_at)
SELECT 'evt_' || lpad(to_hex(i), 24, '0'), 'org_' || (i % 500), 'user_' || (i % 20000), 'openai', 'gpt-4o', 100, 200,
       'gpu', 'eu-west-1', 0.001, 0.002, 0.0004, timestamp '2026-01-01' + i * interval '1 second', 'gateway', '{{}}', now()
FROM generate_series(1, {events}) i
"""

#: Runs migrate with the drift check forced on, as if a migration were pending (this benchmark only).
FORCED = """
import django
django.setup()
from ecomind_core.management.commands import migrate
migrate.Command.planned = lambda self, options: [(None, False)]  # "something to apply": the check runs
migrate.Command.with_lock_retries = lambda self, run: None       # then apply nothing
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "migrate", "--no-input", "-v", "0"])
"""


def timed(command, env):
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def check_alone(repeat):
    from django.db import connection

    from ecomind_core import catalog
    from ecomind_core.migration_safety.graph import state_at

    def once():
        loader = catalog.load(connection)[0]
        return catalog.check_catalog(connection, state_at(loader, sorted(loader.applied_migrations)).apps)

    once()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        once()
        samples.append(time.perf_counter() - started)
    connection.close()
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    name = f"bench_drift_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "DATABASE_URL": f"{SERVER}/{name}", "DEBUG": "true", "SECRET_KEY": "bench",
               "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "ecomind.settings"}
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
        with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as conn:
            conn.execute(EVENTS.format(events=args.events))
            conn.execute("ANALYZE")
        plain, forced = [], []
        for _ in range(args.repeat):  # alternately, so both meet the same load
            plain.append(timed([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], env))
            forced.append(timed([sys.executable, "-c", FORCED], env))
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        alone = check_alone(args.repeat)
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    plain_ms, forced_ms = statistics.median(plain) * 1000, statistics.median(forced) * 1000
    print(f"migrate at {args.events:,} events, median of {args.repeat} runs, alternately")
    print("| run | time | vs no-op migrate |")
    print("|---|---|---|")
    print(f"| `migrate` with nothing to do (no check: as shipped) | {plain_ms:.0f} ms | 1.00x |")
    print(f"| `migrate` with the drift check run (what a pending migration adds first) | {forced_ms:.0f} ms | "
          f"{forced_ms / plain_ms:.2f}x |")
    print(f"| the check alone, in one process | {alone * 1000:.0f} ms | {alone * 1000 / plain_ms:.2f}x |")


if __name__ == "__main__":
    main()
