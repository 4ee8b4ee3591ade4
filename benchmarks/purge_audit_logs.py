"""Time purge_audit_logs deleting 1M of 3M audit rows against a plain DELETE of the same rows, in one run.

    .venv/bin/python benchmarks/purge_audit_logs.py [--rows 3000000] [--purged 1000000] [--repeat 1]

Makes a scratch database on the server of ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), migrates it, fills audit_logs with
INSERT ... SELECT generate_series and VACUUM ANALYZEs it, then times, each
on its own fresh copy of that database (CREATE DATABASE ... TEMPLATE):

* the baseline: a plain ``DELETE`` of the rows the purge deletes, with the
  append-only trigger disabled, in one transaction;
* ``purge_audit_logs --before`` (the command, in this process), with the
  statement-level trigger of migration 0005;
* the same purge with the row-level trigger it replaced (the copy migrated
  back to 0004), for the record.

Prints each against the baseline: the goal is at most 2x. Not part of the
test suite; takes a few minutes and a few GB of disk, dropped at the end.
"""

import argparse
import datetime
import io
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("ECOMIND_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
START, STEP = datetime.datetime(2024, 1, 1), datetime.timedelta(seconds=13)
FILL = """
    INSERT INTO audit_logs (id, org_id, user_id, action, resource, details, ts)
    SELECT 'audit_' || lpad(to_hex(i), 24, '0'), 'org_' || lpad(to_hex(i %% 500), 12, '0'),
           'user_' || lpad(to_hex(i %% 20000), 12, '0'), (ARRAY['login','export','update','invite'])[1 + i %% 4],
           (ARRAY['org','user','report','api_key'])[1 + i %% 4], json_build_object('n', i),
           timestamp '2024-01-01' + i * interval '13 seconds'
    FROM generate_series(1, %s::bigint) i"""


def admin_connection(dbname="postgres"):
    return psycopg.connect(f"{SERVER}/{dbname}", autocommit=True)


def copy_of(template):
    name = f"{template}_{uuid.uuid4().hex[:6]}"
    with admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def drop(name):
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def warm(dbname, cutoff):
    """Read the table and its ts index once, so that every run starts from the same cache."""
    with admin_connection(dbname) as conn:
        conn.execute("SELECT count(*) FROM audit_logs WHERE ts < %s", [cutoff])
        conn.execute("SELECT count(*) FROM audit_logs")


def plain_delete(dbname, cutoff, kept, trigger):
    with admin_connection(dbname) as conn:
        started = time.perf_counter()
        with conn.transaction():
            conn.execute(f"ALTER TABLE audit_logs DISABLE TRIGGER {trigger}")
            deleted = conn.execute(
                "DELETE FROM audit_logs WHERE ts < %s AND NOT action = ANY(%s)", [cutoff, list(kept)]
            ).rowcount
            conn.execute(f"ALTER TABLE audit_logs ENABLE TRIGGER {trigger}")
        return time.perf_counter() - started, deleted


def purge(dbname, before):
    """The command itself, in this process, on ``dbname``."""
    from django.core.management import call_command
    from django.db import connections

    connections["default"].close()
    connections["default"].settings_dict["NAME"] = dbname
    out = io.StringIO()
    started = time.perf_counter()
    call_command("purge_audit_logs", "--before", before, "--no-input", stdout=out)
    elapsed = time.perf_counter() - started
    connections["default"].close()
    return elapsed, int(out.getvalue().split()[1].replace(",", ""))


def migrate_to(dbname, migration):
    from django.core.management import call_command
    from django.db import connections

    connections["default"].close()
    connections["default"].settings_dict["NAME"] = dbname
    call_command("migrate", "ecomind_core", migration, verbosity=0)
    connections["default"].close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--purged", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    # --before takes a day: the cutoff is the midnight after about --purged rows; rows 1..purged are before it.
    cutoff_day = (START + args.purged * STEP).date()
    purged = (datetime.datetime.combine(cutoff_day, datetime.time()) - START - datetime.timedelta(microseconds=1)) // STEP

    source = f"bench_purge_{uuid.uuid4().hex[:8]}"
    with admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{source}"')
    os.environ.update(
        DATABASE_URL=f"{SERVER}/{source}", DEBUG="true", SECRET_KEY="benchmark-only", DJANGO_SETTINGS_MODULE="ecomind.settings",
    )
    sys.path.insert(0, str(ROOT))
    copies = []
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        from ecomind_core.audit.records import KEPT_FOREVER
        from ecomind_core.models import APPEND_ONLY, AuditLog

        call_command("migrate", verbosity=0)
        connections.close_all()
        started = time.perf_counter()
        with admin_connection(source) as conn:
            conn.execute(FILL, [args.rows])
            conn.execute("VACUUM ANALYZE audit_logs")
        print(f"filled {args.rows:,} audit rows in {time.perf_counter() - started:.0f}s", file=sys.stderr)
        trigger = APPEND_ONLY.get_pgid(AuditLog)
        cutoff = datetime.datetime.combine(cutoff_day, datetime.time())  # naive UTC, as the column holds it

        timings = {"plain DELETE, trigger disabled": [], "purge_audit_logs (statement trigger)": [],
                   "purge_audit_logs (row trigger, 0004)": []}
        for _ in range(args.repeat):
            for name, run in timings.items():
                copies.append(copy := copy_of(source))
                if "0004" in name:
                    migrate_to(copy, "0004")
                warm(copy, cutoff)
                if name.startswith("plain"):
                    elapsed, deleted = plain_delete(copy, cutoff, KEPT_FOREVER, trigger)
                else:
                    elapsed, deleted = purge(copy, cutoff_day.isoformat())
                assert deleted == purged, (name, deleted, purged)
                run.append(elapsed)
                drop(copies.pop())

        baseline = statistics.median(timings["plain DELETE, trigger disabled"])
        print(f"deleting {purged:,} of {args.rows:,} audit rows (median of {args.repeat})")
        print(f"{'how':40} {'time':>10}   vs plain DELETE")
        for name, samples in timings.items():
            value = statistics.median(samples)
            print(f"{name:40} {value:>8.2f} s   {value / baseline:.2f}x")
        connections.close_all()
    finally:
        for name in (*copies, source):
            drop(name)


if __name__ == "__main__":
    main()
