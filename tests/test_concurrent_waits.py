"""migrate behind long transactions: concurrent builds wait (reported), short DDL times out, errors stay true.

Migration 0003 builds three indexes ``CONCURRENTLY``. Its builds must wait
for every older snapshot in the database, which a short ``lock_timeout``
would cancel over and over; they run with the timeout off, say what they
wait for, and stop only at ``MIGRATION_CONCURRENT_TIMEOUT`` when one is set.
"""

import subprocess
import sys
import time

import psycopg

from tests import dbtools
from tests.checkout import copy_checkout, manage_in
from tests.dbtools import manage

INDEXES_OF_0003 = ("ix_audit_logs_action_ts", "ix_audit_logs_resource_ts", "ix_audit_logs_user_id")


def start_migrate(dbname, *args, env=None):
    return subprocess.Popen(
        [sys.executable, "manage.py", "migrate", "--no-input", *args], cwd=dbtools.ROOT,
        env=dbtools.manage_env(env, dbname), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def hold_snapshot(dbname, application_name="long-report"):
    """A report's REPEATABLE READ transaction that read only orgs: its snapshot stays until it ends."""
    reader = psycopg.connect(dbtools.url(dbname), application_name=application_name)
    reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    reader.execute("SELECT count(*) FROM orgs")
    return reader


def index_oids(dbname, valid_only=False):
    rows = dbtools.execute(dbname, "SELECT c.relname, c.oid, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                   "WHERE c.relname = ANY(%s)", [list(INDEXES_OF_0003)])
    return {name: oid for name, oid, valid in rows if valid or not valid_only}


def wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("condition never met")


def building_pid(dbname):
    rows = dbtools.execute(dbname, "SELECT pid FROM pg_stat_progress_create_index WHERE phase = 'waiting for old snapshots'")
    return rows[0][0] if rows else None


def test_a_build_behind_a_snapshot_longer_than_every_retry_is_built_once_and_migrate_succeeds(scratch_db):
    assert manage("migrate", "ecomind_core", "0002", database=scratch_db).returncode == 0
    reader = hold_snapshot(scratch_db)
    # lock_timeout 300ms, 2 retries, 100ms then 200ms: the whole budget is about 1.2s; the reader holds 6s.
    # Up to 0005: 0006 makes the tables partitioned, and their indexes new ones of the same names.
    run = start_migrate(scratch_db, "ecomind_core", "0005", "--lock-timeout", "300ms", "--lock-retries", "2",
                        env={"MIGRATION_LOCK_RETRY_WAIT": "100ms"})
    try:
        wait_for(lambda: building_pid(scratch_db))
        seen_while_waiting = index_oids(scratch_db)
        time.sleep(5)
        assert run.poll() is None, "migrate must still be waiting for the reader"
        assert index_oids(scratch_db) == seen_while_waiting, "the build was started again"
    finally:
        reader.rollback()
        reader.close()
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, out + err
    assert "retrying" not in out and "lock_timeout (300ms) hit" not in out
    assert "waiting for pid" in out and "(long-report, idle in transaction, transaction open" in out
    assert "it blocks no one meanwhile (lock_timeout off; MIGRATION_CONCURRENT_TIMEOUT: no limit)" in out
    first = next(iter(seen_while_waiting))
    assert index_oids(scratch_db, valid_only=True)[first] == seen_while_waiting[first]
    assert set(index_oids(scratch_db, valid_only=True)) == set(INDEXES_OF_0003)
    assert manage("migrate", "--no-input", database=scratch_db).returncode == 0
    assert manage("verify_schema", database=scratch_db).returncode == 0


def test_a_build_waiting_for_a_table_lock_waits_without_a_timeout(scratch_db):
    assert manage("migrate", "ecomind_core", "0002", database=scratch_db).returncode == 0
    with psycopg.connect(dbtools.url(scratch_db), application_name="table-holder") as blocker:
        blocker.execute("LOCK TABLE audit_logs IN SHARE MODE")  # what a CREATE INDEX CONCURRENTLY must wait for
        run = start_migrate(scratch_db, "--lock-timeout", "500ms", "--lock-retries", "0")
        wait_for(lambda: dbtools.execute(scratch_db, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                                     "AND query LIKE 'CREATE INDEX CONCURRENTLY%%'"))
        # Past lock_timeout, and past the report's first look (its watch opens a connection of its own
        # first: on a loaded machine that alone can take a second or two).
        time.sleep(5)
        assert run.poll() is None, run.communicate()
        blocker.rollback()
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, out + err
    assert "waiting for pid" in out and "table-holder" in out
    assert manage("verify_schema", database=scratch_db).returncode == 0


def test_the_concurrent_ceiling_ends_a_long_wait_with_exit_3_and_a_rerun_finishes(scratch_db):
    assert manage("migrate", "ecomind_core", "0002", database=scratch_db).returncode == 0
    reader = hold_snapshot(scratch_db, "nightly-backup")
    try:
        result = manage("migrate", "--no-input", "--lock-retries", "3", database=scratch_db,
                        env={"MIGRATION_CONCURRENT_TIMEOUT": "1s", "MIGRATION_LOCK_RETRY_WAIT": "100ms"})
    finally:
        reader.rollback()
        reader.close()
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "waited longer than MIGRATION_CONCURRENT_TIMEOUT (1s)" in lines[0] and "nightly-backup" in lines[0]
    assert "ecomind_core.0003_audit_log_admin_indexes failed; it is not atomic" in lines[0] and "rolled back" not in lines[0]
    assert "left behind: INVALID index ix_audit_logs_action_ts" in lines[0] or "ix_audit_logs_action_ts" in lines[0]
    assert "retrying" not in result.stdout, "the operator's ceiling is not retried"
    rerun = manage("migrate", "--no-input", database=scratch_db)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert set(index_oids(scratch_db, valid_only=True)) == set(INDEXES_OF_0003)
    assert manage("verify_schema", database=scratch_db).returncode == 0


def test_a_bad_concurrent_timeout_is_one_line_and_exit_2(scratch_db):
    result = manage("migrate", "--no-input", database=scratch_db, env={"MIGRATION_CONCURRENT_TIMEOUT": "soon"})
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "MIGRATION_CONCURRENT_TIMEOUT" in result.stderr and "'soon'" in result.stderr
    assert "django_migrations" not in dbtools.public_tables(scratch_db)


def test_a_dead_connection_reports_what_killed_it_not_the_lock_release(scratch_db):
    assert manage("migrate", "ecomind_core", "0002", database=scratch_db).returncode == 0
    reader = hold_snapshot(scratch_db)
    run = start_migrate(scratch_db)
    try:
        pid = wait_for(lambda: building_pid(scratch_db))
        dbtools.execute(scratch_db, "SELECT pg_terminate_backend(%s)", [pid])
        out, err = run.communicate(timeout=120)
    finally:
        reader.rollback()
        reader.close()
    assert run.returncode == 1, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "terminating connection due to administrator command" in lines[0], lines[0]
    assert "the connection is closed" not in err and "connection already closed" not in err
    # Its session, and the migration lock with it, are gone: the next run goes ahead.
    assert manage("migrate", "--no-input", database=scratch_db).returncode == 0


def test_a_retry_names_only_the_migration_it_is_in(scratch_db):
    """Try 1 times out in 0002; try 2 times out before any migration starts: its message must not name 0002."""
    assert manage("migrate", "ecomind_core", "0001", database=scratch_db).returncode == 0
    users = psycopg.connect(dbtools.url(scratch_db), application_name="holds-users")
    users.execute("LOCK TABLE users IN ACCESS SHARE MODE")  # 0002 alters users
    run = start_migrate(scratch_db, "--lock-timeout", "300ms", "--lock-retries", "1",
                        env={"MIGRATION_LOCK_RETRY_WAIT": "3s"})
    recorder = psycopg.connect(dbtools.url(scratch_db), application_name="holds-the-records")
    try:
        for line in run.stdout:
            if "retrying" in line:
                assert "hit in ecomind_core.0002_user_password_hash" in line
                break
        # Before try 2 starts: the migration records are locked, users released.
        recorder.execute("LOCK TABLE django_migrations IN ACCESS EXCLUSIVE MODE")
        users.rollback()
        out, err = run.communicate(timeout=120)
    finally:
        recorder.rollback()
        recorder.close()
        users.close()
    assert run.returncode == 3, out + err
    assert "holds-the-records" in err
    assert "0002" not in err, err
    assert manage("migrate", "--no-input", database=scratch_db).returncode == 0


def test_a_lock_timeout_in_a_non_atomic_migration_says_the_finished_steps_stay(tmp_path, migrated_db):
    checkout = copy_checkout(tmp_path / "ecomind")
    migrations = checkout / "ecomind_core" / "migrations"
    leaf = sorted(p.stem for p in migrations.glob("0*.py"))[-1]
    (migrations / "0006_kwh_check.py").write_text(
        "from django.db import migrations, models\nimport ecomind_core.migration_safety.operations as safe\n\n\n"
        "class Migration(migrations.Migration):\n    atomic = False\n"
        f"    dependencies = [('ecomind_core', '{leaf}')]\n    operations = [\n"
        "        safe.AddIndexConcurrentlyIfPostgres(model_name='event', index=models.Index(fields=['kwh'], name='ix_ev_kwh')),\n"
        "        safe.AddCheckConstraintNotValid(model_name='event', constraint=models.CheckConstraint("
        "condition=models.Q(kwh__gte=0), name='ev_kwh_not_negative')),\n    ]\n")
    with psycopg.connect(dbtools.url(migrated_db), application_name="long-report") as blocker:
        blocker.execute("LOCK TABLE events_enriched IN ACCESS SHARE MODE")  # ADD CONSTRAINT must wait
        blocker.execute("LOCK TABLE audit_logs IN SHARE MODE")  # and the audit row with it
        result = manage_in(checkout, "migrate", "--no-input", "--lock-timeout", "500ms", "--lock-retries", "0",
                           database=migrated_db)
        blocker.rollback()
    assert result.returncode == 3, result.stdout + result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and "ecomind_core.0006_kwh_check failed; it is not atomic" in line and "long-report" in line
    assert "stay applied" in line and "re-running migrate mends it" in line and "rolled back" not in line
    assert "audit row not written (audit_logs missing or locked)" in result.stdout  # kept on standard output
    assert dbtools.execute(migrated_db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_ev_kwh'::regclass") == [(True,)]
    [(oid,)] = dbtools.execute(migrated_db, "SELECT 'ix_ev_kwh'::regclass::oid")
    rerun = manage_in(checkout, "migrate", "--no-input", database=migrated_db)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert dbtools.execute(migrated_db, "SELECT 'ix_ev_kwh'::regclass::oid") == [(oid,)], "a VALID index is kept"
