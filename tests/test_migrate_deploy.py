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


def test_lock_timeout_fails_cleanly_and_a_rerun_is_safe(scratch_db):
    assert manage("migrate", "ecomind_core", "0001", database=scratch_db).returncode == 0
    with psycopg.connect(dbtools.url(scratch_db)) as blocker:
        blocker.execute("LOCK TABLE users IN ACCESS SHARE MODE")
        result = manage("migrate", "--no-input", "--lock-timeout", "500ms", database=scratch_db)
        blocker.rollback()
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "lock_timeout (500ms)" in lines[0] and "re-running is safe" in lines[0]
    assert manage("migrate", "--no-input", database=scratch_db).returncode == 0


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


def test_plain_migrate_on_a_legacy_database_points_to_baseline(legacy_db):
    before = dbtools.catalog_snapshot(legacy_db), dbtools.table_checksums(legacy_db)
    result = manage("migrate", "--no-input", database=legacy_db)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "already exists" in lines[0] and "manage.py baseline --dry-run" in lines[0]
    assert (dbtools.catalog_snapshot(legacy_db), dbtools.table_checksums(legacy_db)) == before
