"""Migration 0006 converting 5M events into monthly partitions beside a worker-like writer; against copying the rows.

    .venv/bin/python benchmarks/partition_conversion.py [--events 5000000] [--control-seconds 30]

Makes its own database on the server of ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), runs ``migrate`` and goes back to 0005
(``migrate ecomind_core 0005_audit_log_append_only_per_statement``: plain
tables), and fills orgs, users, --events events (ts spread over the last two
years, up to now) and the daily tables with INSERT ... SELECT
generate_series (benchmarks/partition_data.py, migration_locks.py's data).

The baseline, measured once: on a copy of that database (CREATE DATABASE
... TEMPLATE), the other way to convert, moving the rows: an empty
partitioned table with monthly partitions for every month of the data, its
primary key (id, ts) and the table's indexes, then ``INSERT INTO new SELECT *
FROM old`` of all the rows in one statement (a lower bound for moving them
in batches, which also has to catch up with the rows written meanwhile).

Then, with migration_locks.py's worker-like writer running throughout (one
event INSERT and four daily upserts a transaction, back to back):

1. a control window: the writer alone for --control-seconds;
2. ``manage.py migrate`` applying 0006 in a subprocess, as the deploy job
   runs it (concurrent_builds.run_migrate).

Printed: the writer's worst and p99 transaction in the control window and
while 0006 was being applied, their ratio, the writer's failed transactions
(during and 2 s after; must be 0), the migration's wall time, and the
count and checksum of events_enriched's rows that existed before (the
writer's excluded) before and after: equal. Goal (issue #19): the writer's
worst transaction at most 250 ms. Then the conversion's time against the
copy's: why the old table is attached as the first partition rather than
its rows moved. Not part of the test suite; about 7 minutes and 7 GB at 5M
events on 2 cores. The databases are dropped at the end, also on failure or
Ctrl-C.
"""

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from concurrent_builds import run_migrate  # noqa: E402
from migration_locks import APP, AFTER_SECONDS, GOAL_MS, SERVER, Project, Writer, ms, summarise  # noqa: E402
from partition_data import checksum, clone, fill_recent, now_utc, scratch_database, timeline  # noqa: E402

BEFORE = "0005_audit_log_append_only_per_statement"
CONVERSION = "0006_monthly_partitions"
#: The rows that existed before the writer started: the fill's ids ('evt_' and 24 hex digits); the writer's are uuids.
FILLED = "id LIKE 'evt\\_%'"


def month_start(moment):
    return datetime.datetime(moment.year, moment.month, 1)


def next_month(start):
    return datetime.datetime(start.year + start.month // 12, start.month % 12 + 1, 1)


def copy_rows(url):
    """The baseline on ``url`` (a copy): a partitioned table as 0006 leaves it, then every row copied in; seconds."""
    with psycopg.connect(url, autocommit=True) as conn:
        oldest, newest = conn.execute("SELECT min(ts), max(ts) FROM events_enriched").fetchone()
        conn.execute("CREATE TABLE events_copy (LIKE events_enriched INCLUDING DEFAULTS) PARTITION BY RANGE (ts)")
        month, months = month_start(oldest), 0
        while month <= newest:
            conn.execute(f"CREATE TABLE events_copy_p{month:%Y%m} PARTITION OF events_copy "
                         f"FOR VALUES FROM ('{month}') TO ('{next_month(month)}')")
            month, months = next_month(month), months + 1
        conn.execute("ALTER TABLE events_copy ADD PRIMARY KEY (id, ts)")
        indexes = [row[0] for row in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'events_enriched' "
            "AND indexname <> 'events_enriched_pkey'")]
        for number, definition in enumerate(indexes):
            head, _, tail = definition.partition(" ON ")
            table, _, columns = tail.partition(" USING ")
            assert table.endswith("events_enriched") and "UNIQUE" not in head, definition
            conn.execute(f"CREATE INDEX events_copy_{number} ON events_copy USING {columns}")
        conn.execute("CHECKPOINT")
        started = time.perf_counter()
        copied = conn.execute("INSERT INTO events_copy SELECT * FROM events_enriched").rowcount
        seconds = time.perf_counter() - started
    return seconds, copied, months, len(indexes)


def partitions(url, table):
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname", [table])]


