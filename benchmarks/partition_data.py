"""What the three partitioning benchmarks share (issue #19): a scratch database, events up to now, a row checksum.

Not a benchmark. The data is migration_locks.py's (its orgs, users, event
columns and daily tables, through its ``fill`` and statements), with one
change: the events' ``ts`` run up to the present (``--events`` spread over
the given span ending now), because the monthly partitions, the retention
ages and the admin's date periods are all counted from now.
"""

import contextlib
import datetime
import signal
import sys
import uuid

import psycopg

from migration_locks import BATCH, DAILY_KEYS, FILL_EVENTS, SERVER, fill, fill_daily

#: migration_locks' event statement, with the first ts and the step as parameters instead of 2025-01-01 and 13 s.
FILL_RECENT_EVENTS = (FILL_EVENTS.replace("timestamp '2025-01-01'", "%(first)s::timestamp")
                      .replace("interval '13 seconds'", "%(step)s::interval"))
assert FILL_RECENT_EVENTS.count("%(first)s") == 2 and FILL_RECENT_EVENTS.count("%(step)s") == 2


def now_utc():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)


def timeline(events, first, last=None):
    """(first ts, step) putting ``events`` events evenly from ``first`` to ``last`` (default: now)."""
    last = last or now_utc()
    return first, (last - first) / events


def fill_recent(url, events, users, orgs, first, step):
    """migration_locks' orgs, users and daily tables, with ``events`` events at ``first + i * step``; VACUUM ANALYZE."""
    fill(url, 0, users, orgs)  # orgs and users (no events yet: the daily tables stay empty)
    with psycopg.connect(url, autocommit=True) as conn:
        for start in range(0, events, BATCH):
            conn.execute(FILL_RECENT_EVENTS, {"orgs": orgs, "users": users, "start": start,
                                              "stop": min(start + BATCH, events) - 1, "first": first, "step": step})
        for table, keys in DAILY_KEYS.items():
            conn.execute(fill_daily(table, keys))
        conn.execute("VACUUM ANALYZE")


#: Order-independent: count, and the sum of each row's md5 (its first 64 bits). A string_agg of 5M rows
#: would pass PostgreSQL's 1 GB limit.
CHECKSUM_SQL = ("SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint::numeric), 0) "
                "FROM {table} t WHERE {where}")


def checksum(url, table, where="true"):
    with psycopg.connect(url) as conn:
        return tuple(conn.execute(CHECKSUM_SQL.format(table=table, where=where)).fetchone())


def admin(dbname="postgres"):
    return psycopg.connect(f"{SERVER}/{dbname}", autocommit=True)


def wal_lsn(conn):
    return conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]


def wal_bytes(conn, start, end):
    return int(conn.execute("SELECT pg_wal_lsn_diff(%s, %s)", [end, start]).fetchone()[0])


@contextlib.contextmanager
def scratch_database(prefix):
    """A new database named ``<prefix>_<random>``, dropped at the end, also on failure, Ctrl-C or SIGTERM.

    Yields its name; ``also_drop`` (a list, the second item) takes more names to drop at the end (copies).
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # a kill still runs the clean-up
    dbname = f"{prefix}_{uuid.uuid4().hex[:8]}"
    also_drop = []
    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    try:
        yield dbname, also_drop
    finally:
        with admin() as conn:
            for name in (*also_drop, dbname):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clone(template, name):
    """``CREATE DATABASE name TEMPLATE template`` (nobody may be connected to ``template``).

    FILE_COPY: the files are copied, not written through the WAL (PostgreSQL 15's default), which
    is faster and keeps gigabytes of WAL out of the measurements that follow.
    """
    with admin() as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                     "AND pid <> pg_backend_pid()", [template])
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
