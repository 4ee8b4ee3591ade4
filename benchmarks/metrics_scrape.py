"""What one /metrics scrape costs at 30,000 and at 30,000,000 events, in one run.

    .venv/bin/python benchmarks/metrics_scrape.py [--small 30000] [--big 30000000] [--rounds 5] [--scrapes 20]

Makes two scratch databases on the server of ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432), migrated by the project, and fills them
with set-based SQL (INSERT ... SELECT generate_series; the events' indexes
are dropped for the fill and built again after it, then VACUUM ANALYZE):

* events on one timeline: event i is ``now - 10 s - i * 86.4 ms`` (the rate
  of 30M events in 30 days, about 694 a minute); the small database holds the
  newest --small of them, the big one --big. Both have the same events in the
  last five minutes, so what differs is only how much history lies behind
  (before each turn both get the events and audit rows due since their
  last ones, as the worker and staff go on writing);
* audit rows on one timeline too, one every 2.6 s (1,000,000 over 30 days in
  the big one, the newest 1,000 in the small one): staff changes, 5 % failed
  sign-ins, 0.5 % lockouts, an hourly ``schema.verify`` verdict (with 40
  findings) and a nightly ``rollups.verify`` verdict.

Then ``GET /metrics`` (with its bearer token, through Django's test client,
in a process of its own per database) is timed in turns on the two (each
turn a warm-up and --scrapes scrapes; --rounds turns), with the statements
each scrape sends (Django's query log), and each statement's plan at the big
size (EXPLAIN ANALYZE BUFFERS: shared pages touched). Prints the medians and
their ratio. Drops both databases at the end. Not part of the test suite; at
30M about 9 GB of disk and 15 to 25 minutes on a 2-core machine.
"""

import argparse
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
TOKEN = "benchmark-metrics-token-0123456789"
EVENT_STEP_MS = 86.4
AUDIT_STEP_S = 2.592
AUDIT_PER_EVENT = 1 / 30  # 1M audit rows beside 30M events

EVENTS = """
INSERT INTO events_enriched (id, org_id, user_id, provider, model, tokens_in, tokens_out, node_type, region,
                             kwh, water_l, co2_kg, ts, source, metadata, created_at)
SELECT 'evt_' || lpad(to_hex(i), 24, '0'), 'org_' || lpad(to_hex(i %% 100), 12, '0'),
       'user_' || lpad(to_hex(i %% 2000), 12, '0'), (ARRAY['openai', 'anthropic', 'google'])[1 + i %% 3],
       'model-' || (i %% 7), 500, 200, 'gpu-h100', 'eu-west-1',
       0.0001 + (i %% 1000) * 1e-6, (0.0001 + (i %% 1000) * 1e-6) * 1.8, (0.0001 + (i %% 1000) * 1e-6) * 0.4,
       %(newest)s - i * interval '86.4 milliseconds', 'gateway', NULL, now()
FROM generate_series(%(first)s::bigint, %(last)s::bigint) i"""

AUDIT = """
INSERT INTO audit_logs (id, org_id, user_id, action, resource, details, ts)
SELECT 'audit_' || lpad(to_hex(i), 24, '0'), 'system', NULL,
       CASE WHEN i %% 200 = 0 THEN 'auth.lockout' WHEN i %% 20 = 0 THEN 'auth.login_failed' ELSE 'admin.change' END,
       'admin', '{"username": "someone", "address": "203.0.113.7"}'::json,
       %(newest)s - i * interval '2.592 seconds'
FROM generate_series(1, %(rows)s::bigint) i"""

FINDINGS = json.dumps([{"kind": "table_unowned", "object": f"other_{n}", "expected": "absent", "actual": "present",
                        "severity": "warning", "hint": "left untouched", "table": f"other_{n}"} for n in range(40)])
