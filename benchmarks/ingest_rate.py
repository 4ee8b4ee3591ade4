"""How many events a second one PostgreSQL primary takes with the enrichment worker's exact statements.

    .venv/bin/python benchmarks/ingest_rate.py [--prefill 1000000] [--seconds 10] [--rounds 3]

Makes a scratch database on the server of ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), migrates it with the project's
``migrate``, and fills orgs (100), users (2,000), --prefill events and their
daily rows with INSERT ... SELECT generate_series, so the indexes the inserts
maintain have a realistic size. Then writers do what the worker does
(docs/schema.md): the INSERT into events_enriched naming every column (id
``gen_random_uuid()::text``, ``created_at`` ``now()``, a zone-aware ``ts`` of
now) and the four ON CONFLICT upserts into the daily tables, on connections
of their own with the server's defaults (``synchronous_commit`` on: each
commit waits for its WAL to reach the disk, as the worker's do). Shapes:

* ``1 writer x 1 event``: one transaction per event, the worker as it is; the baseline;
* ``1 writer x N events``: N events per transaction: the N INSERTs, then
  each daily table's N upserts, each statement sent for all N at once
  (psycopg's ``executemany``, pipelined); the same statements, grouped;
* ``W writers x N``: W such writers at once (a worker per replica). Each
  table's upserts go in the order of its key, so concurrent writers take
  the daily rows' locks in one order and never deadlock (a batching worker
  must do the same).

Each shape runs --seconds, the shapes in turns, --rounds times (so a busy,
shared machine slows all alike); printed: the median events/s of each shape
and its ratio to the baseline of the same run, the WAL written per event (what
a replica must replay; the server's whole WAL, so on a shared server other
databases' writes and checkpoints' full-page images inflate it: read the
lowest figure as the closest), and the bytes per event of events_enriched with its
indexes at the end. Prints the machine's CPU count. The clients run on the
same machine as the server and take CPU from it (say so when quoting the
figures). Drops the database at the end, also on failure or Ctrl-C. Not part
of the test suite; about four minutes with the defaults on 2 cores, 1 GB of disk.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("ECOMIND_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
ORGS, USERS = 100, 2_000
FILL_BATCH = 250_000
#: (writers, events per transaction); the first is the baseline.
SHAPES = ((1, 1), (1, 10), (1, 100), (1, 1000), (2, 1), (4, 1), (4, 100))

# -- the worker's statements (docs/schema.md), as benchmarks/migration_locks.py's writer sends them ---------

sys.path.insert(0, str(Path(__file__).resolve().parent))
from migration_locks import EVENT_SQL, upsert_sql  # noqa: E402


def daily_keys():
    """Daily table -> its key columns after the day, from the models (as ecomind_core.rollups.rules has them)."""
    from ecomind_core.rollups.rules import DAILY_KEYS

    return {model._meta.db_table: keys for model, keys in DAILY_KEYS.items()}


# -- the data -------------------------------------------------------------------

FILL_ORGS = """
    INSERT INTO orgs (id, name, plan, created_at)
    SELECT 'org_' || lpad(to_hex(o), 12, '0'), 'Organisation ' || o, 'pro', timestamp '2024-06-01'
    FROM generate_series(0, %(orgs)s - 1) o"""
FILL_USERS = """
    INSERT INTO users (id, org_id, email, name, role, created_at)
    SELECT 'user_' || lpad(to_hex(u), 12, '0'), 'org_' || lpad(to_hex(u %% %(orgs)s), 12, '0'),
           'person' || u || '@example.com', 'Person ' || u, 'analyst', timestamp '2024-06-01'
    FROM generate_series(0, %(users)s - 1) u"""
# History before today: event i of user i mod USERS, 13 s apart, ending an hour ago.
FILL_EVENTS = """
    INSERT INTO events_enriched (id, org_id, user_id, provider, model, tokens_in, tokens_out, node_type, region,
                                 kwh, water_l, co2_kg, ts, source, metadata, created_at)
    SELECT 'evt_' || lpad(to_hex(i), 24, '0'), 'org_' || lpad(to_hex(i %% %(users)s %% %(orgs)s), 12, '0'),
           'user_' || lpad(to_hex(i %% %(users)s), 12, '0'), (ARRAY['openai', 'anthropic', 'google'])[1 + i %% 3],
           (ARRAY['gpt-4o', 'claude-sonnet', 'gemini-pro', 'unknown'])[1 + i %% 4], 10 + i %% 3000, 10 + i %% 1500,
           'gpu-h100', 'eu-west-1', (20 + i %% 3000 + i %% 1500) * 2.5e-6, (20 + i %% 3000 + i %% 1500) * 4.5e-6,
           (20 + i %% 3000 + i %% 1500) * 1e-6, %(newest)s - i * interval '13 seconds', 'gateway',
           json_build_object('cached', i %% 5 = 0, 'tokens', 20 + i %% 3000 + i %% 1500), now()
    FROM generate_series(%(start)s::bigint, %(stop)s::bigint) i"""


def fill_daily(table, keys):
    keys = ", ".join(keys)
    return (f"INSERT INTO {table} (date, {keys}, call_count, kwh, water_l, co2_kg) "
            f"SELECT ts::date, {keys}, count(*), sum(kwh), sum(water_l), sum(co2_kg) "
            f"FROM events_enriched GROUP BY ts::date, {keys}")


def fill(url, events, keys):
    newest = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(hours=1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FILL_ORGS, {"orgs": ORGS})
        conn.execute(FILL_USERS, {"orgs": ORGS, "users": USERS})
        for start in range(1, events + 1, FILL_BATCH):
            conn.execute(FILL_EVENTS, {"orgs": ORGS, "users": USERS, "newest": newest, "start": start,
                                       "stop": min(start + FILL_BATCH, events + 1) - 1})
        for table, columns in keys.items():
            conn.execute(fill_daily(table, columns))
        conn.execute("VACUUM ANALYZE")


# -- the writers ------------------------------------------------------------------

def next_event(rng):
    user = rng.randrange(USERS)
    tokens_in, tokens_out = rng.randint(10, 3000), rng.randint(10, 1500)
    kwh = (tokens_in + tokens_out) * 2.5e-6
    ts = datetime.datetime.now(datetime.UTC)  # zone-aware, as the worker's driver sends it
    return {
        "org_id": f"org_{user % ORGS:012x}", "user_id": f"user_{user:012x}",
        "provider": rng.choice(("openai", "anthropic", "google")),
        "model": rng.choice(("gpt-4o", "claude-sonnet", "gemini-pro", "unknown")),
        "tokens_in": tokens_in, "tokens_out": tokens_out, "kwh": kwh, "water_l": kwh * 1.8, "co2_kg": kwh * 0.4,
        "ts": ts, "date": ts.date(), "metadata": '{"cached": false, "tokens": %d}' % (tokens_in + tokens_out),
    }


def write_for(url, per_transaction, upserts, deadline, seed, counts, errors):
    """One writer: transactions of ``per_transaction`` events until ``deadline``; committed events into ``counts``."""
    rng, written = random.Random(seed), 0
    try:
        with psycopg.connect(url, autocommit=True, application_name="bench-ingest-writer") as conn:
            cursor = conn.cursor()
            while time.perf_counter() < deadline:
                batch = [next_event(rng) for _ in range(per_transaction)]
                with conn.transaction():
                    if per_transaction == 1:
                        # The worker as it is: five statements, each waiting for its answer.
                        cursor.execute(EVENT_SQL, batch[0])
                        for statement, _ in upserts:
                            cursor.execute(statement, batch[0])
                    else:
                        cursor.executemany(EVENT_SQL, batch)
                        for statement, columns in upserts:
                            in_key_order = sorted(batch, key=lambda event: tuple(event[c] for c in ("date", *columns)))
                            cursor.executemany(statement, in_key_order)
                written += per_transaction
    except Exception as exc:  # reported by the main thread
        errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    counts.append(written)


def run_shape(url, writers, per_transaction, upserts, seconds, seed):
    """Events per second of ``writers`` writers for ``seconds``, and WAL bytes per event."""
    with psycopg.connect(url, autocommit=True) as conn:
        wal_before = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        counts, errors = [], []
        started = time.perf_counter()
        deadline = started + seconds
        threads = [threading.Thread(target=write_for, args=(url, per_transaction, upserts, deadline, seed + w, counts, errors))
                   for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        wal = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [wal_before]).fetchone()[0]
    if errors:
        raise RuntimeError(f"a writer failed: {errors[0]}")
    events = sum(counts)
    return events / elapsed, float(wal) / max(events, 1)


def label(writers, per_transaction):
    return f"{writers} writer{'s' if writers > 1 else ''} x {per_transaction} event{'s' if per_transaction > 1 else ''}/transaction"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefill", type=int, default=1_000_000, help="events already in the table (default 1,000,000)")
    parser.add_argument("--seconds", type=float, default=10, help="length of one run of one shape (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of every shape, in turns (default 3)")
    args = parser.parse_args()

    name = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    url = f"{SERVER}/{name}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(DATABASE_URL=url, DEBUG="true", SECRET_KEY="benchmark-only", DJANGO_SETTINGS_MODULE="ecomind.settings")
    os.environ.pop("DATABASE_REPLICA_URL", None)
    sys.path.insert(0, str(ROOT))
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        connections.close_all()
        keys = daily_keys()
        upserts = [(upsert_sql(table, columns), columns) for table, columns in keys.items()]
        started = time.perf_counter()
        fill(url, args.prefill, keys)
        print(f"prefilled {args.prefill:,} events, {ORGS} organisations, {USERS:,} users in {time.perf_counter() - started:.0f}s; "
              f"{os.cpu_count()} CPUs; server and writers on this machine")

        rates = {shape: [] for shape in SHAPES}
        wal = {shape: [] for shape in SHAPES}
        for round_number in range(args.rounds):
            for index, shape in enumerate(SHAPES):
                rate, wal_per_event = run_shape(url, *shape, upserts, args.seconds, seed=1000 * round_number + 10 * index)
                rates[shape].append(rate)
                wal[shape].append(wal_per_event)
            print(f"  round {round_number + 1}: " + ", ".join(f"{rates[shape][-1]:,.0f}" for shape in SHAPES) + " events/s")

        baseline = statistics.median(rates[SHAPES[0]])
        print(f"\n{'shape':42} {'events/s':>10} {'vs baseline':>12} {'WAL/event*':>10}   (median of {args.rounds} runs of {args.seconds:g}s)")
        for shape in SHAPES:
            rate = statistics.median(rates[shape])
            print(f"{label(*shape):42} {rate:>10,.0f} {rate / baseline:>11.2f}x {statistics.median(wal[shape]):>8,.0f} B")
        print("* the whole server's WAL over the run, divided by this run's events")
        with psycopg.connect(url, autocommit=True) as conn:
            rows, size, heap = conn.execute(
                "SELECT count(*), pg_total_relation_size('events_enriched'), pg_relation_size('events_enriched') "
                "FROM events_enriched").fetchone()
            daily = conn.execute("SELECT sum(pg_total_relation_size(c)) FROM unnest(%s::regclass[]) c", [list(keys)]).fetchone()[0]
        print(f"\nevents_enriched: {rows:,} rows, {size / rows:,.0f} bytes a row with its 5 indexes ({heap / rows:,.0f} without); "
              f"daily tables {daily / 2**20:,.0f} MB in all")
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
