"""How long each schema operation stalls a writer inserting like the enrichment worker: plain Django vs the safe form.

    .venv/bin/python benchmarks/migration_locks.py [--events 2000000] [--repeat 3]

Makes its own database on the server of ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), migrates it, and fills orgs, users,
events_enriched and the four daily tables with INSERT ... SELECT
generate_series. A writer thread on its own connection then does what the
enrichment worker does (docs/schema.md): one INSERT naming every event
column and four ON CONFLICT upserts into the daily tables, one transaction
each, in a loop, and times every transaction.

Each operation is written as a real migration file (in a scratch copy of
ecomind_core's migrations: the project's own files plus that one) and
applied by ``manage.py migrate`` in a subprocess, as a deploy job does it
(advisory lock, lock_timeout); ``sqlmigrate`` of each is printed. The plain
form is what Django writes (an atomic migration); the safe form is what this
project's ``makemigrations`` writes (ecomind_core/migration_safety/operations.py,
``atomic = False`` where they need it). After each, ``migrate`` back to the
project's last migration undoes it, and the table's catalog is checked to
be as before. Every operation runs --repeat times, interleaved; the table
shows the median over the runs of the writer's worst transaction and of its
p99 while the migration was being applied, next to the idle writer's. Goal
(issue 10): every safe form under 250 ms. Not part of the test suite; about
ten minutes at 2M events. The database is dropped at the end, also
on failure or Ctrl-C.
"""

