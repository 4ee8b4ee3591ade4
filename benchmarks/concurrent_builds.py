"""A concurrent index build behind a long reader: built once, writers unhurt, migrate succeeds when the reader ends.

    .venv/bin/python benchmarks/concurrent_builds.py [--events 1000000] [--reader-seconds 300]

The situation of issue 22: a developer adds an index on ``Event``,
``makemigrations`` writes ``AddIndexConcurrentlyIfPostgres``, and the deploy
job's ``migrate`` runs while a report (or ``pg_dump``, for the whole
backup) holds a REPEATABLE READ snapshot touching only ``orgs``.
``CREATE INDEX CONCURRENTLY`` must wait for that snapshot; with the old
code the session's 2 s ``lock_timeout`` cancelled the wait, every retry
dropped the half-built index and started again, and past the retries
``migrate`` exited 3 leaving an INVALID index.

Makes its own database (ECOMIND_BENCH_PG, default the local server), runs
``migrate`` and fills ``--events`` events with INSERT ... SELECT
generate_series (benchmarks/migration_locks.py's data and worker-like
writer). Then, with the writer running throughout:

1. baseline: ``manage.py migrate`` applies the index migration with no
   reader (then it is unapplied again);
2. the reader opens its snapshot, and one second later the same ``migrate``
   (the project's defaults: ``lock_timeout`` 2 s, 5 retries) applies it;
   the reader commits after ``--reader-seconds``.

Printed: how many different index oids were seen while migrate ran (1:
built once), the ``lock_timeout`` retries in its output (none), its exit
code, what it reported while waiting, the writer's worst and p99
transaction during each run (goal: at most 250 ms), split into while the
build only waited and while it worked, beside a control window (the writer
beside the open reader for 30 s before ``migrate`` starts, on this shared
machine), and the times: the whole run, the part after the reader ended,
and that part against the baseline build. The database is dropped at the end, also on failure or Ctrl-C.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from migration_locks import APP, GOAL_MS, ROOT, SERVER, Form, Project, Writer, fill, ms, summarise  # noqa: E402

INDEX_NAME = "ix_events_provider_ts"
#: Seconds the writer runs beside the open reader before migrate starts (a control for the machine's own noise).
CONTROL_SECONDS = int(os.environ.get("BENCH_CONTROL_SECONDS", 30))
INDEX = Form("AddIndexConcurrentlyIfPostgres",
             'migration_operations.AddIndexConcurrentlyIfPostgres(model_name="event", '
             f'index=models.Index(fields=["provider", "ts"], name="{INDEX_NAME}"))', atomic=False)


class Reader(threading.Thread):
    """A report holding one REPEATABLE READ snapshot for ``seconds``, reading only ``orgs``."""

    def __init__(self, url, seconds):
        super().__init__(name="long reader", daemon=True)
        self.url, self.seconds = url, seconds
        self.opened, self.ended_at = threading.Event(), None

    def run(self):
        with psycopg.connect(self.url, application_name="nightly-export") as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            conn.execute("SELECT count(*) FROM orgs")
            self.opened.set()
            time.sleep(self.seconds)
            conn.execute("COMMIT")
            self.ended_at = time.perf_counter()


class OidWatch(threading.Thread):
    """Every index oid of INDEX_NAME seen while the migration runs (one oid: built once), and the build's phases."""

    def __init__(self, url):
        super().__init__(name="oid watch", daemon=True)
        self.url, self.oids, self.stopping = url, [], threading.Event()
        #: (time.perf_counter(), the build's phase or None) every 0.2 s.
        self.phases = []

    def run(self):
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stopping.wait(0.2):
                row = conn.execute("SELECT oid FROM pg_class WHERE relname = %s", [INDEX_NAME]).fetchone()
                if row and row[0] not in self.oids:
                    self.oids.append(row[0])
                phase = conn.execute("SELECT phase FROM pg_stat_progress_create_index WHERE relid = "
                                     "'events_enriched'::regclass").fetchone()
                self.phases.append((time.perf_counter(), phase[0] if phase else None))

    def waiting_at(self, moment):
        """Whether the build was only waiting (for old snapshots or other transactions) at ``moment``."""
        before = [phase for at, phase in self.phases if at <= moment]
        return bool(before) and before[-1] is not None and before[-1].startswith("waiting")

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)


