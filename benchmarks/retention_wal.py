"""Removing a month of events: `manage.py retention` dropping its partition against DELETE + VACUUM; WAL, time, size.

    .venv/bin/python benchmarks/retention_wal.py [--events 5000000]

Makes its own database on the server of ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), runs ``migrate`` (events_enriched
becomes monthly partitions) and reshapes it as the test fixture
``two_years_on`` (tests/test_partitioning.py) does: the legacy partition is
detached, re-attached with an upper bound 11 months back, and the months in
between get partitions of their own; then --events events are filled from
the start of that month up to now (benchmarks/partition_data.py): about 12
monthly partitions. A copy is made with CREATE DATABASE ... TEMPLATE.

Then the oldest month goes, each way on its own database, after a
CHECKPOINT (so both pay the same full-page images):

(a) ``manage.py retention --events <N>d --no-input`` (a subprocess, as the
    CronJob runs it), N chosen so that the cutoff falls mid-way through the
    second month: exactly the oldest month is detached CONCURRENTLY and
    dropped (the age in days is precise enough; Remover is not called
    directly);
(b) the baseline on the copy: ``DELETE FROM events_enriched WHERE ts >= month
    AND ts < next month`` of the same rows, then ``VACUUM events_enriched``.

For each: WAL bytes (pg_wal_lsn_diff of pg_current_wal_lsn() before and
after), time, and events_enriched's size after (pg_total_relation_size of
every partition). The LSN difference counts the whole cluster's WAL; on a
server shared with other work that is mostly other databases' WAL, so when
the server's pg_wal is readable here (a local server, run as root or
postgres) the WAL records of this benchmark's own database are also
counted with pg_waldump (records naming its relations, and the records of
the transactions that wrote them), and the ratio is taken from those.
Goal (issue #19): at least 100x less WAL for (a). Not part of the test
suite; about 5 minutes and 5 GB at 5M events. The databases are dropped at
the end, also on failure or Ctrl-C.
"""

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # tests.dbtools

from migration_locks import ROOT, SERVER, Project  # noqa: E402
from partition_data import (admin, clone, fill_recent, now_utc, scratch_database, timeline, wal_bytes,  # noqa: E402
                            wal_lsn)
from tests.dbtools import spread_into_months_sql  # noqa: E402

MONTHS = 12

SIZE_SQL = "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('events_enriched')"
PARTITIONS_SQL = ("SELECT relid::text FROM pg_partition_tree('events_enriched') WHERE isleaf ORDER BY relid::text")
_RECORD = re.compile(r"len \(rec/tot\):\s*\d+/\s*(\d+), tx:\s*(\d+),")


def add_months(start, count):
    years, month = divmod(start.month - 1 + count, 12)
    return datetime.datetime(start.year + years, month + 1, 1)


class WalCounter:
    """WAL between two LSNs: the cluster's (pg_wal_lsn_diff), and this database's alone (pg_waldump), if readable."""

    def __init__(self, conn):
        directory = conn.execute("SHOW data_directory").fetchone()[0]
        version = conn.execute("SHOW server_version_num").fetchone()[0][:2]
        self.wal_dir = os.path.join(directory, "pg_wal")
        self.waldump = shutil.which("pg_waldump") or f"/usr/lib/postgresql/{version}/bin/pg_waldump"
        self.usable = (SERVER.split("@")[-1].split(":")[0] in ("127.0.0.1", "localhost")
                       and os.access(self.wal_dir, os.R_OK) and os.access(self.waldump, os.X_OK))

    def of_database(self, oid, start, end):
        """(bytes, records) of WAL records naming a relation of database ``oid``, and of those records' transactions."""
        if not self.usable:
            return None
        done = subprocess.run([self.waldump, "-p", self.wal_dir, "-s", start, "-e", end], capture_output=True,
                              text=True)
        if not done.stdout:
            raise RuntimeError(f"pg_waldump: {done.stderr}")
        ours, transactions, others = 0, set(), []
        marker = f"/{oid}/"
        records = 0
        for line in done.stdout.splitlines():
            match = _RECORD.search(line)
            if not match:
                continue
            if marker in line:
                ours += int(match[1])
                records += 1
                if match[2] != "0":
                    transactions.add(match[2])
            elif match[2] != "0":
                others.append((match[2], int(match[1])))
        for tx, length in others:  # commit records and the like of the transactions that touched the database
            if tx in transactions:
                ours += length
                records += 1
        return ours, records


