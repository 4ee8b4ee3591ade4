"""Time verify_rollups on one recent day at 30,000 and at 30,000,000 events, and a full check at 30M.

    .venv/bin/python benchmarks/rollups.py [--small 30000] [--big 30000000] [--per-day 10000] [--repeat 7]

Makes its own scratch database on the server of ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), migrated by the project. Events are
made with INSERT ... SELECT generate_series: event i is at 2026-07-01 minus
i * (86400 / --per-day) seconds, so the newest day (2026-06-30) holds the
same --per-day events at both sizes, and the big set adds history before
it, in batches of whole days (each batch in time order, as events arrive).
Every 50th event has no model. The daily tables are filled from the events
by the project's own rules (ecomind_core.rollups.rules), batch by batch.

Prints the one-day check (median of --repeat, after a warm-up) at both
sizes and their ratio (the goal: at most 1.5x), the indexes its plan reads,
the build time, and the time of ``manage.py verify_rollups`` over every day
at the big size (its progress goes to stderr). Drops the database at the
end. Not part of the test suite; at 30M it needs about 12 GB of disk and
most of an hour on a 2-core machine.
"""

import argparse
import datetime
import json
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
NEWEST = datetime.datetime(2026, 7, 1)
RECENT_DAY = datetime.date(2026, 6, 30)
BATCH_DAYS = 100
DAY_US = 86_400_000_000

EVENTS = """
    INSERT INTO events_enriched (id, org_id, user_id, provider, model, tokens_in, tokens_out, node_type, region,
                                 kwh, water_l, co2_kg, ts, source, created_at)
    SELECT 'evt_' || lpad(to_hex(i), 24, '0'), 'org_' || lpad(to_hex(i %% 100), 12, '0'),
           'user_' || lpad(to_hex(i %% 2000), 12, '0'), (ARRAY['openai', 'anthropic', 'google'])[1 + i %% 3],
           CASE WHEN i %% 50 = 0 THEN NULL ELSE 'model-' || (i %% 7) END, 500, 200, 'gpu-h100', 'eu-west-1',
           0.0001 + (i %% 1000) * 1e-6, (0.0001 + (i %% 1000) * 1e-6) * 1.8, (0.0001 + (i %% 1000) * 1e-6) * 0.4,
           %(newest)s - i * %(step_us)s * interval '1 microsecond', 'gateway', now()
    FROM generate_series(%(last)s::bigint, %(first)s::bigint, -1) i"""


def day_of(i, per_day):
    """The UTC day of event i (the newest day is events 1 .. per_day)."""
    return RECENT_DAY - datetime.timedelta(days=(i - 1) // per_day)


def fill(conn, first, last, per_day):
    """Events first .. last (a whole number of days), then their daily rows by the project's rules."""
    from ecomind_core.rollups.rules import DAILY_KEYS, EVENTS_OF_DAYS_SQL, MEASURES, events_range, expected_rows_sql

    conn.execute(EVENTS, {"first": first, "last": last, "newest": NEWEST, "step_us": DAY_US // per_day})
    period = events_range(day_of(last, per_day), day_of(first, per_day))
    for model, keys in DAILY_KEYS.items():
        columns = ", ".join(("date", *keys, *MEASURES))
        conn.execute(
            f"INSERT INTO {model._meta.db_table} ({columns}) "
            f"WITH day_events AS ({EVENTS_OF_DAYS_SQL}) {expected_rows_sql(model, 'day_events')}",
            period,
        )


def fill_in_batches(dbname, first, last, per_day):
    batch = BATCH_DAYS * per_day
    with psycopg.connect(f"{SERVER}/{dbname}", autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        for start in range(first, last + 1, batch):
            stop = min(start + batch - 1, last)
            fill(conn, start, stop, per_day)
            print(f"  {stop:,} events", file=sys.stderr)
        conn.execute("VACUUM ANALYZE")


def time_one_day(repeat):
    from django.db import connection

    from ecomind_core.rollups.verification import verify

    verify(connection, RECENT_DAY, RECENT_DAY)  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = verify(connection, RECENT_DAY, RECENT_DAY)
        samples.append(time.perf_counter() - started)
        assert result.clean and result.days == [RECENT_DAY], result
    return statistics.median(samples)


def indexes_read():
    """The indexes the one-day check's plan uses."""
    from django.db import connection

    from ecomind_core.rollups.comparison import DIVERGENT_ROWS_SQL, query_parameters

    def names(node):
        found = {node["Index Name"]} if "Index Name" in node else set()
        for child in node.get("Plans", []):
            found |= names(child)
        return found

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + DIVERGENT_ROWS_SQL, query_parameters(RECENT_DAY))
        plan = cursor.fetchone()[0]
        return sorted(names((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]))


def full_check(dbname):
    """``manage.py verify_rollups`` over every day, as the nightly job runs it; progress to stderr."""
    env = {**os.environ, "DATABASE_URL": f"{SERVER}/{dbname}"}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "manage.py", "verify_rollups"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout
    return elapsed, result.stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=30_000)
    parser.add_argument("--big", type=int, default=30_000_000)
    parser.add_argument("--per-day", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if args.small % args.per_day or args.big % args.per_day or DAY_US % args.per_day:
        parser.error("--small and --big must be whole days of --per-day events, which must divide a day's microseconds")

    dbname = f"bench_rollups_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    os.environ.update(DATABASE_URL=f"{SERVER}/{dbname}", DEBUG="true", SECRET_KEY="benchmark-only",
                      DJANGO_SETTINGS_MODULE="ecomind.settings")
    sys.path.insert(0, str(ROOT))
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        fill_in_batches(dbname, 1, args.small, args.per_day)
        small = time_one_day(args.repeat)
        small_indexes = indexes_read()

        started = time.perf_counter()
        fill_in_batches(dbname, args.small + 1, args.big, args.per_day)
        built = time.perf_counter() - started
        big = time_one_day(args.repeat)
        big_indexes = indexes_read()
        connections.close_all()
        full, verdict = full_check(dbname)

        days = args.big // args.per_day
        print(f"built {args.big - args.small:,} more events ({days:,} days in all) and their daily rows in {built:.0f}s")
        print(f"{'check':32} {args.small:>12,} events {args.big:>12,} events   ratio")
        print(f"{'one recent day (' + str(RECENT_DAY) + ')':32} {small * 1000:>12.1f} ms {big * 1000:>15.1f} ms   {big / small:.2f}x")
        print(f"indexes read at {args.small:,}: {', '.join(small_indexes)}")
        print(f"indexes read at {args.big:,}: {', '.join(big_indexes)}")
        print(f"full check of every day at {args.big:,} events (manage.py verify_rollups): {full:.0f}s ({full / days * 1000:.0f} ms a day)")
        print(f"  {verdict}")
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