def run_migrate(project, name):
    """``migrate`` up to ``name`` as a deploy job: (exit code, output, began, committed, ended)."""
    started = time.perf_counter()
    process = subprocess.Popen(project.command("migrate", APP, name, "--no-input"), cwd=ROOT,
                               env=project.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, began, committed = b"", None, None
    try:
        while chunk := os.read(process.stdout.fileno(), 65536):
            output += chunk
            if began is None and b"  Applying " + APP.encode() in output:
                began = time.perf_counter()
            if began is not None and committed is None and re.search(rb"Applying ecomind_core\.\S+\.\.\.(.|\n)*OK", output):
                committed = time.perf_counter()
        process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        process.stdout.close()
    ended = time.perf_counter()
    return process.returncode, output.decode(errors="replace"), began or started, committed or ended, started, ended


def one_run(project, writer, url, name, reader_seconds):
    writer.resume()
    time.sleep(1)
    reader, control = None, None
    if reader_seconds:
        reader = Reader(url, reader_seconds + CONTROL_SECONDS)  # migrate faces reader_seconds of it
        reader.start()
        reader.opened.wait()
        # Control: the writer beside the open reader, before any migration.
        control_start = time.perf_counter()
        time.sleep(CONTROL_SECONDS)
        control = summarise(writer.between(control_start, time.perf_counter()))
    watch = OidWatch(url)
    watch.start()
    code, output, began, committed, started, ended = run_migrate(project, name)
    watch.stop()
    time.sleep(1)
    writer.pause()
    if reader:
        reader.join()
    during = writer.between(began, committed)
    run = summarise(during, committed - began)
    worst = max(during, key=lambda t: t.ms, default=None)
    run.worst_at = worst.started - began if worst else 0.0
    waiting = [t for t in during if watch.waiting_at(t.started)]
    working = [t for t in during if not watch.waiting_at(t.started)]
    project.unapply()
    return {"code": code, "output": output, "run": run, "oids": watch.oids, "total": ended - started,
            "control": control, "waiting": summarise(waiting) if waiting else None, "working": summarise(working),
            "after_reader": ended - reader.ended_at if reader and reader.ended_at else None}


def benchmark(args, url, scratch):
    project = Project(url, scratch)
    project.manage("migrate", "-v", "0", "--no-input")
    started = time.perf_counter()
    fill(url, args.events, args.users, args.orgs)
    print(f"filled {args.events:,} events in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    name = project.use("concurrent_index", INDEX)
    writer = Writer(url, args.users, args.orgs)
    writer.start()
    try:
        print("baseline: no reader...", file=sys.stderr)
        baseline = one_run(project, writer, url, name, 0)
        print(f"with a {args.reader_seconds}s reader...", file=sys.stderr)
        behind = one_run(project, writer, url, name, args.reader_seconds)
    finally:
        writer.stop()
    report(args, baseline, behind)
    return baseline, behind


def report(args, baseline, behind):
    print(f"\n{args.events:,} events; a writer doing the enrichment worker's transaction throughout; "
          f"`migrate` with the project's defaults (lock_timeout 2s, 5 retries) applying "
          f"AddIndexConcurrentlyIfPostgres on events (provider, ts).\n")
    for label, result in (("no reader (baseline)", baseline), (f"reader holding a snapshot {args.reader_seconds}s", behind)):
        retries = len(re.findall(r"lock_timeout \(.*\) hit", result["output"]))
        waits = [line.strip() for line in result["output"].splitlines() if line.strip().startswith("waiting for")]
        print(f"{label}:")
        print(f"  migrate exit {result['code']}; index oids seen: {len(result['oids'])} (1 = built once); "
              f"lock_timeout retries: {retries}")
        print(f"  writer while applying: worst {ms(result['run'].worst_ms)}, p99 {ms(result['run'].p99_ms)}, "
              f"{result['run'].transactions:,} transactions, {result['run'].failed} failed, the worst "
              f"{result['run'].worst_at:.0f}s after Django's \"Applying\" "
              f"({'within' if result['run'].worst_ms <= GOAL_MS else 'OVER'} the {GOAL_MS} ms goal)")
        if result["waiting"]:
            print(f"  of which while the build only waited: worst {ms(result['waiting'].worst_ms)} "
                  f"({result['waiting'].transactions:,} transactions); otherwise (building, validating): worst "
                  f"{ms(result['working'].worst_ms)} ({result['working'].transactions:,} transactions)")
        if result["control"]:
            print(f"  control, the same writer beside the open reader for {CONTROL_SECONDS}s before migrate: worst "
                  f"{ms(result['control'].worst_ms)}, p99 {ms(result['control'].p99_ms)}")
        print(f"  total {result['total']:.1f}s" + (
            f"; after the reader ended {result['after_reader']:.1f}s "
            f"({result['after_reader'] / baseline['total']:.2f}x the baseline's total)" if result["after_reader"] else ""))
        if waits:
            print(f"  reported while waiting: {len(waits)} line(s), at most one per 30 s; the first: {waits[0]}")
        if result["code"]:
            print(result["output"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--reader-seconds", type=int, default=300)
    args = parser.parse_args()
    dbname = f"bench_concurrent_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    try:
        with tempfile.TemporaryDirectory(prefix="bench-concurrent-") as scratch:
            benchmark(args, f"{SERVER}/{dbname}", scratch)
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
