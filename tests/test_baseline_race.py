"""No window in baseline: DDL cannot slip in between its last proof and its commit.

baseline locks the tables it adopts against schema changes (SHARE UPDATE
EXCLUSIVE) before its final proof; the enrichment worker's inserts and
upserts are not blocked by that lock. Here a transaction holds ``users`` so
that baseline, having locked the tables before it, waits there; meanwhile an
``ALTER TABLE orgs`` arrives and must wait for baseline's commit, while the
worker's own statements go through.
"""

import subprocess
import sys
import threading
import time

from tests import dbtools

WORKER_EVENT = """
INSERT INTO events_enriched (id, org_id, user_id, provider, model, tokens_in, tokens_out, node_type, region,
                             kwh, water_l, co2_kg, ts, source, metadata, created_at)
VALUES (gen_random_uuid()::text, 'org_race', 'user_race', 'openai', 'gpt-4o', 10, 20, 'gpu', 'eu-west-1',
        0.001, 0.002, 0.0004, now(), 'gateway', '{}'::jsonb::text::json, now())
"""
WORKER_UPSERT = """
INSERT INTO daily_org_agg (date, org_id, call_count, kwh, water_l, co2_kg) VALUES (now()::date, 'org_race', 1, 0.001, 0.002, 0.0004)
ON CONFLICT (date, org_id) DO UPDATE SET call_count = daily_org_agg.call_count + 1, kwh = daily_org_agg.kwh + EXCLUDED.kwh,
    water_l = daily_org_agg.water_l + EXCLUDED.water_l, co2_kg = daily_org_agg.co2_kg + EXCLUDED.co2_kg
"""


def waiting_pids(dbname):
    rows = dbtools.execute(dbname, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    return {r[0] for r in rows}


def wait_until(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_alter_table_waits_for_baselines_commit_while_the_worker_writes(legacy_db):
    holder = dbtools.connect(legacy_db)
    holder.execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
    baseline = subprocess.Popen(
        [sys.executable, str(dbtools.ROOT / "manage.py"), "baseline", "--no-input", "--lock-timeout", "60s"],
        cwd=dbtools.ROOT, env=dbtools.manage_env(database=legacy_db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert wait_until(lambda: waiting_pids(legacy_db)), "baseline never reached its table locks"

        altered = {}

        def alter():
            with dbtools.connect(legacy_db) as conn:
                altered["pid"] = conn.info.backend_pid
                conn.execute("ALTER TABLE orgs ALTER COLUMN name TYPE text")
                altered["at"] = conn.execute("SELECT clock_timestamp()::timestamp").fetchone()[0]

        ddl = threading.Thread(target=alter)
        ddl.start()
        assert wait_until(lambda: altered.get("pid") in waiting_pids(legacy_db)), "the ALTER TABLE did not wait"

        # The worker's statements go through meanwhile (a block would hit the statement timeout).
        with dbtools.connect(legacy_db) as worker:
            worker.execute("SET statement_timeout = '2s'")
            with worker.transaction():
                worker.execute(WORKER_EVENT)
                worker.execute(WORKER_UPSERT)
        assert ddl.is_alive(), "the ALTER TABLE must still be waiting"
    finally:
        holder.execute("COMMIT")
        holder.close()
    out, err = baseline.communicate(timeout=120)
    ddl.join(timeout=60)
    assert baseline.returncode == 0, out + err
    [(adopted_at,)] = dbtools.execute(legacy_db, "SELECT ts FROM audit_logs WHERE action = 'schema.baseline'")
    assert altered["at"] > adopted_at, "the ALTER TABLE committed before baseline did"
    assert dbtools.execute(legacy_db, "SELECT count(*) FROM events_enriched WHERE org_id = 'org_race'") == [(1,)]
    # Adopted as proved; the change made afterwards is drift, reported as such.
    verify = dbtools.manage("verify_schema", database=legacy_db)
    assert verify.returncode == 1 and "column_type: orgs.name" in verify.stdout


def test_a_long_transaction_on_a_table_makes_baseline_give_up_writing_nothing(legacy_db):
    holder = dbtools.connect(legacy_db)
    holder.execute("BEGIN; LOCK TABLE events_enriched IN SHARE ROW EXCLUSIVE MODE")
    try:
        result = dbtools.manage("baseline", "--no-input", "--lock-timeout", "500ms", database=legacy_db)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "nothing was written" in result.stderr
    assert "django_migrations" not in dbtools.public_tables(legacy_db)
