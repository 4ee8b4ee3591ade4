"""migrate as a deploy job: many replicas at once, killed mid-way, blocked, or early."""

import os
import signal
import subprocess
import sys
import time

import psycopg

from tests import dbtools
from tests.dbtools import manage

PASSWORD = "s3cr3t-pw"


def start_migrate(dbname, *args):
    return subprocess.Popen(
        [sys.executable, "manage.py", "migrate", "--no-input", *args], cwd=dbtools.ROOT,
        env=dbtools.manage_env(database=dbname), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_eight_replicas_at_once_all_succeed(scratch_db):
    runs = [start_migrate(scratch_db) for _ in range(8)]
    outcomes = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    assert [code for code, _ in outcomes] == [0] * 8, outcomes
    duplicates = dbtools.execute(scratch_db, "SELECT app, name FROM django_migrations GROUP BY app, name HAVING count(*) > 1")
    assert duplicates == []
    assert manage("verify_schema", database=scratch_db).returncode == 0


def backend_waiting_for_lock(dbname, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = dbtools.execute(
            "postgres",
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' AND query ILIKE '%%ALTER TABLE%%'",
            [dbname],
        )
        if rows:
            return rows[0][0]
        time.sleep(0.1)
    raise AssertionError("migrate never reached the blocked ALTER TABLE")


def test_sigkill_mid_migration_leaves_a_consistent_database(scratch_db):
    assert manage("migrate", "ecomind_core", "0001", database=scratch_db).returncode == 0
    blocker = psycopg.connect(dbtools.url(scratch_db))
    blocker.execute("LOCK TABLE users IN ACCESS SHARE MODE")  # held until rollback below
    run = start_migrate(scratch_db, "--lock-timeout", "0")  # 0002 alters users: it must wait
    backend_waiting_for_lock(scratch_db)
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=30)

    # Killed inside 0002's transaction: nothing of it is visible or recorded.
    assert dbtools.execute(scratch_db, "SELECT name FROM django_migrations WHERE app = 'ecomind_core'") == [("0001_initial",)]
    assert "password_hash" not in dbtools.table_columns(scratch_db)["users"]
    blocker.rollback()
    blocker.close()

    rerun = manage("migrate", "--no-input", database=scratch_db)
    assert rerun.returncode == 0, rerun.stderr
    assert manage("verify_schema", database=scratch_db).returncode == 0


def test_lock_timeout_fails_cleanly_names_the_blocker_and_a_rerun_is_safe(scratch_db):
    assert manage("migrate", "ecomind_core", "0001", database=scratch_db).returncode == 0
    with psycopg.connect(dbtools.url(scratch_db), application_name="long-report") as blocker:
        blocker.execute("LOCK TABLE users IN ACCESS SHARE MODE")
        pid = blocker.info.backend_pid
        result = manage("migrate", "--no-input", "--lock-timeout", "500ms", "--lock-retries", "0", database=scratch_db)
        blocker.rollback()
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "lock_timeout (500ms)" in lines[0] and "re-running is safe" in lines[0]
    assert f"pid {pid} (long-report, idle in transaction, transaction open" in lines[0]
    assert "ecomind_core.0002_user_password_hash failed and was rolled back" in lines[0]
    assert manage("migrate", "--no-input", database=scratch_db).returncode == 0


def test_lock_timeout_is_retried_with_backoff_until_the_blocker_goes(scratch_db):
    assert manage("migrate", "ecomind_core", "0001", database=scratch_db).returncode == 0
    blocker = psycopg.connect(dbtools.url(scratch_db), application_name="nightly-export")
    blocker.execute("LOCK TABLE users IN ACCESS SHARE MODE")
    migrate = subprocess.Popen(
        [sys.executable, str(dbtools.ROOT / "manage.py"), "migrate", "--no-input", "--lock-timeout", "300ms",
         "--lock-retries", "5"],
        cwd=dbtools.ROOT, env=dbtools.manage_env({"MIGRATION_LOCK_RETRY_WAIT": "200ms"}, scratch_db),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = []
    for line in migrate.stdout:  # until the first retry is announced
        lines.append(line)
        if "retrying" in line:
            break
    blocker.rollback()
    blocker.close()
    rest, err = migrate.communicate(timeout=120)
    out = "".join(lines) + rest
    assert migrate.returncode == 0, out + err
    assert "lock_timeout (300ms) hit in ecomind_core.0002_user_password_hash, blocked by pid" in out
    assert "nightly-export" in out and "retrying in 0.2s (1 of 5)" in out
    assert manage("verify_schema", database=scratch_db).returncode == 0


def test_lock_timeout_in_a_non_atomic_migration_says_what_may_remain(scratch_db):
    assert manage("migrate", "ecomind_core", "0002", database=scratch_db).returncode == 0
    with psycopg.connect(dbtools.url(scratch_db)) as blocker:
        blocker.execute("LOCK TABLE audit_logs IN SHARE MODE")  # what a CREATE INDEX CONCURRENTLY must wait for
        result = manage("migrate", "--no-input", "--lock-timeout", "500ms", "--lock-retries", "0", database=scratch_db)
        blocker.rollback()
    assert result.returncode == 3, result.stdout + result.stderr
    assert "ecomind_core.0003_audit_log_admin_indexes failed; it is not atomic" in result.stderr
    assert "re-running migrate mends it" in result.stderr
    assert "audit row not written (audit_logs missing or locked)" in result.stdout  # the blocker held audit_logs
    assert manage("migrate", "--no-input", database=scratch_db).returncode == 0
    assert manage("verify_schema", database=scratch_db).returncode == 0


def test_plain_migrate_on_a_legacy_database_refuses_before_writing(legacy_db):
    before = dbtools.catalog_snapshot(legacy_db), dbtools.public_tables(legacy_db), dbtools.table_checksums(legacy_db)
    result = manage("migrate", "--no-input", database=legacy_db)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "baseline --dry-run" in result.stderr and "Nothing was written" in result.stderr
    after = dbtools.catalog_snapshot(legacy_db), dbtools.public_tables(legacy_db), dbtools.table_checksums(legacy_db)
    assert after == before
    assert "django_migrations" not in dbtools.public_tables(legacy_db)


def test_unreachable_server_gives_up_after_the_wait(scratch_db):
    url = f"postgres://postgres:{PASSWORD}@127.0.0.1:1/ecomind"
    for args, env in ((["--wait", "2"], {}), ([], {"MIGRATION_DB_WAIT": "2"})):
        started = time.monotonic()
        result = manage("migrate", "--no-input", *args, env={"DATABASE_URL": url, **env})
        elapsed = time.monotonic() - started
        assert result.returncode == 2
        assert elapsed < 30, "must give up, not hang"  # a bound on hanging, not a speed test
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot connect to postgresql://postgres:***@127.0.0.1:1/ecomind" in lines[0]
        assert "waiting 2s" in lines[0]
        assert "Traceback" not in result.stderr and PASSWORD not in result.stdout + result.stderr


def test_waits_for_a_database_that_comes_up(scratch_db):
    """The database is "down" (does not exist yet) when migrate starts, and appears 2s later."""
    late = f"{scratch_db}_late"
    run = subprocess.Popen(
        [sys.executable, "manage.py", "migrate", "--no-input", "--wait", "60"], cwd=dbtools.ROOT,
        env=dbtools.manage_env(env={"DATABASE_URL": dbtools.url(late)}), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        time.sleep(2)
        dbtools.execute("postgres", f'CREATE DATABASE "{late}"')
        assert run.wait(timeout=120) == 0, run.stderr.read()
        assert "Waiting for the database" in run.stdout.read()
    finally:
        run.kill()
        dbtools.drop_database(late)


