"""Backfills that don't block the worker: flagged inside a transaction, batched and resumable outside one.

As a developer writes them: a migration added to a copy of the checkout,
``check_migrations`` on it, ``migrate`` against a real PostgreSQL holding
daily rows. Each batch commits on its own, which the rows show: rows updated
by different transactions carry different ``xmin``.
"""

import pytest

from tests import dbtools
from tests.checkout import copy_checkout, manage_in

ROWS = 2_500
BATCH = 1_000


@pytest.fixture
def checkout(tmp_path):
    return copy_checkout(tmp_path / "ecomind")


def add_migration(checkout, name, body, *, atomic):
    folder = checkout / "ecomind_core" / "migrations"
    previous = sorted(p.stem for p in folder.glob("0*.py"))[-1]
    full = f"{int(previous[:4]) + 1:04d}_{name}"
    (folder / f"{full}.py").write_text(
        "from django.db import migrations\n\nfrom ecomind_core.migration_safety.backfill import BatchedBackfill\n\n\n"
        f"class Migration(migrations.Migration):\n    atomic = {atomic}\n"
        f"    dependencies = [('ecomind_core', '{previous}')]\n    operations = [\n        {body},\n    ]\n"
    )
    return full


@pytest.fixture
def daily_db(migrated_db):
    """``ROWS`` daily organisation rows whose co2_kg is missing: what the backfill fills."""
    dbtools.execute(migrated_db, f"""
        INSERT INTO daily_org_agg (date, org_id, call_count, kwh, water_l, co2_kg)
        SELECT date '2026-01-01' + (i % 365), 'org_' || (i / 365), 1, i * 0.001, 0, NULL FROM generate_series(1, {ROWS}) i""")
    return migrated_db


BACKFILL = f"BatchedBackfill(model_name='dailyorgtotal', set_sql='co2_kg = kwh * 0.4', where_sql='co2_kg IS NULL', batch_size={BATCH})"


def test_an_update_of_a_worker_table_inside_the_transaction_is_flagged(checkout):
    add_migration(checkout, "plain_backfill", "migrations.RunSQL('UPDATE daily_org_agg SET co2_kg = kwh * 0.4', "
                                              "reverse_sql=migrations.RunSQL.noop)", atomic=True)
    result = manage_in(checkout, "check_migrations")
    assert result.returncode == 1 and "backfill-in-transaction" in result.stdout, result.stdout + result.stderr
    assert "BatchedBackfill" in result.stdout


def test_the_batched_form_passes_and_commits_each_batch(checkout, daily_db):
    add_migration(checkout, "batched_backfill", BACKFILL, atomic=False)
    checked = manage_in(checkout, "check_migrations")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    result = manage_in(checkout, "migrate", "--no-input", database=daily_db)
    assert result.returncode == 0, result.stdout + result.stderr
    [(missing, transactions)] = dbtools.execute(
        daily_db, "SELECT count(*) FILTER (WHERE co2_kg IS NULL), count(DISTINCT xmin::text) FROM daily_org_agg")
    assert missing == 0
    assert transactions == -(-ROWS // BATCH)  # one committed transaction per batch


def test_a_stopped_backfill_resumes_where_it_stopped(checkout, daily_db):
    add_migration(checkout, "batched_backfill", BACKFILL, atomic=False)
    # Hold the last row (in the last batch) as a worker's upsert would, longer than the lock timeout.
    with dbtools.connect(daily_db) as worker:
        worker.execute("BEGIN")
        worker.execute("SELECT 1 FROM daily_org_agg ORDER BY date DESC, org_id DESC LIMIT 1 FOR UPDATE")
        stopped = manage_in(checkout, "migrate", "--no-input", "--lock-timeout", "300ms", "--lock-retries", "0",
                            database=daily_db)
        worker.execute("ROLLBACK")
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    done_before = dict(dbtools.execute(daily_db, "SELECT (date, org_id)::text, xmin::text FROM daily_org_agg "
                                                 "WHERE co2_kg IS NOT NULL"))
    assert 0 < len(done_before) < ROWS  # the batches before the held row committed
    resumed = manage_in(checkout, "migrate", "--no-input", database=daily_db)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = dict(dbtools.execute(daily_db, "SELECT (date, org_id)::text, xmin::text FROM daily_org_agg"))
    assert all(after[key] == xmin for key, xmin in done_before.items()), "a finished batch was updated again"
    assert dbtools.execute(daily_db, "SELECT count(*) FROM daily_org_agg WHERE co2_kg IS NULL")[0][0] == 0
