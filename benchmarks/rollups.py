"""Time verify_rollups on one recent day at 30,000 and at 30,000,000 events, and a full check at 30M.

    .venv/bin/python benchmarks/rollups.py [--small 30000] [--big 30000000] [--per-day 10000] [--repeat 15]

Makes two scratch databases on the server of ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), migrated by the project, and fills them
with INSERT ... SELECT generate_series: event i is at 2026-07-01 minus
i * (86400 / --per-day) seconds, so the newest day (2026-06-30) holds the
same --per-day events in both, and the big one has history before it,
built in batches of 100 days (each batch in time order, as events arrive).
Every 50th event has no model. The daily tables are filled from the events
by the project's own rules (ecomind_core.rollups.rules), batch by batch.

The one-day check is timed alternately on the two databases (so a busy,
shared machine slows both alike; median of --repeat after a warm-up), and
its plan's buffer count (shared pages hit or read, EXPLAIN ANALYZE), which
no other load changes, is printed too. Then ``manage.py verify_rollups``
checks every day of the big database (progress on stderr) and is timed.
Prints the build time. Drops both databases at the end. Not part of the
test suite; at 30M it needs about 8 GB of disk and about half an hour on a
2-core machine.
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
    from ecomind_core.rollups.rules import DAILY_KEYS, EVENTS_OF_DAYS_SQL, MEASURES, expected_rows_sql

    conn.execute(EVENTS, {"first": first, "last": last, "newest": NEWEST, "step_us": DAY_US // per_day})
    days = {"first_day": day_of(last, per_day), "last_day": day_of(first, per_day)}
    for model, keys in DAILY_KEYS.items():
        columns = ", ".join(("date", *keys, *MEASURES))
        # In day order, as the worker creates them (a day's rows during that day).
        conn.execute(
            f"INSERT INTO {model._meta.db_table} ({columns}) "
            f"WITH day_events AS ({EVENTS_OF_DAYS_SQL}) SELECT * FROM ({expected_rows_sql(model, 'day_events')}) rows "
            f"ORDER BY {', '.join(('date', *keys))}",
            days,
        )


def fill_in_batches(dbname, events, per_day):
    batch = BATCH_DAYS * per_day
    with psycopg.connect(f"{SERVER}/{dbname}", autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        for start in range(1, events + 1, batch):
            stop = min(start + batch - 1, events)
            fill(conn, start, stop, per_day)
            print(f"  {dbname}: {stop:,} events", file=sys.stderr)
        conn.execute("VACUUM ANALYZE")


def check_one_day(using):
    from django.db import connections

    from ecomind_core.rollups.verification import verify

    started = time.perf_counter()
    result = verify(connections[using], RECENT_DAY, RECENT_DAY)
    elapsed = time.perf_counter() - started
    assert result.clean and result.days == [RECENT_DAY], result
    return elapsed


def time_one_day(aliases, repeat):
    """{alias: median seconds}, the aliases measured in turn within each round."""
    samples = {alias: [] for alias in aliases}
    for alias in aliases:
        check_one_day(alias)  # warm-up
    for _ in range(repeat):
        for alias in aliases:
            samples[alias].append(check_one_day(alias))
    return {alias: statistics.median(times) for alias, times in samples.items()}


def plan_of_one_day(using):
    """(indexes the one-day comparison reads, shared buffers it touches)."""
    from django.db import connections

    from ecomind_core.rollups.comparison import DIVERGENT_ROWS_SQL, query_parameters

    def walk(node):
        indexes = {node["Index Name"]} if "Index Name" in node else set()
        for child in node.get("Plans", []):
            indexes |= walk(child)
        return indexes

    with connections[using].cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + DIVERGENT_ROWS_SQL, query_parameters(RECENT_DAY))
        plan = cursor.fetchone()[0]
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return sorted(walk(plan)), plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]


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
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    if args.small % args.per_day or args.big % args.per_day or DAY_US % args.per_day:
        parser.error("--small and --big must be whole days of --per-day events, which must divide a day's microseconds")

    names = {"small": f"bench_rollups_small_{uuid.uuid4().hex[:8]}", "big": f"bench_rollups_big_{uuid.uuid4().hex[:8]}"}
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(DATABASE_URL=f"{SERVER}/{names['small']}", DEBUG="true", SECRET_KEY="benchmark-only",
                      DJANGO_SETTINGS_MODULE="ecomind.settings")
    sys.path.insert(0, str(ROOT))
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connections

        # Before the first connection: Django reads DATABASES once.
        for alias, name in names.items():
            settings.DATABASES[alias] = {**settings.DATABASES["default"], "NAME": name}
        for alias in names:
            call_command("migrate", database=alias, verbosity=0)
        fill_in_batches(names["small"], args.small, args.per_day)
        started = time.perf_counter()
        fill_in_batches(names["big"], args.big, args.per_day)
        built = time.perf_counter() - started

        medians = time_one_day(list(names), args.repeat)
        plans = {alias: plan_of_one_day(alias) for alias in names}
        connections.close_all()
        full, verdict = full_check(names["big"])

        small, big = medians["small"], medians["big"]
        days = args.big // args.per_day
        print(f"built {args.big:,} events ({days:,} days) and their daily rows in {built:.0f}s")
        print(f"{'one recent day (' + str(RECENT_DAY) + ')':32} {args.small:>12,} events {args.big:>12,} events   ratio")
        print(f"{'  time (median of ' + str(args.repeat) + ')':32} {small * 1000:>12.1f} ms {big * 1000:>15.1f} ms   {big / small:.2f}x")
        print(f"{'  shared buffers touched':32} {plans['small'][1]:>15,} {plans['big'][1]:>18,}   {plans['big'][1] / plans['small'][1]:.2f}x")
        for alias in names:
            print(f"  indexes read at {getattr(args, alias):,} events: {', '.join(plans[alias][0]) or 'none'}")
        print(f"full check of every day at {args.big:,} events (manage.py verify_rollups): {full:.0f}s ({full / days * 1000:.0f} ms a day)")
        print(f"  {verdict}")
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