def benchmark(args, dbname, also_drop, scratch):
    url = f"{SERVER}/{dbname}"
    project = Project(url, scratch)
    project.manage("migrate", "-v", "0", "--no-input")
    project.manage("migrate", APP, BEFORE, "-v", "0", "--no-input")
    first, step = timeline(args.events, now_utc() - datetime.timedelta(days=730))
    started = time.perf_counter()
    fill_recent(url, args.events, args.users, args.orgs, first, step)
    fill_seconds = time.perf_counter() - started
    with psycopg.connect(url) as conn:
        size = conn.execute("SELECT pg_total_relation_size('events_enriched')").fetchone()[0]
    print(f"filled {args.events:,} events in {fill_seconds:.0f}s", file=sys.stderr)

    copy_name = f"{dbname}_copy"
    also_drop.append(copy_name)
    clone(dbname, copy_name)
    copy_seconds, copied, copy_months, copy_indexes = copy_rows(f"{SERVER}/{copy_name}")
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{copy_name}" WITH (FORCE)')
    print(f"baseline copy: {copied:,} rows in {copy_seconds:.1f}s", file=sys.stderr)

    before = checksum(url, "events_enriched", FILLED)
    writer = Writer(url, args.users, args.orgs)
    writer.start()
    try:
        writer.resume()
        time.sleep(1)
        control_start = time.perf_counter()
        time.sleep(args.control_seconds)
        control = summarise(writer.between(control_start, time.perf_counter()))
        print("control done; migrating", file=sys.stderr)
        code, output, began, committed, process_started, process_ended = run_migrate(project, CONVERSION)
        if code:
            raise RuntimeError(f"migrate exited {code}:\n{output}")
        writer.wait_for_one_after(committed)
        time.sleep(AFTER_SECONDS)
        writer.pause()
        during = summarise(writer.between(began, committed), committed - began,
                           [t for t in writer.transactions if t.started > committed])
        worst = max(writer.between(began, committed), key=lambda t: t.ms)
    finally:
        writer.stop()
    after = checksum(url, "events_enriched", FILLED)
    event_partitions = partitions(url, "events_enriched")

    print(f"\n{args.events:,} events ({size / 2**20:,.0f} MiB with indexes, ts {first:%Y-%m-%d} to "
          f"{first + (args.events - 1) * step:%Y-%m-%d}), filled in {fill_seconds:.0f}s; migrate {APP} {CONVERSION} "
          f"in a subprocess beside the worker-like writer.\n")
    print(f"{'writer':40} {'worst':>9} {'p99':>9} {'transactions':>13} {'failed':>7}")
    print(f"{f'control window ({args.control_seconds}s, writer alone)':40} {ms(control.worst_ms):>9} "
          f"{ms(control.p99_ms):>9} {control.transactions:>13,} {control.failed:>7}")
    print(f"{'while 0006 was applied':40} {ms(during.worst_ms):>9} {ms(during.p99_ms):>9} "
          f"{during.transactions:>13,} {during.failed:>7}")
    print(f"{'ratio (applying / control)':40} {during.worst_ms / control.worst_ms:>8.2f}x "
          f"{during.p99_ms / control.p99_ms:>8.2f}x")
    print(f"\nfailed writer transactions while applying and {AFTER_SECONDS}s after: {during.failed}"
          + (f" (first error: {during.error})" if during.error else ""))
    print(f"the worst transaction began {worst.started - began:.1f}s after Django's \"Applying\"")
    print(f"migrate wall time (process start to exit): {process_ended - process_started:.1f}s; "
          f"applying 0006 (\"Applying\" to \"OK\"): {committed - began:.1f}s")
    print(f"events_enriched rows that existed before (writer's excluded): count, checksum\n"
          f"  before: {before[0]:,}, {before[1]}\n  after:  {after[0]:,}, {after[1]}\n"
          f"  {'equal' if before == after else 'DIFFERENT'}")
    print(f"events_enriched is now {len(event_partitions)} partitions: {', '.join(event_partitions[:3])}"
          f"{', ...' if len(event_partitions) > 3 else ''}")
    print(f"\nGoal: writer's worst transaction <= {GOAL_MS} ms: "
          f"{'met' if during.worst_ms <= GOAL_MS else 'NOT met'} ({ms(during.worst_ms)}); failed transactions 0: "
          f"{'met' if during.failed == 0 else 'NOT met'}; rows equal: {'yes' if before == after else 'NO'}.")
    print(f"\nWhy the old table becomes the first partition instead of its rows being moved (baseline, measured once "
          f"on a copy of the same database):\n"
          f"  copy: INSERT INTO a partitioned table ({copy_months} monthly partitions, primary key (id, ts) and "
          f"{copy_indexes} indexes) SELECT * FROM events_enriched, {copied:,} rows: {copy_seconds:.1f}s\n"
          f"  conversion: migrate applying 0006, no row copied: {committed - began:.1f}s "
          f"({(committed - began) / copy_seconds:.2f}x the copy; the copy is {copy_seconds / (committed - began):.1f}x "
          f"longer)")
    print("  and the copy is only the lower bound of moving rows: in batches beside the worker it also has to catch "
          "up with the rows written meanwhile, and writes every row to the WAL a second time.")
    return during, control


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--users", type=int, default=40_000)
    parser.add_argument("--orgs", type=int, default=2_000)
    parser.add_argument("--control-seconds", type=int, default=30)
    args = parser.parse_args()
    with scratch_database("bench_partition_conversion") as (dbname, also_drop), \
            tempfile.TemporaryDirectory(prefix="partition_conversion_") as scratch:
        benchmark(args, dbname, also_drop, scratch)


if __name__ == "__main__":
    main()