import argparse
import dataclasses
import datetime
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("ECOMIND_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
APP = "ecomind_core"
GOAL_MS = 250
#: Seconds the writer keeps going after a migration, to catch inserts it broke.
AFTER_SECONDS = 2
IDLE_SECONDS = 5
BATCH = 250_000

# -- the data -----------------------------------------------------------------

FILL_ORGS = """
    INSERT INTO orgs (id, name, plan, created_at)
    SELECT 'org_' || lpad(to_hex(o), 12, '0'), 'Organisation ' || o,
           (ARRAY['free', 'pro', 'enterprise'])[1 + o %% 3]::plantype, timestamp '2024-06-01' + o * interval '1 hour'
    FROM generate_series(0, %(orgs)s - 1) o"""
FILL_USERS = """
    INSERT INTO users (id, org_id, email, name, role, created_at)
    SELECT 'user_' || lpad(to_hex(u), 12, '0'), 'org_' || lpad(to_hex(u %% %(orgs)s), 12, '0'),
           'person' || u || '@example.com', 'Person ' || u,
           (ARRAY['owner', 'admin', 'analyst', 'viewer', 'billing'])[1 + u %% 5]::role,
           timestamp '2024-06-01' + u * interval '5 minutes'
    FROM generate_series(0, %(users)s - 1) u"""
# Event i belongs to user i mod users, of that user's organisation; 13 s
# apart, so 2M events span ten months. Every column as the worker fills it.
FILL_EVENTS = """
    INSERT INTO events_enriched (id, org_id, user_id, provider, model, tokens_in, tokens_out, node_type, region,
                                 kwh, water_l, co2_kg, ts, source, metadata, created_at)
    SELECT 'evt_' || lpad(to_hex(i), 24, '0'), 'org_' || lpad(to_hex(i %% %(users)s %% %(orgs)s), 12, '0'),
           'user_' || lpad(to_hex(i %% %(users)s), 12, '0'), (ARRAY['openai', 'anthropic', 'google'])[1 + i %% 3],
           (ARRAY['gpt-4o', 'claude-sonnet', 'gemini-pro', 'unknown'])[1 + i %% 4], 10 + i %% 3000, 10 + i %% 1500,
           'gpu-h100', (ARRAY['eu-west-1', 'us-east-1', 'ap-south-1'])[1 + i %% 3],
           (20 + i %% 3000 + i %% 1500) * 2.5e-6, (20 + i %% 3000 + i %% 1500) * 4.5e-6,
           (20 + i %% 3000 + i %% 1500) * 1e-6, timestamp '2025-01-01' + i * interval '13 seconds', 'gateway',
           json_build_object('cached', i %% 5 = 0, 'tokens', 20 + i %% 3000 + i %% 1500),
           timestamp '2025-01-01' + i * interval '13 seconds' + interval '2 seconds'
    FROM generate_series(%(start)s::bigint, %(stop)s::bigint) i"""
#: Daily table -> its key columns after the day (DailyTotals.key_columns() of each).
DAILY_KEYS = {
    "daily_org_agg": ("org_id",),
    "daily_user_agg": ("org_id", "user_id"),
    "daily_provider_agg": ("org_id", "provider"),
    "daily_model_agg": ("org_id", "provider", "model"),
}


def fill_daily(table, keys):
    keys = ", ".join(keys)
    return (f"INSERT INTO {table} (date, {keys}, call_count, kwh, water_l, co2_kg) "
            f"SELECT ts::date, {keys}, count(*), sum(kwh), sum(water_l), sum(co2_kg) "
            f"FROM events_enriched GROUP BY ts::date, {keys}")


def fill(url, events, users, orgs):
    """Orgs, users, ``events`` events in batches, the daily tables summed from them; then VACUUM ANALYZE."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FILL_ORGS, {"orgs": orgs})
        conn.execute(FILL_USERS, {"orgs": orgs, "users": users})
        for start in range(0, events, BATCH):
            conn.execute(FILL_EVENTS, {"orgs": orgs, "users": users, "start": start,
                                       "stop": min(start + BATCH, events) - 1})
        for table, keys in DAILY_KEYS.items():
            conn.execute(fill_daily(table, keys))
        conn.execute("VACUUM ANALYZE")


def data_size(url):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT pg_total_relation_size('events_enriched'), pg_database_size(current_database())"
                            ).fetchone()


# -- the writer ---------------------------------------------------------------

EVENT_SQL = """
    INSERT INTO events_enriched (id, org_id, user_id, provider, model, tokens_in, tokens_out, node_type, region,
                                 kwh, water_l, co2_kg, ts, source, metadata, created_at)
    VALUES (gen_random_uuid()::text, %(org_id)s, %(user_id)s, %(provider)s, %(model)s, %(tokens_in)s,
            %(tokens_out)s, 'gpu-h100', 'eu-west-1', %(kwh)s, %(water_l)s, %(co2_kg)s, %(ts)s, 'gateway',
            %(metadata)s::json, now())"""


def upsert_sql(table, keys):
    columns = ", ".join(("date", *keys))
    values = ", ".join(f"%({c})s" for c in ("date", *keys))
    sums = ", ".join(f"{m} = {table}.{m} + EXCLUDED.{m}" for m in ("kwh", "water_l", "co2_kg"))
    return (f"INSERT INTO {table} ({columns}, call_count, kwh, water_l, co2_kg) "
            f"VALUES ({values}, 1, %(kwh)s, %(water_l)s, %(co2_kg)s) "
            f"ON CONFLICT ({columns}) DO UPDATE SET call_count = {table}.call_count + 1, {sums}")


UPSERTS = [upsert_sql(table, keys) for table, keys in DAILY_KEYS.items()]


@dataclasses.dataclass(frozen=True)
class Transaction:
    started: float  # time.perf_counter()
    ended: float
    error: str | None  # the first line of the error of a failed transaction

    @property
    def ms(self):
        return (self.ended - self.started) * 1000


class Writer(threading.Thread):
    """The enrichment worker's transactions, back to back on one connection, each timed.

    Runs from ``resume()`` to ``pause()``: paused while the benchmark resets
    the schema, so that only measured time adds events.
    """

    def __init__(self, url, users, orgs):
        super().__init__(name="worker-like writer", daemon=True)
        self.url, self.users, self.orgs = url, users, orgs
        self.transactions = []
        self.active, self.idle, self.stopping = threading.Event(), threading.Event(), threading.Event()
        self.failure = None  # an exception that ended the thread
        self.rng = random.Random(7)

    def run(self):
        try:
            with psycopg.connect(self.url, autocommit=True, application_name="bench-worker-writer") as conn:
                while not self.stopping.is_set():
                    if not self.active.is_set():
                        self.idle.set()
                        self.active.wait(0.1)
                        continue
                    self.idle.clear()
                    self.transactions.append(self.write_one(conn))
        except Exception as exc:  # reported by the main thread
            self.failure = exc
            self.idle.set()

    def write_one(self, conn):
        event = self.next_event()
        started = time.perf_counter()
        try:
            with conn.transaction():
                conn.execute(EVENT_SQL, event)
                for statement in UPSERTS:
                    conn.execute(statement, event)
            error = None
        except psycopg.DatabaseError as exc:
            error = str(exc).splitlines()[0]
        return Transaction(started, time.perf_counter(), error)

    def next_event(self):
        user = self.rng.randrange(self.users)
        tokens_in, tokens_out = self.rng.randint(10, 3000), self.rng.randint(10, 1500)
        kwh = (tokens_in + tokens_out) * 2.5e-6
        ts = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        return {
            "org_id": f"org_{user % self.orgs:012x}", "user_id": f"user_{user:012x}",
            "provider": self.rng.choice(["openai", "anthropic", "google"]),
            "model": self.rng.choice(["gpt-4o", "claude-sonnet", "gemini-pro", "unknown"]),
            "tokens_in": tokens_in, "tokens_out": tokens_out, "kwh": kwh, "water_l": kwh * 1.8,
            "co2_kg": kwh * 0.4, "ts": ts, "date": ts.date(),
            "metadata": '{"cached": false, "tokens": %d}' % (tokens_in + tokens_out),
        }

    def resume(self):
        self.active.set()

    def pause(self):
        self.active.clear()
        self.idle.wait()
        self.check()

    def stop(self):
        self.stopping.set()
        self.active.set()
        self.join(timeout=30)

    def check(self):
        if self.failure is not None:
            raise RuntimeError(f"the writer thread failed: {self.failure}") from self.failure

    def between(self, start, end):
        """The transactions that overlapped [start, end]."""
        return [t for t in list(self.transactions) if t.ended >= start and t.started <= end]

    def wait_for_one_after(self, moment, timeout=120):
        """Wait until a transaction has started after ``moment``: the one under way then has ended."""
        deadline = time.monotonic() + timeout
        while not any(t.started > moment for t in self.transactions[-3:]):
            self.check()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the writer made no progress for {timeout}s after the migration")
            time.sleep(0.01)


# -- the operations -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Form:
    """One way to write an operation: a migration's operation source, and whether the migration is atomic."""

    label: str
    operation: str
    atomic: bool = True


@dataclasses.dataclass(frozen=True)
class Pair:
    name: str
    plain: Form
    safe: Form


INDEX = 'models.Index(fields=["provider", "ts"], name="ix_events_provider_ts")'
# (ts, id): a keyset-pagination key; unique because id is.
UNIQUE = 'models.UniqueConstraint(fields=["ts", "id"], name="events_ts_id_key")'
CHECK = 'models.CheckConstraint(condition=models.Q(kwh__gte=0), name="events_kwh_not_negative")'
FOREIGN_KEY = 'models.ForeignKey(null=True, blank=True, on_delete=models.PROTECT, to="ecomind_core.organisation")'
# events.source: nullable, always written by the worker ('gateway').
SOURCE_NOT_NULL = 'models.CharField(blank=True)'

PAIRS = [
    Pair("index on events (provider, ts)",
         Form("AddIndex", f'migrations.AddIndex(model_name="event", index={INDEX})'),
         Form("AddIndexConcurrentlyIfPostgres",
              f'migration_operations.AddIndexConcurrentlyIfPostgres(model_name="event", index={INDEX})', False)),
    Pair("unique constraint on events (ts, id)",
         Form("AddConstraint(UniqueConstraint)", f'migrations.AddConstraint(model_name="event", constraint={UNIQUE})'),
         Form("AddUniqueConstraintConcurrently",
              f'migration_operations.AddUniqueConstraintConcurrently(model_name="event", constraint={UNIQUE})',
              False)),
    Pair("CHECK (kwh >= 0) on events",
         Form("AddConstraint(CheckConstraint)", f'migrations.AddConstraint(model_name="event", constraint={CHECK})'),
         Form("AddCheckConstraintNotValid",
              f'migration_operations.AddCheckConstraintNotValid(model_name="event", constraint={CHECK})', False)),
    Pair("nullable FK events.org_ref -> orgs",
         Form("AddField(ForeignKey)", f'migrations.AddField(model_name="event", name="org_ref", field={FOREIGN_KEY})'),
         Form("AddForeignKeyNotValid",
              f'migration_operations.AddForeignKeyNotValid(model_name="event", name="org_ref", field={FOREIGN_KEY})',
              False)),
    Pair("events.source NULL -> NOT NULL",
         Form("AlterField", f'migrations.AlterField(model_name="event", name="source", field={SOURCE_NOT_NULL})'),
         Form("SetNotNullThroughCheck",
              f'migration_operations.SetNotNullThroughCheck(model_name="event", name="source", '
              f'field={SOURCE_NOT_NULL})', False)),
    Pair("new NOT NULL column events.pue",
         Form("AddField(default=1.0)",
              'migrations.AddField(model_name="event", name="pue", field=models.FloatField(default=1.0))'),
         Form("AddField(db_default=1.0)",
              'migrations.AddField(model_name="event", name="pue", field=models.FloatField(db_default=1.0))')),
]

MIGRATION_FILE = '''from django.db import migrations, models

from ecomind_core.migration_safety import operations as migration_operations


class Migration(migrations.Migration):
    atomic = {atomic}
    dependencies = [("ecomind_core", "{leaf}")]
    operations = [
        {operation},
    ]
'''

BENCH_SETTINGS = f'''from ecomind.settings import *  # noqa: F403

MIGRATION_MODULES = {{"{APP}": "bench_migrations"}}
'''


class Project:
    """``manage.py`` on the benchmark database, with ecomind_core's migrations plus at most one of ours.

    The migrations module is a scratch copy of the project's (named by
    MIGRATION_MODULES in a settings module that extends the project's), so
    the working tree is never touched.
    """

    def __init__(self, url, scratch):
        self.url, self.scratch = url, Path(scratch)
        self.migrations = self.scratch / "bench_migrations"
        shutil.copytree(ROOT / APP / "migrations", self.migrations, ignore=shutil.ignore_patterns("__pycache__"))
        (self.scratch / "bench_settings.py").write_text(BENCH_SETTINGS)
        names = sorted(p.stem for p in self.migrations.glob("[0-9][0-9][0-9][0-9]_*.py"))
        self.leaf = names[-1]  # the project's migrations are one line
        self.current = None

    def environment(self):
        return {**os.environ, "DATABASE_URL": self.url, "DEBUG": "true", "SECRET_KEY": "benchmark-only",
                "DJANGO_SETTINGS_MODULE": "bench_settings", "PYTHONPATH": f"{self.scratch}{os.pathsep}{ROOT}"}

    def command(self, *args):
        return [sys.executable, str(ROOT / "manage.py"), *args]

    def manage(self, *args):
        done = subprocess.run(self.command(*args), cwd=ROOT, env=self.environment(), capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        return done.stdout

    def use(self, key, form):
        """Make ``form`` the one benchmark migration; returns its name."""
        if self.current:
            (self.migrations / f"{self.current}.py").unlink()
        shutil.rmtree(self.migrations / "__pycache__", ignore_errors=True)
        self.current = f"9001_{key}"
        (self.migrations / f"{self.current}.py").write_text(
            MIGRATION_FILE.format(atomic=form.atomic, leaf=self.leaf, operation=form.operation))
        return self.current

    def apply(self, name):
        """``migrate`` up to ``name``: (when Django began applying it, when it had committed it, its seconds)."""
        process = subprocess.Popen(self.command("migrate", APP, name, "-v", "2", "--no-input"), cwd=ROOT,
                                   env=self.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output, began, committed = b"", None, None
        try:
            # Read as it comes: Django flushes "Applying <name>..." before
            # the first statement, and "OK" after the commit.
            while chunk := os.read(process.stdout.fileno(), 65536):
                output += chunk
                if began is None and (start := output.find(b"  Applying " + APP.encode())) >= 0:
                    began = time.perf_counter()
                if began is not None and committed is None and b"... OK" in output[start:]:
                    committed = time.perf_counter()
            process.wait()
        except BaseException:  # Ctrl-C or a kill: no migrate left running on a database about to be dropped
            process.kill()
            process.wait()
            raise
        finally:
            process.stdout.close()
        text = output.decode(errors="replace")
        took = re.search(rf"Applying {APP}\.{re.escape(name)}\.\.\. OK \(([\d.]+)s\)", text)
        if process.returncode or not took:
            raise RuntimeError(f"migrate {APP} {name} exited {process.returncode}:\n{text}")
        return began, committed, float(took[1])

    def unapply(self):
        self.manage("migrate", APP, self.leaf, "-v", "0", "--no-input")


CATALOG_SQL = """
    SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod) || ':' || attnotnull, ',' ORDER BY attnum)
           FILTER (WHERE attnum > 0 AND NOT attisdropped),
           (SELECT string_agg(indexdef, ';' ORDER BY indexdef) FROM pg_indexes WHERE tablename = 'events_enriched'),
           (SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint
            WHERE conrelid = 'events_enriched'::regclass)
    FROM pg_attribute WHERE attrelid = 'events_enriched'::regclass"""


def catalog(url):
    """The columns, indexes and constraints of events_enriched, to prove each reset complete."""
    with psycopg.connect(url) as conn:
        return conn.execute(CATALOG_SQL).fetchone()


# -- measuring ------------------------------------------------------------------

@dataclasses.dataclass
class Run:
    worst_ms: float
    p99_ms: float
    transactions: int
    seconds: float  # the migration, as Django timed it
    failed: int = 0  # writer transactions that failed, during it and AFTER_SECONDS after
    error: str | None = None


def p99(values):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def summarise(transactions, seconds=0.0, later=()):
    latencies = [t.ms for t in transactions] or [0.0]
    failures = [t for t in (*transactions, *later) if t.error]
    return Run(max(latencies), p99(latencies), len(latencies), seconds, len(failures),
               failures[0].error if failures else None)


def measure_idle(writer):
    writer.resume()
    time.sleep(1)
    start = time.perf_counter()
    time.sleep(IDLE_SECONDS)
    end = time.perf_counter()
    writer.pause()
    return summarise(writer.between(start, end))


def measure(project, writer, name):
    """Apply migration ``name`` under the writer, then undo it; the writer's figures while it applied."""
    writer.resume()
    time.sleep(1)
    began, committed, seconds = project.apply(name)
    writer.wait_for_one_after(committed)
    time.sleep(AFTER_SECONDS)
    writer.pause()
    run = summarise(writer.between(began, committed), seconds,
                    [t for t in writer.transactions if t.started > committed])
    project.unapply()
    return run


# -- the report -----------------------------------------------------------------

def median_run(runs):
    return Run(statistics.median(r.worst_ms for r in runs), statistics.median(r.p99_ms for r in runs),
               int(statistics.median(r.transactions for r in runs)), statistics.median(r.seconds for r in runs),
               sum(r.failed for r in runs), next((r.error for r in runs if r.error), None))


def ms(value):
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def report(args, fill_seconds, sizes, idle, sql, results):
    print(f"\nData: events_enriched {args.events:,} rows ({sizes[0] / 2**20:,.0f} MiB with indexes), "
          f"users {args.users:,}, orgs {args.orgs:,}, daily tables summed from the events "
          f"(database {sizes[1] / 2**20:,.0f} MiB); built in {fill_seconds:.0f}s.")
    baseline = median_run(idle)
    print(f"Idle writer (median of {len(idle)} windows of {IDLE_SECONDS}s, about {baseline.transactions:,} "
          f"transactions each): worst {ms(baseline.worst_ms)}, p99 {ms(baseline.p99_ms)}.")
    print(f"Each figure: median over {args.repeat} runs of the writer's worst / p99 transaction while "
          f"`migrate` applied the operation (from Django's \"Applying\" to its \"OK\"); failed writes: all "
          f"runs, while applying and {AFTER_SECONDS}s after.\n")
    print("\n".join(sql))
    rows = [("operation", "plain Django: worst / p99", "safe form: worst / p99", "worst ratio",
             "failed writes plain / safe", f"safe < {GOAL_MS} ms")]
    for pair, (plain, safe) in results.items():
        plain_run, safe_run = median_run(plain), median_run(safe)
        rows.append((pair.name, f"{ms(plain_run.worst_ms)} / {ms(plain_run.p99_ms)}",
                     f"{ms(safe_run.worst_ms)} / {ms(safe_run.p99_ms)}",
                     f"{plain_run.worst_ms / safe_run.worst_ms:.1f}x", f"{plain_run.failed:,} / {safe_run.failed:,}",
                     "yes" if max(r.worst_ms for r in safe) < GOAL_MS else "NO"))
    print_table(rows)
    print(f"\nPer form: Django's time for the migration (median), each run's worst, and the first error of "
          f"the writer's failed transactions (while applying and {AFTER_SECONDS}s after):")
    rows = [("operation", "form", "migration took", "worst of each run", "writer's error")]
    for pair, runs_of in results.items():
        for form, runs in zip((pair.plain, pair.safe), runs_of):
            summary = median_run(runs)
            rows.append((pair.name, form.label, f"{summary.seconds:.2f}s", ", ".join(ms(r.worst_ms) for r in runs),
                         summary.error or "none"))
    print_table(rows)


def print_table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if number == 0:
            print("-+-".join("-" * width for width in widths))


def benchmark(args, url, scratch):
    project = Project(url, scratch)
    project.manage("migrate", "-v", "0", "--no-input")
    started = time.perf_counter()
    fill(url, args.events, args.users, args.orgs)
    fill_seconds = time.perf_counter() - started
    print(f"filled {args.events:,} events in {fill_seconds:.0f}s", file=sys.stderr)
    sizes, before = data_size(url), catalog(url)

    writer = Writer(url, args.users, args.orgs)
    writer.start()
    sql, idle, results = [], [], {pair: ([], []) for pair in PAIRS}
    try:
        for repeat in range(args.repeat):
            idle.append(measure_idle(writer))
            for number, pair in enumerate(PAIRS):
                for kind, form, runs in (("plain", pair.plain, results[pair][0]), ("safe", pair.safe, results[pair][1])):
                    name = project.use(f"{number + 1}_{kind}", form)
                    if repeat == 0:
                        sql.append(f"-- {pair.name}, {kind}: {form.label} (sqlmigrate)\n"
                                   + project.manage("sqlmigrate", APP, name).strip())
                    runs.append(measure(project, writer, name))
                    print(f"run {repeat + 1}: {pair.name}, {kind}: worst {ms(runs[-1].worst_ms)}, "
                          f"failed {runs[-1].failed}", file=sys.stderr)
                    if catalog(url) != before:
                        raise RuntimeError(f"undoing {name} did not restore events_enriched")
    finally:
        writer.stop()
    report(args, fill_seconds, sizes, idle, sql, results)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--users", type=int, default=40_000)
    parser.add_argument("--orgs", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # A kill (not only Ctrl-C) still runs the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    dbname = f"bench_migration_locks_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    try:
        with tempfile.TemporaryDirectory(prefix="migration_locks_") as scratch:
            benchmark(args, f"{SERVER}/{dbname}", scratch)
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