def measure(url, oid, counter, steps):
    """Run ``steps`` [(label, callable)] after a CHECKPOINT; per step and in all: seconds, cluster WAL, own WAL."""
    results = []
    with admin() as conn:
        conn.execute("CHECKPOINT")
        for label, step in steps:
            start = wal_lsn(conn)
            started = time.perf_counter()
            note = step()
            seconds = time.perf_counter() - started
            end = wal_lsn(conn)
            results.append({"label": label, "seconds": seconds, "cluster": wal_bytes(conn, start, end),
                            "own": counter.of_database(oid, start, end), "note": note})
    with psycopg.connect(url) as conn:
        size = int(conn.execute(SIZE_SQL).fetchone()[0])
    return results, size


def mib(value):
    return f"{value / 2**20:,.1f} MiB" if value >= 2**20 else f"{value / 1024:,.1f} KiB"


def benchmark(args, dbname, also_drop, scratch):
    url = f"{SERVER}/{dbname}"
    project = Project(url, scratch)
    project.manage("migrate", "-v", "0", "--no-input")
    now = now_utc()
    start = add_months(datetime.datetime(now.year, now.month, 1), 1 - MONTHS)
    with psycopg.connect(url, autocommit=True) as conn:
        first = min(name for name in (row[0] for row in conn.execute(PARTITIONS_SQL)) if name[-6:].isdigit())[-6:]
        conn.execute(spread_into_months_sql("events_enriched", start, first))
    started = time.perf_counter()
    fill_recent(url, args.events, args.users, args.orgs, *timeline(args.events, start, now))
    fill_seconds = time.perf_counter() - started
    print(f"filled {args.events:,} events in {fill_seconds:.0f}s", file=sys.stderr)

    oldest, following = start, add_months(start, 1)
    # A cutoff in the middle of the second month: only the oldest month holds nothing but older rows.
    days = (now - (following + datetime.timedelta(days=14))).days
    cutoff = now - datetime.timedelta(days=days)
    assert following <= cutoff < add_months(start, 2), cutoff
    partition = f"events_enriched_p{oldest:%Y%m}"
    with psycopg.connect(url) as conn:
        month_rows = conn.execute(f"SELECT count(*) FROM {partition}").fetchone()[0]
        total = conn.execute("SELECT count(*) FROM events_enriched").fetchone()[0]
        monthly = [name for (name,) in conn.execute(PARTITIONS_SQL) if name[-6:].isdigit()]
        filled_partitions = conn.execute(
            "SELECT count(*) FROM pg_partition_tree('events_enriched') t JOIN pg_class c ON c.oid = t.relid "
            "WHERE t.isleaf AND c.reltuples > 0").fetchone()[0]
        size_before = int(conn.execute(SIZE_SQL).fetchone()[0])

    copy = f"{dbname}_delete"
    also_drop.append(copy)
    clone(dbname, copy)
    with admin() as conn:
        oids = dict(conn.execute("SELECT datname, oid::text FROM pg_database WHERE datname IN (%s, %s)",
                                 [dbname, copy]))
        counter = WalCounter(conn)

    def manage_retention(age):
        def run():
            done = subprocess.run(project.command("retention", "--events", age, "--no-input"), cwd=ROOT,
                                  env=project.environment(), capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"retention exited {done.returncode}:\n{done.stdout}{done.stderr}")
            return done.stdout.strip()
        return run

    print("(a) retention...", file=sys.stderr)
    idle, _ = measure(url, oids[dbname], counter, [("retention, nothing to remove (its own cost)",
                                                    manage_retention("9999d"))])
    retention, size_retention = measure(url, oids[dbname], counter, [
        (f"manage.py retention --events {days}d --no-input", manage_retention(f"{days}d"))])

    def delete():
        with psycopg.connect(f"{SERVER}/{copy}", autocommit=True) as conn:
            deleted = conn.execute("DELETE FROM events_enriched WHERE ts >= %s AND ts < %s", [oldest, following])
            return f"{deleted.rowcount:,} rows"

    def vacuum():
        with psycopg.connect(f"{SERVER}/{copy}", autocommit=True) as conn:
            conn.execute("VACUUM events_enriched")

    print("(b) DELETE + VACUUM...", file=sys.stderr)
    baseline, size_delete = measure(f"{SERVER}/{copy}", oids[copy], counter,
                                    [(f"DELETE of {oldest:%Y-%m}", delete), ("VACUUM events_enriched", vacuum)])

    with psycopg.connect(url) as conn:
        left_a = conn.execute("SELECT count(*) FROM events_enriched").fetchone()[0]
        parts_a = [name for (name,) in conn.execute(PARTITIONS_SQL) if name[-6:].isdigit()]
    with psycopg.connect(f"{SERVER}/{copy}") as conn:
        left_b = conn.execute("SELECT count(*) FROM events_enriched").fetchone()[0]

    print(f"\n{total:,} events from {start:%Y-%m-%d} to now in {filled_partitions} filled monthly partitions "
          f"({len(monthly)} in all, with the empty ones ahead), {mib(size_before)} with indexes; filled in "
          f"{fill_seconds:.0f}s.")
    print(f"Removing the oldest month, {oldest:%Y-%m} ({partition}: {month_rows:,} rows). (a): the command with an age "
          f"in days (cutoff about {cutoff:%Y-%m-%d %H:%M}, mid-{following:%B}): exactly that partition is dropped.\n")
    print(retention[0]["note"].replace("\n", "\n    ").join(("    ", "\n")))
    own = counter.usable
    header = f"{'how':52} {'time':>8} {'WAL, cluster':>14}" + (f" {'WAL, this db':>14} {'records':>9}" if own else "")
    print(header + f" {'size after':>12}")

    def line(result, size=""):
        text = f"{result['label']:52} {result['seconds']:>7.2f}s {mib(result['cluster']):>14}"
        if own:
            text += f" {mib(result['own'][0]):>14} {result['own'][1]:>9,}"
        return text + f" {size:>12}"

    print(line(idle[0]))
    print(line(retention[0], mib(size_retention)))
    for result in baseline:
        print(line(result) + (f"  ({result['note']})" if result["note"] else ""))
    total_b = {"label": "(b) DELETE + VACUUM", "seconds": sum(r["seconds"] for r in baseline),
               "cluster": sum(r["cluster"] for r in baseline),
               "own": (sum(r["own"][0] for r in baseline), sum(r["own"][1] for r in baseline)) if own else None}
    print(line(total_b, mib(size_delete)))
    a, b = retention[0], total_b
    print(f"\nevents left: (a) {left_a:,}, (b) {left_b:,} ({'equal' if left_a == left_b else 'DIFFERENT'}); "
          f"(a) dropped {', '.join(sorted(set(monthly) - set(parts_a))) or 'nothing'}.")
    print(f"size after: (a) {mib(size_retention)}, (b) {mib(size_delete)} (before: {mib(size_before)}).")
    print(f"time: (a) {a['seconds']:.2f}s (of which about {idle[0]['seconds']:.2f}s is the command's start and plan), "
          f"(b) {b['seconds']:.2f}s: (b)/(a) {b['seconds'] / a['seconds']:.2f}x.")
    if own:
        ratio = b["own"][0] / max(a["own"][0], 1)
        print(f"WAL of this database: (a) {mib(a['own'][0])}, (b) {mib(b['own'][0])}: (a) writes {ratio:,.0f}x less.")
        print(f"(the cluster-wide differences also count other databases' WAL written meanwhile on this shared "
              f"server: {mib(a['cluster'])} during (a) and {mib(b['cluster'])} during (b), a ratio of "
              f"{b['cluster'] / max(a['cluster'], 1):,.1f}x)")
    else:
        ratio = b["cluster"] / max(a["cluster"], 1)
        print(f"WAL (cluster-wide, pg_waldump not usable here): (a) {mib(a['cluster'])}, (b) {mib(b['cluster'])}: "
              f"{ratio:,.0f}x")
    print(f"\nGoal: at least 100x less WAL: {'met' if ratio >= 100 else 'NOT met'} ({ratio:,.0f}x).")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--users", type=int, default=40_000)
    parser.add_argument("--orgs", type=int, default=2_000)
    args = parser.parse_args()
    with scratch_database("bench_retention_wal") as (dbname, also_drop), \
            tempfile.TemporaryDirectory(prefix="retention_wal_") as scratch:
        benchmark(args, dbname, also_drop, scratch)


if __name__ == "__main__":
    main()
