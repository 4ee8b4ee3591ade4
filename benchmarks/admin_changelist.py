"""Time what staff do on the audit-log and event changelists, at 1,000 and at 2,000,000 rows, in one run.

    .venv/bin/python benchmarks/admin_changelist.py [--big 2000000] [--repeat 7]

Makes its own scratch database on the server of ECOMIND_BENCH_PG (default
postgres://postgres@127.0.0.1:5432) holding both sizes: the big tables in
``public``, the small ones in schema ``small`` (same columns and indexes),
each filled with INSERT ... SELECT generate_series. Each page is viewed
through Django's test client alternately on the small and the big tables
(the connection's ``search_path`` picks them), so both meet the same load
on this shared machine; the best of --repeat views counts, after a warm-up
round. Pages: the plain and filtered lists, a search for one exact audit
id, event id and user id, a page from the middle of the audit log and its
oldest page. Prints each page's big/small ratio: the goal is at most 2x.
Not part of the test suite; takes a few minutes (20M rows: about 40 minutes
and 13 GB of disk, dropped at the end).
"""

import argparse
import datetime
import os
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("ECOMIND_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
AUDIT, EVENTS = "/admin/ecomind_core/auditlog/", "/admin/ecomind_core/event/"
#: Row i has ts = START + i * STEP; its id, organisation (of 500) and user follow from i. The
#: small table's rows belong to 20 users, the big table's others to 20,000: the user searched
#: (number 19) has a full page of rows at both sizes, so the ratio is the database's, not
#: that of drawing 50 rows against one.
START, STEP = "2024-01-01", 13
SMALL_USERS, BIG_USERS, SEARCHED_USER = 20, 20_000, 19
#: Where each size's tables live.
SCHEMAS = {"small": "small", "big": "public"}

FILL = {
    "audit_logs": """
        INSERT INTO {schema}.audit_logs (id, org_id, user_id, action, resource, details, ts)
        SELECT 'audit_' || lpad(to_hex(i), 24, '0'), 'org_' || lpad(to_hex(i %% 500), 12, '0'),
               'user_' || lpad(to_hex(i %% %(users)s), 12, '0'), (ARRAY['login','export','update','invite'])[1 + i %% 4],
               (ARRAY['org','user','report','api_key'])[1 + i %% 4], json_build_object('n', i),
               timestamp '2024-01-01' + i * interval '13 seconds'
        FROM generate_series(%(start)s::bigint, %(stop)s::bigint) i""",
    "events_enriched": """
        INSERT INTO {schema}.events_enriched (id, org_id, user_id, provider, model, tokens_in, tokens_out, kwh, water_l, co2_kg, ts, created_at)
        SELECT 'evt_' || lpad(to_hex(i), 24, '0'), 'org_' || lpad(to_hex(i %% 500), 12, '0'),
               'user_' || lpad(to_hex(i %% %(users)s), 12, '0'), (ARRAY['openai','anthropic','google'])[1 + i %% 3],
               'model-' || (i %% 7), 500, 200, 0.0017, 0.003, 0.0007,
               timestamp '2024-01-01' + i * interval '13 seconds', now()
        FROM generate_series(%(start)s::bigint, %(stop)s::bigint) i""",
}


def row_id(prefix, i, digits=24):
    return f"{prefix}_{i:0{digits}x}"


def middle_position(rows):
    """The keyset position (``?older=``) of the middle row: a page from the middle of the table."""
    i = rows // 2
    ts = datetime.datetime.fromisoformat(START).replace(tzinfo=datetime.UTC) + datetime.timedelta(seconds=i * STEP)
    return f"{ts.isoformat()}|{row_id('audit', i)}"


def pages(rows):
    """(name, url) of each page timed, for a table of ``rows`` rows; the searched ids exist at any size."""
    return [
        ("audit logs", AUDIT),
        ("audit logs, filtered by action", AUDIT + "?action=export"),
        ("events", EVENTS),
        ("events, filtered by provider", EVENTS + "?provider=openai"),
        ("audit logs, one exact audit id", AUDIT + "?" + urlencode({"q": row_id("audit", 500)})),
        ("events, one exact event id", EVENTS + "?" + urlencode({"q": row_id("evt", 500)})),
        ("events, one user id", EVENTS + "?" + urlencode({"q": row_id("user", SEARCHED_USER, 12)})),
        ("audit logs, a page mid-table", AUDIT + "?" + urlencode({"older": middle_position(rows)})),
        ("audit logs, the oldest page", AUDIT + "?oldest="),
    ]


def fill(dbname, schema, start, stop, users, chunk=1_000_000):
    """Rows start..stop, a million per statement: on this shared server a statement can fail
    for want of shared lock memory that other sessions hold, and is then tried again."""
    with psycopg.connect(f"{SERVER}/{dbname}", autocommit=True) as conn:
        for table, statement in FILL.items():
            for first in range(start, stop + 1, chunk):
                params = {"start": first, "stop": min(first + chunk - 1, stop), "users": users}
                for attempt in range(3):
                    try:
                        conn.execute(statement.replace("{schema}", schema), params)
                        break
                    except psycopg.errors.OutOfMemory:
                        if attempt == 2:
                            raise
                        time.sleep(30)
            conn.execute(f"VACUUM ANALYZE {schema}.{table}")


def use_schema(schema):
    """Point the test client's (persistent) connection at one size's tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {schema}, public")


def time_pages(client, sizes, repeat):
    """Each page's best of ``repeat`` views per size, the sizes taking turns: ``{size: {page: seconds}}``."""
    urls = {size: dict(pages(rows)) for size, rows in sizes.items()}
    for size, schema in SCHEMAS.items():  # warm-up: every page once, caches and all
        use_schema(schema)
        for name, url in urls[size].items():
            response = client.get(url)
            assert response.status_code == 200 and b'id="result_list"' in response.content, (size, name)
        mid_table = client.get(urls[size]["audit logs, a page mid-table"]).content.decode()
        assert row_id("audit", sizes[size] // 2 - 1) in mid_table, f"not the {size} tables"
    timings = {size: {name: [] for name in urls[size]} for size in sizes}
    for name in urls["small"]:
        for _ in range(repeat):
            for size, schema in SCHEMAS.items():
                use_schema(schema)
                started = time.perf_counter()
                response = client.get(urls[size][name])
                timings[size][name].append(time.perf_counter() - started)
                assert response.status_code == 200
    return {size: {name: min(samples) for name, samples in by_page.items()} for size, by_page in timings.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--big", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    dbname = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    os.environ.update(
        DATABASE_URL=f"{SERVER}/{dbname}", DEBUG="true", SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS="testserver", DJANGO_SETTINGS_MODULE="ecomind.settings",
    )
    sys.path.insert(0, str(ROOT))
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connections
        from django.test import Client

        call_command("migrate", verbosity=0)
        with psycopg.connect(f"{SERVER}/{dbname}", autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {SCHEMAS['small']}")
            for table in FILL:
                conn.execute(f"CREATE TABLE {SCHEMAS['small']}.{table} (LIKE public.{table} INCLUDING ALL)")
        client = Client()
        client.force_login(get_user_model().objects.create_superuser("bench", password="bench-only"))

        started = time.perf_counter()
        fill(dbname, SCHEMAS["small"], 1, args.small, SMALL_USERS)
        fill(dbname, SCHEMAS["big"], 1, args.small, SMALL_USERS)
        fill(dbname, SCHEMAS["big"], args.small + 1, args.big, BIG_USERS)
        with psycopg.connect(f"{SERVER}/{dbname}") as conn:
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
        print(f"filled {args.big:,} rows per table in {time.perf_counter() - started:.0f}s ({size})", file=sys.stderr)
        timings = time_pages(client, {"small": args.small, "big": args.big}, args.repeat)

        small, big = timings["small"], timings["big"]
        print(f"{'page':34} {args.small:>12,} rows {args.big:>12,} rows   ratio")
        for page in small:
            print(f"{page:34} {small[page] * 1000:>12.1f} ms {big[page] * 1000:>12.1f} ms   {big[page] / small[page]:.2f}x")
        connections.close_all()
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