VERDICTS = """
INSERT INTO audit_logs (id, org_id, user_id, action, resource, details, ts)
SELECT 'audit_v' || lpad(to_hex(h), 23, '0'), 'system', NULL, 'schema.verify', 'schema',
       json_build_object('verdict', 'match', 'errors', 0, 'warnings', 40, 'strict', false,
                         'findings', %(findings)s::json, 'findings_omitted', 0),
       %(newest)s - h * interval '1 hour'
FROM generate_series(0, %(hours)s::bigint) h;
INSERT INTO audit_logs (id, org_id, user_id, action, resource, details, ts)
SELECT 'audit_r' || lpad(to_hex(d), 23, '0'), 'system', NULL, 'rollups.verify', 'rollups',
       json_build_object('verdict', 'clean', 'divergent_rows', 0, 'days_checked', 30), %(newest)s - d * interval '1 day'
FROM generate_series(0, %(days)s::bigint) d"""


def manage_env(dbname):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_SETTINGS"))}
    env.update(DEBUG="true", SECRET_KEY="benchmark-only", DATABASE_URL=f"{SERVER}/{dbname}", METRICS_TOKEN=TOKEN)
    return env


def build(dbname, events):
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input"], env=manage_env(dbname), check=True,
                   capture_output=True)
    started = time.monotonic()
    with psycopg.connect(f"{SERVER}/{dbname}", autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        newest = conn.execute("SELECT (now() AT TIME ZONE 'UTC') - interval '10 seconds'").fetchone()[0]
        indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events_enriched' "
                               "AND indexname NOT LIKE '%%pkey'").fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        batch = 5_000_000
        for first in range(1, events + 1, batch):
            conn.execute(EVENTS, {"newest": newest, "first": first, "last": min(first + batch - 1, events)})
        for _, definition in indexes:
            conn.execute(definition)
        audit_rows = max(1000, int(events * AUDIT_PER_EVENT))
        conn.execute(AUDIT, {"newest": newest, "rows": audit_rows})
        span_hours = int(audit_rows * AUDIT_STEP_S // 3600)
        for statement in VERDICTS.split(";"):
            conn.execute(statement, {"newest": newest, "findings": FINDINGS, "hours": span_hours, "days": span_hours // 24})
        conn.execute("VACUUM ANALYZE events_enriched")
        conn.execute("VACUUM ANALYZE audit_logs")
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    return time.monotonic() - started, audit_rows, size, newest


MEASURE = """
import json, sys, time, django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client, times, statements = Client(), [], None
auth = {"HTTP_AUTHORIZATION": "Bearer " + sys.argv[1]}
for _ in range(3):
    assert client.get("/metrics", **auth).status_code == 200
for _ in range(int(sys.argv[2])):
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get("/metrics", **auth)
        times.append(time.perf_counter() - started)
    assert response.status_code == 200 and b"ecomind_database_up 1.0" in response.content
    statements = [q["sql"] for q in queries.captured_queries]
print(json.dumps({"times": times, "statements": statements, "body": response.content.decode()}))
"""


def write_since(dbname, since, turn):
    """The events and audit rows of the timeline from ``since`` up to now, as the worker and staff go on writing.

    The fill's timeline ends when its database was filled; the scrapes come
    minutes later. Before each turn both databases get the rows due since
    their last ones, so the scrape's windows (5 minutes of events, 15 of
    sign-ins) hold what they would in production: about 3,500 events and 350
    audit rows, the newest on pages not yet marked all-visible. Returns the
    new end of the timeline.
    """
    with psycopg.connect(f"{SERVER}/{dbname}", autocommit=True) as conn:
        newest = conn.execute("SELECT (now() AT TIME ZONE 'UTC') - interval '1 second'").fetchone()[0]
        gap = (newest - since).total_seconds()
        tail = f"t{turn}"
        events, audit = int(gap * 1000 / EVENT_STEP_MS), int(gap / AUDIT_STEP_S)
        if events:
            conn.execute(EVENTS.replace("'evt_' || lpad(to_hex(i), 24, '0')", f"'evt_{tail}' || lpad(to_hex(i), 22, '0')"),
                         {"newest": newest, "first": 0, "last": events - 1})
        if audit:
            conn.execute(AUDIT.replace("'audit_' || lpad(to_hex(i), 24, '0')", f"'audit_{tail}' || lpad(to_hex(i), 22, '0')")
                         .replace("generate_series(1,", "generate_series(0,").replace("%(rows)s::bigint)", "%(rows)s::bigint - 1)"),
                         {"newest": newest, "rows": audit})
    return newest


def measure(dbname, scrapes):
    env = {**manage_env(dbname), "DJANGO_SETTINGS_MODULE": "ecomind.settings"}
    ran = subprocess.run([sys.executable, "-c", MEASURE, TOKEN, str(scrapes)], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(ran.stdout)


def plan_buffers(dbname, statements):
    """Shared buffers each SELECT of a scrape touches (EXPLAIN ANALYZE BUFFERS), with its top plan node."""
    rows = []
    with psycopg.connect(f"{SERVER}/{dbname}", autocommit=True) as conn:
        for statement in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            [[plan]] = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement.replace("%", "%%")).fetchall()
            top = plan[0]["Plan"]
            nodes, stack = [], [top]
            while stack:
                node = stack.pop()
                nodes.append(node["Node Type"] + (f" on {node['Index Name']}" if "Index Name" in node else "")
                             + (f" on {node['Relation Name']}" if "Relation Name" in node and "Index Name" not in node else ""))
                stack.extend(node.get("Plans", []))
            buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
            rows.append((statement[:110], buffers, ", ".join(n for n in nodes if " on " in n)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=30_000)
    parser.add_argument("--big", type=int, default=30_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    small, big = f"bench_metrics_small_{suffix}", f"bench_metrics_big_{suffix}"
    try:
        written_until = {}
        for name, events in ((small, args.small), (big, args.big)):
            seconds, audit_rows, size, written_until[name] = build(name, events)
            print(f"built {events:,} events and {audit_rows:,} audit rows in {seconds:.0f} s ({size})", flush=True)
        times = {small: [], big: []}
        statements, last_body = {}, {}
        for turn in range(args.rounds):
            for name in (small, big):
                written_until[name] = write_since(name, written_until[name], turn)
                result = measure(name, args.scrapes)
                times[name] += result["times"]
                statements[name] = result["statements"]
                last_body[name] = result["body"]
        print()
        print(f"GET /metrics, {args.rounds} turns x {args.scrapes} scrapes per database, alternating:")
        print("| events | median | p95 | max | statements per scrape |")
        print("|---|---|---|---|---|")
        for name, events in ((small, args.small), (big, args.big)):
            ordered = sorted(times[name])
            p95 = ordered[int(len(ordered) * 0.95) - 1]
            print(f"| {events:,} | {statistics.median(ordered) * 1000:.1f} ms | {p95 * 1000:.1f} ms | "
                  f"{ordered[-1] * 1000:.1f} ms | {len(statements[name])} |")
        ratio = statistics.median(times[big]) / statistics.median(times[small])
        print(f"\nbig/small median: {ratio:.2f}x; statements the same at both sizes: {statements[small] == statements[big] or 'text differs only in timestamps' if len(statements[small]) == len(statements[big]) else 'NO'}")
        print("\nWhat the last scrape of each said:")
        for name, events in ((small, args.small), (big, args.big)):
            shown = [line for line in last_body[name].splitlines()
                     if line.startswith(("ecomind_events_per_minute", "ecomind_newest_event", "ecomind_signin", "ecomind_schema_errors"))]
            print(f"  {events:,} events: " + "; ".join(shown))
        print(f"\nEach statement at {args.big:,} events (EXPLAIN ANALYZE BUFFERS):")
        print("| statement | shared buffers | index or table read |")
        print("|---|---|---|")
        for statement, buffers, nodes in plan_buffers(big, statements[big]):
            print(f"| `{statement}` | {buffers} | {nodes} |")
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            for name in (small, big):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
