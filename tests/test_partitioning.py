"""Monthly partitions of events_enriched and audit_logs, as operators meet them: real processes, real PostgreSQL.

Migration 0006 converts both tables online beside a writer that runs the
worker's own statements, keeping every row (checksums); it can be
interrupted and re-run, and rolled back to plain tables holding the same
rows. ``maintain_partitions`` keeps months ready ahead; ``retention`` drops
exactly the partitions older than its cutoff and trims the legacy one;
``verify_schema`` knows the partitioned shape, and what can go wrong in it.
"""

import datetime
import json
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from ecomind_core.partitions.months import add_months, month_start
from tests import dbtools
from tests.dbtools import manage
from tests.test_baseline import build
from tests.test_worker_writes import EVENT_SQL, UPSERTS

PARTITIONED = ("events_enriched", "audit_logs")
BEFORE = "0005_audit_log_append_only_per_statement"
#: Rows the writer thread marks as its own (the worker's INSERT takes metadata as given).
WRITER_MARK = '{"writer": true}'
#: Every row but the audit rows migrate and rollback write about themselves.
NOT_MIGRATES_OWN = {"audit_logs": "action NOT LIKE 'schema.%'"}


def relkind(dbname, table):
    return dbtools.execute(dbname, "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])[0][0]


def partition_names(dbname, table):
    rows = dbtools.execute(dbname, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                   "WHERE i.inhparent = to_regclass(%s) ORDER BY 1", [table])
    return [name for (name,) in rows]


def rows_checksum(dbname, table, where="true"):
    """Count and md5 of the rows of ``table`` matching ``where``, in a stable order."""
    return tuple(dbtools.execute(
        dbname, f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t WHERE {where}",
    )[0])


def assert_ok(result, *mentions, code=0):
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for mention in mentions:
        assert mention in result.stdout + result.stderr, result.stdout + result.stderr


def fill(dbname, events=20_000):
    """Events over the last two years and audit rows over three, as the worker and the admin write them."""
    dbtools.execute(dbname, f"""
        INSERT INTO events_enriched (id, org_id, user_id, provider, model, kwh, water_l, co2_kg, ts, source, metadata)
        SELECT 'evt_' || i, 'org_' || (i % 20), 'user_' || (i % 200), 'openai', 'gpt-4o', i * 1e-6, i * 2e-6, i * 4e-7,
               now() AT TIME ZONE 'UTC' - (i * interval '2 years' / {events}), 'gateway', ('{{"i": ' || i || '}}')::json
        FROM generate_series(1, {events}) i;
        INSERT INTO audit_logs (id, org_id, user_id, action, resource, details, ts)
        SELECT 'audit_' || i, 'org_' || (i % 20), NULL, 'admin.change', 'org', '{{}}', now() AT TIME ZONE 'UTC' - i * interval '1 day'
        FROM generate_series(1, 1100) i;
    """)


@pytest.fixture(scope="module")
def plain_template(migrated_template):
    """A database at migration 0005 (plain tables) holding rows, to clone from."""
    name = dbtools.clone_database(migrated_template, "plain")
    assert_ok(manage("migrate", "ecomind_core", BEFORE, "--no-input", database=name))
    assert relkind(name, "events_enriched") == "r"
    fill(name)
    yield name
    dbtools.drop_database(name)


@pytest.fixture
def plain_db(plain_template):
    name = dbtools.clone_database(plain_template)
    yield name
    dbtools.drop_database(name)


class Writer(threading.Thread):
    """The enrichment worker's statements, one event per transaction, until stopped: errors and times kept."""

    def __init__(self, dbname):
        super().__init__(daemon=True)
        self.dbname, self.stop, self.errors, self.committed, self.worst = dbname, threading.Event(), [], 0, 0.0

    def run(self):
        with psycopg.connect(dbtools.url(self.dbname)) as conn:
            while not self.stop.is_set():
                now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
                event = {"org": "org_w", "user": "user_w", "provider": "openai", "model": "gpt-4o", "tin": 10, "tout": 20,
                         "kwh": 1e-4, "water": 2e-4, "co2": 4e-5, "ts": now, "metadata": WRITER_MARK,
                         "date": now.date(), "org_id": "org_w", "user_id": "user_w"}
                started = time.monotonic()
                try:
                    with conn.transaction():
                        conn.execute(EVENT_SQL, event)
                        for statement in UPSERTS:
                            conn.execute(statement, event)
                    self.committed += 1
                except psycopg.Error as exc:
                    self.errors.append(str(exc))
                self.worst = max(self.worst, time.monotonic() - started)
                time.sleep(0.005)


# -- the conversion ---------------------------------------------------------------------------------
def test_conversion_beside_the_worker_keeps_every_row_and_no_insert_fails(plain_db):
    before = {table: rows_checksum(plain_db, table, NOT_MIGRATES_OWN.get(table, "true")) for table in PARTITIONED}
    assert_ok(manage("verify_schema", database=plain_db))
    writer = Writer(plain_db)
    writer.start()
    try:
        while writer.committed < 20 and not writer.errors:
            time.sleep(0.05)
        during = writer.committed
        result = manage("migrate", "--no-input", database=plain_db)
    finally:
        writer.stop.set()
        writer.join(30)
    assert_ok(result, "Applying ecomind_core.0006_monthly_partitions... OK")
    assert writer.errors == [] and writer.committed > during
    for table in PARTITIONED:
        assert relkind(plain_db, table) == "p"
        assert f"{table}_legacy" in partition_names(plain_db, table)
    not_written_by_writer = "metadata::text IS DISTINCT FROM '" + WRITER_MARK + "'"
    assert rows_checksum(plain_db, "events_enriched", not_written_by_writer) == before["events_enriched"]
    assert rows_checksum(plain_db, "events_enriched", "NOT (" + not_written_by_writer + ")")[0] == writer.committed
    assert rows_checksum(plain_db, "audit_logs", NOT_MIGRATES_OWN["audit_logs"]) == before["audit_logs"]
    assert_ok(manage("verify_schema", database=plain_db), "the schema matches")


def beside_an_export(dbname, command):
    """``command`` run while a long transaction ('nightly-export') has read events: its swap waits past every retry."""
    with dbtools.connect(dbname) as blocker:
        blocker.execute("SET application_name = 'nightly-export'")
        blocker.execute("BEGIN")
        blocker.execute("SELECT count(*) FROM events_enriched")
        held = manage(command, "--no-input", "--lock-timeout", "1s", "--lock-retries", "1", database=dbname,
                      env={"MIGRATION_LOCK_RETRY_WAIT": "100ms"})
        blocker.execute("ROLLBACK")
    return held


def test_a_swap_held_up_by_a_long_transaction_names_it_and_a_rerun_finishes(plain_db):
    before = rows_checksum(plain_db, "events_enriched")
    held = beside_an_export(plain_db, "migrate")
    assert_ok(held, "nightly-export", code=3)
    assert relkind(plain_db, "events_enriched") == "r" and rows_checksum(plain_db, "events_enriched") == before
    # What the try left (here the unique index built concurrently; the bound's CHECK waited for the lock) is the
    # migration's own: the re-run's drift check lets it pass, and the re-run keeps it.
    assert dbtools.execute(plain_db, "SELECT to_regclass('events_enriched_legacy_pkey')")[0][0]
    assert_ok(manage("migrate", "--no-input", database=plain_db), "earlier try left part of it")
    assert relkind(plain_db, "events_enriched") == "p" and rows_checksum(plain_db, "events_enriched") == before
    assert_ok(manage("verify_schema", database=plain_db), "the schema matches")


def test_rollback_leaves_plain_tables_with_the_same_rows_and_forward_again(plain_db):
    assert_ok(manage("migrate", "--no-input", database=plain_db))
    # Rows of months after the conversion, in the monthly partitions.
    dbtools.execute(plain_db, """
        INSERT INTO events_enriched (id, org_id, user_id, provider, kwh, water_l, co2_kg, ts)
        SELECT 'evt_future_' || i, 'org_1', 'user_1', 'openai', 1, 2, 3, date_trunc('month', now()) + interval '2 months'
               + i * interval '1 hour' FROM generate_series(1, 500) i""")
    assert len(partition_names(plain_db, "events_enriched")) > 2
    rows = {table: rows_checksum(plain_db, table, NOT_MIGRATES_OWN.get(table, "true")) for table in PARTITIONED}
    dry = manage("rollback", "--dry-run", database=plain_db)
    assert_ok(dry, "unapply ecomind_core.0006_monthly_partitions", "destroys no data", "DETACH PARTITION")
    assert_ok(manage("rollback", "--no-input", database=plain_db), "Rolled back 1 migrations")
    for table in PARTITIONED:
        assert relkind(plain_db, table) == "r" and partition_names(plain_db, table) == []
        assert rows_checksum(plain_db, table, NOT_MIGRATES_OWN.get(table, "true")) == rows[table]
    assert_ok(manage("verify_schema", "--at", f"ecomind_core.{BEFORE}", database=plain_db), "the schema matches")
    assert_ok(manage("migrate", "--no-input", database=plain_db))
    assert relkind(plain_db, "events_enriched") == "p" and rows_checksum(plain_db, "events_enriched") == rows["events_enriched"]
    assert_ok(manage("verify_schema", database=plain_db), "the schema matches")


def test_a_rollback_held_up_by_a_long_transaction_names_it_and_a_rerun_finishes(plain_db):
    assert_ok(manage("migrate", "--no-input", database=plain_db))
    rows = rows_checksum(plain_db, "events_enriched")
    held = beside_an_export(plain_db, "rollback")
    assert_ok(held, "nightly-export", code=3)
    # The way back's first step (a unique index on id, built concurrently) stays; the tables are still partitioned.
    assert relkind(plain_db, "events_enriched") == "p" and rows_checksum(plain_db, "events_enriched") == rows
    assert_ok(manage("rollback", "--no-input", database=plain_db), "Rolled back 1 migrations")
    assert relkind(plain_db, "events_enriched") == "r" and rows_checksum(plain_db, "events_enriched") == rows
    assert_ok(manage("verify_schema", "--at", f"ecomind_core.{BEFORE}", database=plain_db), "the schema matches")


def test_a_rollback_that_would_merge_two_rows_of_one_id_changes_nothing(plain_db):
    assert_ok(manage("migrate", "--no-input", database=plain_db))
    # Possible once (id, ts) is the key: the same id in a later month.
    dbtools.execute(plain_db, """
        INSERT INTO events_enriched (id, org_id, user_id, provider, kwh, water_l, co2_kg, ts)
        VALUES ('evt_1', 'org_1', 'user_1', 'openai', 1, 2, 3, date_trunc('month', now()) + interval '2 months')""")
    rows = rows_checksum(plain_db, "events_enriched")
    refused = manage("rollback", "--no-input", database=plain_db)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "evt_1" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "nothing was changed" in refused.stderr
    assert relkind(plain_db, "events_enriched") == "p" and rows_checksum(plain_db, "events_enriched") == rows
    assert dbtools.execute(plain_db, "SELECT to_regclass('events_enriched_legacy_id_unique')") == [(None,)]


def test_a_legacy_database_is_adopted_then_converted(scratch_db):
    legacy_db = scratch_db
    build(legacy_db, "001")
    before = rows_checksum(legacy_db, "events_enriched")
    assert_ok(manage("baseline", "--no-input", database=legacy_db))
    assert_ok(manage("migrate", "--no-input", database=legacy_db))
    assert relkind(legacy_db, "events_enriched") == "p" and relkind(legacy_db, "audit_logs") == "p"
    assert rows_checksum(legacy_db, "events_enriched") == before
    assert_ok(manage("verify_schema", database=legacy_db), "the schema matches")


# -- partitions ahead of time -----------------------------------------------------------------------
def test_maintain_partitions_makes_months_ahead_once_and_check_says_when_short(migrated_db):
    assert_ok(manage("maintain_partitions", "--check", database=migrated_db), "3 months ready")
    short = manage("maintain_partitions", "--check", "--ahead", "6", database=migrated_db)
    assert_ok(short, "fewer than 6 months ready", code=1)
    before = partition_names(migrated_db, "audit_logs")
    assert_ok(manage("maintain_partitions", "--ahead", "6", database=migrated_db), "6 months after the current one")
    made = sorted(set(partition_names(migrated_db, "audit_logs")) - set(before))
    assert len(made) == 3
    assert_ok(manage("maintain_partitions", "--ahead", "6", database=migrated_db), "nothing to make")
    assert partition_names(migrated_db, "audit_logs") == sorted(before + made)
    [details] = dbtools.execute(migrated_db, "SELECT details::text FROM audit_logs WHERE action = 'partitions.create'")
    assert set(made) <= set(json.loads(details[0])["made"])
    # A new audit partition refuses a DELETE naming it, as the table does.
    with pytest.raises(psycopg.errors.RaiseException):
        dbtools.execute(migrated_db, f"DELETE FROM {made[0]}")
    assert_ok(manage("verify_schema", database=migrated_db), "the schema matches")


def test_maintain_held_up_by_a_lock_names_it_leaves_nothing_half_made_and_a_rerun_finishes(migrated_db):
    before = partition_names(migrated_db, "events_enriched")
    with dbtools.connect(migrated_db) as blocker:
        blocker.execute("SET application_name = 'index-build'")
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE events_enriched IN SHARE UPDATE EXCLUSIVE MODE")  # as a concurrent build holds it
        held = manage("maintain_partitions", "--ahead", "5", database=migrated_db,
                      env={"MIGRATION_LOCK_TIMEOUT": "1s", "MIGRATION_LOCK_RETRIES": "1", "MIGRATION_LOCK_RETRY_WAIT": "100ms"})
        blocker.execute("ROLLBACK")
    assert_ok(held, "index-build", "Nothing half-made is left", code=3)
    assert len(held.stderr.strip().splitlines()) == 1
    assert partition_names(migrated_db, "events_enriched") == before
    assert dbtools.execute(migrated_db, "SELECT count(*) FROM pg_class WHERE relname LIKE 'events_enriched_p%%' "
                                        "AND relkind = 'r' AND NOT relispartition")[0][0] == 0
    assert_ok(manage("maintain_partitions", "--ahead", "5", database=migrated_db), "5 months after the current one")
    assert_ok(manage("verify_schema", database=migrated_db), "the schema matches")


def test_a_partition_without_the_append_only_trigger_is_drift_and_maintain_mends_it(migrated_db):
    partition = partition_names(migrated_db, "audit_logs")[-1]
    [(trigger,)] = dbtools.execute(migrated_db, "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass('audit_logs')")
    dbtools.execute(migrated_db, f"DROP TRIGGER {trigger} ON {partition}")
    assert_ok(manage("verify_schema", database=migrated_db), f"partition_trigger_missing: {partition}", code=1)
    assert_ok(manage("maintain_partitions", database=migrated_db), f"{partition}: trigger {trigger} added")
    assert_ok(manage("verify_schema", database=migrated_db), "the schema matches")


def test_a_partition_attached_far_ahead_hides_no_missing_month(migrated_db):
    dbtools.execute(migrated_db, "CREATE TABLE events_archive (LIKE events_enriched); ALTER TABLE events_enriched "
                                 "ATTACH PARTITION events_archive FOR VALUES FROM ('2090-01-01') TO ('2091-01-01')")
    assert_ok(manage("maintain_partitions", "--check", "--ahead", "6", database=migrated_db),
              "events_enriched: 3 months ready", code=1)
    assert_ok(manage("maintain_partitions", "--ahead", "6", database=migrated_db), "6 months after the current one")
    assert_ok(manage("verify_schema", database=migrated_db), "partition_unexpected: events_archive", code=1)


def test_a_default_partition_is_drift(migrated_db):
    dbtools.execute(migrated_db, "CREATE TABLE events_enriched_default PARTITION OF events_enriched DEFAULT")
    assert_ok(manage("verify_schema", database=migrated_db), "partition_default: events_enriched_default", code=1)


def test_maintain_and_retention_on_plain_tables_or_sqlite_say_so(plain_db, migrated_sqlite, tmp_path):
    assert_ok(manage("maintain_partitions", database=plain_db), "not partitioned yet", "manage.py migrate", code=1)
    assert_ok(manage("retention", "--events", "400d", "--no-input", database=plain_db), "not partitioned yet", code=1)
    sqlite = {"DATABASE_URL": None, "SQLITE_PATH": str(migrated_sqlite)}
    assert_ok(manage("maintain_partitions", env=sqlite), "SQLite keeps plain tables")
    for args, mention in [(("--events", "400"), "not an age"), ((), "give --events AGE"), (("--audit-logs", "0y"), "not an age")]:
        result = manage("retention", *args, "--no-input", database=plain_db)
        assert_ok(result, mention, code=2)
        assert len(result.stderr.strip().splitlines()) == 1


# -- retention --------------------------------------------------------------------------------------
def months_ago(count, now):
    return add_months(month_start(now), -count)


@pytest.fixture
def two_years_on(migrated_db):
    """A converted database as it looks two years on: a legacy partition up to 24 months ago, then one per month."""
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    start = months_ago(24, now)
    for table in PARTITIONED:
        first = min(p for p in partition_names(migrated_db, table) if p[-6:].isdigit())[-6:]
        # The legacy partition ends 24 months ago; the rows it held since (migrate's own audit rows) move to their months.
        dbtools.execute(migrated_db, dbtools.spread_into_months_sql(table, start, first))
    # The audit partitions made by hand lack the append-only trigger: maintain_partitions gives it to them.
    assert_ok(manage("maintain_partitions", database=migrated_db), "trigger")
    dbtools.execute(migrated_db, """
        INSERT INTO events_enriched (id, org_id, user_id, provider, kwh, water_l, co2_kg, ts)
        SELECT 'evt_' || i, 'org_1', 'user_1', 'openai', 1, 2, 3, now() AT TIME ZONE 'UTC' - i * interval '1 day'
        FROM generate_series(0, 900) i;
        INSERT INTO audit_logs (id, org_id, action, resource, details, ts)
        SELECT 'audit_' || i, 'org_1', 'admin.change', 'org', '{}', now() AT TIME ZONE 'UTC' - i * interval '1 day'
        FROM generate_series(0, 900) i;
        -- baseline's record, kept forever, in a month that is otherwise old enough to drop
        INSERT INTO audit_logs (id, org_id, action, resource, details, ts)
        VALUES ('audit_baseline', 'system', 'schema.baseline', 'database', '{}', now() AT TIME ZONE 'UTC' - interval '500 days');
    """)
    assert_ok(manage("verify_schema", database=migrated_db), "the schema matches")
    return migrated_db, now


def test_retention_drops_exactly_the_old_partitions_and_trims_the_legacy_one(two_years_on):
    dbname, now = two_years_on
    cutoff = now - datetime.timedelta(days=400)
    first_kept = datetime.datetime(cutoff.year, cutoff.month, 1)
    partitions = partition_names(dbname, "events_enriched")
    expected_dropped = [p for p in partitions if p[-6:].isdigit() and months_after(p, 1) <= cutoff]
    kept_rows = rows_checksum(dbname, "events_enriched", f"ts >= '{first_kept}'")
    assert dbtools.execute(dbname, "SELECT count(*) FROM events_enriched_legacy")[0][0] > 0

    dry = manage("retention", "--events", "400d", "--dry-run", database=dbname)
    assert_ok(dry, *(f"drop partition {p}" for p in expected_dropped), "from events_enriched_legacy, in batches")
    assert partition_names(dbname, "events_enriched") == partitions

    result = manage("retention", "--events", "400d", "--audit-logs", "1y", "--no-input", database=dbname)
    assert_ok(result, f"events_enriched: {len(expected_dropped)} partitions dropped")
    assert partition_names(dbname, "events_enriched") == [p for p in partitions if p not in expected_dropped]
    assert dbtools.execute(dbname, "SELECT count(*) FROM events_enriched_legacy")[0][0] == 0
    assert dbtools.execute(dbname, "SELECT min(ts) >= %s FROM events_enriched", [first_kept])[0][0]
    assert rows_checksum(dbname, "events_enriched", f"ts >= '{first_kept}'") == kept_rows
    # Baseline's record stays, and so does the partition holding it; the other old rows there went.
    year_ago = months_ago(12, now)
    assert dbtools.execute(dbname, "SELECT count(*) FROM audit_logs WHERE action = 'schema.baseline'")[0][0] == 1
    assert dbtools.execute(dbname, "SELECT count(*) FROM audit_logs WHERE ts < %s AND action <> 'schema.baseline'",
                           [year_ago])[0][0] == 0
    [details] = dbtools.execute(dbname, "SELECT details::text FROM audit_logs WHERE action = 'retention.remove'")
    assert json.loads(details[0])["events_enriched"]["dropped_partitions"] == expected_dropped
    assert_ok(manage("verify_schema", database=dbname), "the schema matches")
    assert_ok(manage("retention", "--events", "400d", "--no-input", database=dbname), "Nothing to remove")


def months_after(partition, count):
    start = datetime.datetime.strptime(partition[-6:], "%Y%m")
    return months_ago(-count, start)


def detaching(dbname):
    return dbtools.execute(dbname, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                   "AND query LIKE 'ALTER TABLE%%DETACH PARTITION%%'")


def test_retention_beside_a_backup_waits_without_blocking_the_worker_and_a_rerun_finishes(two_years_on):
    dbname, now = two_years_on
    kept = rows_checksum(dbname, "events_enriched", f"ts >= '{months_ago(12, now)}'")
    backup = psycopg.connect(dbtools.url(dbname), application_name="nightly-backup")
    backup.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")  # as pg_dump holds its snapshot, and a lock on every table
    backup.execute("SELECT count(*) FROM events_enriched")
    run = subprocess.Popen([sys.executable, "manage.py", "retention", "--events", "400d", "--no-input"],
                           cwd=dbtools.ROOT, env=dbtools.manage_env({"MIGRATION_CONCURRENT_TIMEOUT": "5s"}, dbname),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not detaching(dbname):
            assert time.monotonic() < deadline and run.poll() is None, run.communicate()
            time.sleep(0.1)
        # The worker's insert goes through while the detach waits.
        with dbtools.connect(dbname) as worker:
            worker.execute("SET statement_timeout = '2s'")
            worker.execute(EVENT_SQL, {"org": "org_w", "user": "user_w", "provider": "openai", "model": "gpt-4o", "tin": 1,
                                       "tout": 1, "kwh": 1, "water": 1, "co2": 1, "ts": now, "metadata": WRITER_MARK})
        out, err = run.communicate(timeout=120)  # the ceiling ends the wait
    finally:
        backup.rollback()
        backup.close()
    assert run.returncode == 2 and "Traceback" not in err, out + err
    assert "nightly-backup" in out + err and "MIGRATION_CONCURRENT_TIMEOUT" in err
    pending = dbtools.execute(dbname, "SELECT count(*) FROM pg_inherits WHERE inhdetachpending")[0][0]
    assert pending == 1  # left half-detached: the next run finishes it
    assert_ok(manage("retention", "--events", "400d", "--no-input", database=dbname), "partitions dropped")
    assert dbtools.execute(dbname, "SELECT count(*) FROM pg_inherits WHERE inhdetachpending")[0][0] == 0
    assert dbtools.execute(dbname, "SELECT min(ts) >= %s FROM events_enriched",
                           [month_start(now - datetime.timedelta(days=400))])[0][0]
    assert rows_checksum(dbname, "events_enriched", f"ts >= '{months_ago(12, now)}' AND metadata::text IS DISTINCT FROM "
                                                    f"'{WRITER_MARK}'") == kept
    assert_ok(manage("verify_schema", database=dbname), "the schema matches")


def test_retention_that_stops_half_way_records_what_went(two_years_on):
    dbname, now = two_years_on
    backup = psycopg.connect(dbtools.url(dbname), application_name="nightly-backup")
    backup.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    backup.execute("SELECT count(*) FROM audit_logs")  # events go; audit rows wait for it, past the ceiling
    try:
        stopped = manage("retention", "--events", "400d", "--audit-logs", "1y", "--no-input", database=dbname,
                         env={"MIGRATION_CONCURRENT_TIMEOUT": "2s"})
    finally:
        backup.rollback()
        backup.close()
    assert_ok(stopped, "nightly-backup", code=2)
    [details] = dbtools.execute(dbname, "SELECT details::text FROM audit_logs WHERE action = 'retention.remove'")
    recorded = json.loads(details[0])
    assert recorded["completed"] is False and recorded["audit_logs"]["dropped_partitions"] == []
    assert recorded["events_enriched"]["dropped_partitions"] and recorded["events_enriched"]["deleted_rows"] > 0
    assert not set(recorded["events_enriched"]["dropped_partitions"]) & set(partition_names(dbname, "events_enriched"))


def test_the_way_back_after_retention_waits_for_a_half_done_detach_then_keeps_every_remaining_row(two_years_on):
    dbname, _ = two_years_on
    backup = psycopg.connect(dbtools.url(dbname), application_name="nightly-backup")
    backup.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    backup.execute("SELECT count(*) FROM audit_logs")
    try:  # retention stops past its ceiling, an audit partition left half-detached (its rows no longer in the table)
        assert_ok(manage("retention", "--events", "400d", "--audit-logs", "1y", "--no-input", database=dbname,
                         env={"MIGRATION_CONCURRENT_TIMEOUT": "2s"}), "nightly-backup", code=2)
    finally:
        backup.rollback()
        backup.close()
    [(pending,)] = dbtools.execute(dbname, "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhdetachpending")
    not_own = "action NOT LIKE 'schema.%' AND action NOT LIKE 'retention.%'"
    rows = {table: rows_checksum(dbname, table, not_own if table == "audit_logs" else "true") for table in PARTITIONED}
    refused = manage("rollback", "--no-input", database=dbname)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert pending in refused.stderr and "retention" in refused.stderr and "nothing was changed" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    for table in PARTITIONED:
        assert relkind(dbname, table) == "p"
        assert rows_checksum(dbname, table, not_own if table == "audit_logs" else "true") == rows[table]
    # Retention run again finishes the detach; then the way back keeps every row retention left.
    assert_ok(manage("retention", "--events", "400d", "--audit-logs", "1y", "--no-input", database=dbname))
    rows = {table: rows_checksum(dbname, table, not_own if table == "audit_logs" else "true") for table in PARTITIONED}
    assert_ok(manage("rollback", "--no-input", database=dbname), "Rolled back 1 migrations")
    for table in PARTITIONED:
        assert relkind(dbname, table) == "r" and partition_names(dbname, table) == []
        assert rows_checksum(dbname, table, not_own if table == "audit_logs" else "true") == rows[table]
    assert_ok(manage("verify_schema", "--at", f"ecomind_core.{BEFORE}", database=dbname), "the schema matches")


def test_purge_audit_logs_uses_the_partitions_and_counts_exactly(two_years_on):
    dbname, now = two_years_on
    before = months_ago(6, now)
    expected = dbtools.execute(dbname, "SELECT count(*) FROM audit_logs WHERE ts < %s AND action <> 'schema.baseline'",
                               [before])[0][0]
    result = manage("purge_audit_logs", "--before", f"{before:%Y-%m-%d}", "--no-input", database=dbname)
    assert_ok(result, f"Deleted {expected:,} audit rows")
    assert dbtools.execute(dbname, "SELECT count(*) FROM audit_logs WHERE ts < %s AND action <> 'schema.baseline'",
                           [before])[0][0] == 0
    assert not any(p.endswith(f"{months_ago(8, now):%Y%m}") for p in partition_names(dbname, "audit_logs"))


# -- reads -----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_period_reads_only_its_months_partitions():
    from ecomind_core.models import Event
    from ecomind_core.partitions.months import now_utc

    month = add_months(month_start(now_utc()), 2)
    start, end = (moment.replace(tzinfo=datetime.UTC) for moment in (month, add_months(month, 1)))
    plan = Event.objects.filter(ts__gte=start, ts__lt=end).order_by("-ts", "-id")[:100].explain()
    assert f"events_enriched_p{month:%Y%m}" in plan and "events_enriched_legacy" not in plan
