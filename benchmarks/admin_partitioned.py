"""The event and audit-log changelists at 5M rows, on plain tables (0005) and after the conversion (0006), in turns.

    .venv/bin/python benchmarks/admin_partitioned.py [--events 5000000] [--audit 5000000] [--repeat 7]

Makes its own database on the server of ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), migrated to 0005 (``migrate``, then
``migrate ecomind_core 0005_audit_log_append_only_per_statement``: plain
tables), filled with INSERT ... SELECT generate_series: --events events
spread over the last two years up to now (benchmarks/partition_data.py,
migration_locks.py's data) and --audit audit rows (admin_changelist.py's
statement, from 2024-01-01, 13 s apart). A staff member signs in there.
The database is then copied (CREATE DATABASE ... TEMPLATE) and the copy
migrated to 0006 (monthly partitions; the command, in this process): two
databases holding the same rows, one plain, one partitioned, as 0006
leaves it (no ANALYZE after).

Each page is viewed through Django's test client, as admin_changelist.py
does, alternately on the two databases (the connection is switched and
opened before each timed view), so both meet the same load on this shared
machine; best of --repeat views, after a warm-up round. Pages: events
(plain, the last 30 days, one exact event id, a page from the middle with
keyset paging, the oldest page) and audit logs (plain, filtered by action,
one exact audit id). Prints per page the plain and partitioned times and
their ratio: the goal (issue #19) is at most 1.2x each. Then the EXPLAIN
ANALYZE of the date-filtered events query (as the page ran it) on the
partitioned database, and which partitions it read. Not part of the test
suite; about 10 minutes and 8 GB at 5M rows a table, dropped at the end,
also on failure or Ctrl-C.
"""

import argparse
import datetime
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from admin_changelist import AUDIT, EVENTS, FILL, ROOT, row_id  # noqa: E402
from migration_locks import APP, SERVER  # noqa: E402
from partition_data import admin, clone, fill_recent, now_utc, scratch_database, timeline  # noqa: E402

BEFORE = "0005_audit_log_append_only_per_statement"
CONVERSION = "0006_monthly_partitions"
GOAL = 1.2
PERIOD = "30d"
AUDIT_USERS = 20_000


def fill_audit(url, rows, chunk=1_000_000):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for first in range(1, rows + 1, chunk):
            conn.execute(FILL["audit_logs"].replace("{schema}", "public"),
                         {"start": first, "stop": min(first + chunk - 1, rows), "users": AUDIT_USERS})
        conn.execute("VACUUM ANALYZE audit_logs")


def pages(url, events):
    import psycopg

    middle = events // 2
    with psycopg.connect(url) as conn:
        [ts] = conn.execute("SELECT ts FROM events_enriched WHERE id = %s", [row_id("evt", middle)]).fetchone()
    position = f"{ts.replace(tzinfo=datetime.UTC).isoformat()}|{row_id('evt', middle)}"
    return [
        ("events", EVENTS, None),
        (f"events, the last {PERIOD[:-1]} days", EVENTS + "?" + urlencode({"period": PERIOD}), None),
        ("events, one exact event id", EVENTS + "?" + urlencode({"q": row_id("evt", 500)}), row_id("evt", 500)),
        ("events, a page mid-table (keyset)", EVENTS + "?" + urlencode({"older": position}),
         row_id("evt", middle - 1)),
        ("events, the oldest page", EVENTS + "?oldest=", row_id("evt", 0)),
        ("audit logs", AUDIT, None),
        ("audit logs, filtered by action", AUDIT + "?action=export", None),
        ("audit logs, one exact audit id", AUDIT + "?" + urlencode({"q": row_id("audit", 500)}), row_id("audit", 500)),
    ]


def use(dbname):
    """Point the test client's connection at ``dbname``, and open it (not part of the timed view)."""
    from django.db import connections

    connection = connections["default"]
    if connection.settings_dict["NAME"] != dbname:
        connection.close()
        connection.settings_dict["NAME"] = dbname
    connection.ensure_connection()


def time_pages(client, databases, page_list, repeat):
    """Each page's best of ``repeat`` views per database, the databases taking turns: ``{db: {page: seconds}}``."""
    from django.contrib.admin.utils import quote

    for dbname in databases.values():  # warm-up: every page once, and each shows the rows it should
        use(dbname)
        for name, url, expected in page_list:
            response = client.get(url)
            assert response.status_code == 200 and b'id="result_list"' in response.content, (dbname, name)
            # In a change link the admin writes "_" as "_5F" (django.contrib.admin.utils.quote).
            assert expected is None or any(text.encode() in response.content for text in (expected, quote(expected))), (
                dbname, name, expected)
    timings = {label: {name: [] for name, _, _ in page_list} for label in databases}
    for name, url, _ in page_list:
        for _ in range(repeat):
            for label, dbname in databases.items():
                use(dbname)
                started = time.perf_counter()
                response = client.get(url)
                timings[label][name].append(time.perf_counter() - started)
                assert response.status_code == 200
    return {label: {name: min(samples) for name, samples in by_page.items()} for label, by_page in timings.items()}


def explain_period(client, dbname, url):
    """The events query of the date-filtered page, as it ran on ``dbname``, and its EXPLAIN ANALYZE."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    use(dbname)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    queries = [q["sql"] for q in captured.captured_queries
               if '"events_enriched"' in q["sql"] and '"ts" >=' in q["sql"] and "LIMIT" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + queries[0])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT relid::text FROM pg_partition_tree('events_enriched') WHERE isleaf ORDER BY 1")
        every = [row[0] for row in cursor.fetchall()]
    return queries[0], plan, every


def explain_closed_month(dbname, month):
    """The same query for one whole past month (an upper bound too), which the admin's periods never ask."""
    from django.db import connection

    from ecomind_core.models import Event

    use(dbname)
    following = datetime.datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=datetime.UTC)
    query = Event.objects.filter(ts__gte=month, ts__lt=following).order_by("-ts", "-id")[:51]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--audit", type=int, default=5_000_000)
    parser.add_argument("--users", type=int, default=40_000)
    parser.add_argument("--orgs", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    with scratch_database("bench_admin_partitioned") as (plain, also_drop):
        os.environ.update(DATABASE_URL=f"{SERVER}/{plain}", DEBUG="true", SECRET_KEY="benchmark-only",
                          ALLOWED_HOSTS="testserver", DJANGO_SETTINGS_MODULE="ecomind.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connections
        from django.test import Client

        try:
            call_command("migrate", verbosity=0)
            call_command("migrate", APP, BEFORE, verbosity=0)
            first, step = timeline(args.events, now_utc() - datetime.timedelta(days=730))
            started = time.perf_counter()
            fill_recent(f"{SERVER}/{plain}", args.events, args.users, args.orgs, first, step)
            fill_audit(f"{SERVER}/{plain}", args.audit)
            fill_seconds = time.perf_counter() - started
            print(f"filled {args.events:,} events and {args.audit:,} audit rows in {fill_seconds:.0f}s",
                  file=sys.stderr)
            client = Client()
            client.force_login(get_user_model().objects.create_superuser("bench", password="bench-only"))
            connections.close_all()

            partitioned = f"{plain}_partitioned"
            also_drop.append(partitioned)
            clone(plain, partitioned)  # the session of the sign-in is copied too
            connections["default"].settings_dict["NAME"] = partitioned
            started = time.perf_counter()
            call_command("migrate", APP, CONVERSION, verbosity=0)
            migrate_seconds = time.perf_counter() - started
            connections.close_all()
            print(f"0006 applied on the copy in {migrate_seconds:.0f}s", file=sys.stderr)
            with admin(partitioned) as conn:
                kinds = dict(conn.execute("SELECT relname, relkind::text FROM pg_class WHERE relname IN "
                                          "('events_enriched', 'audit_logs')").fetchall())
            with admin(plain) as conn:
                kinds_plain = dict(conn.execute("SELECT relname, relkind::text FROM pg_class WHERE relname IN "
                                                "('events_enriched', 'audit_logs')").fetchall())
            assert set(kinds.values()) == {"p"} and set(kinds_plain.values()) == {"r"}, (kinds, kinds_plain)

            page_list = pages(f"{SERVER}/{plain}", args.events)
            timings = time_pages(client, {"plain": plain, "partitioned": partitioned}, page_list, args.repeat)
            sql, plan, every = explain_period(client, partitioned, page_list[1][1])
            last_year = now_utc().replace(day=1, hour=0, minute=0, second=0) - datetime.timedelta(days=365)
            month = last_year.replace(day=1, tzinfo=datetime.UTC)
            closed_plan = explain_closed_month(partitioned, month)
            connections.close_all()
        finally:
            connections.close_all()

    before, after = timings["plain"], timings["partitioned"]
    print(f"\n{args.events:,} events (ts {first:%Y-%m-%d} to now) and {args.audit:,} audit rows, filled in "
          f"{fill_seconds:.0f}s; 0006 applied on the copy in {migrate_seconds:.0f}s. Best of {args.repeat} views each, "
          f"the two databases in turns.\n")
    print(f"{'page':36} {'plain (0005)':>13} {'partitioned':>12}   ratio  <= {GOAL}x")
    for name, _, _ in page_list:
        ratio = after[name] / before[name]
        print(f"{name:36} {before[name] * 1000:>10.1f} ms {after[name] * 1000:>9.1f} ms {ratio:>7.2f}x  "
              f"{'yes' if ratio <= GOAL else 'NO'}")
    missed = [name for name, _, _ in page_list if after[name] / before[name] > GOAL]
    print(f"\nGoal: each page at most {GOAL}x: {'met' if not missed else 'NOT met for ' + ', '.join(missed)}.")
    print(f"\nThe date-filtered events query ({page_list[1][0]}) after the conversion:\n{sql}\n\n{plan}")
    nodes = [(m[1], "never executed" in line) for line in plan.splitlines()
             if (m := re.search(r" on (events_enriched_\w+)", line))]
    scanned = sorted({name for name, _ in nodes})
    read = sorted({name for name, never in nodes if not never})
    pruned = [name for name in every if name not in scanned]
    print(f"\npartitions of events_enriched: {len(every)}; in the plan: {', '.join(scanned)}; read: {', '.join(read)}; "
          f"pruned at planning: {', '.join(pruned) or 'none'}.")
    print("(the admin's periods have no upper bound, so every partition from the period's start on stays in the plan; "
          "right after the conversion all older rows are in the legacy partition.)")
    print(f"\nFor comparison, the same query for one whole past month, {month:%Y-%m} (ts >= its start AND ts < the "
          f"next), on the partitioned database:\n\n{closed_plan}")
    in_closed = sorted(set(re.findall(r" on (events_enriched_\w+)", closed_plan)))
    print(f"\npartitions in the plan: {', '.join(in_closed)}; pruned at planning: "
          f"{', '.join(name for name in every if name not in in_closed) or 'none'}.")


if __name__ == "__main__":
    main()
