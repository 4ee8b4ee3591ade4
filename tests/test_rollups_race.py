"""repair_rollups racing the enrichment worker: no increment lost or counted twice.

Worker threads run the worker's own statements (tests/test_worker_writes.py:
one INSERT into events_enriched, then the four ON CONFLICT upserts, in one
transaction, with short pauses between them to widen every window) on the
same days that rounds of corruption break and ``repair_rollups`` mends, as
a real subprocess. They take none of our locks. Afterwards ``verify_rollups``
must exit 0, every worker transaction must have committed, and the events
other than the workers' own must be unchanged by checksum.
"""

import datetime
import json
import random
import threading
import time

import psycopg
import pytest

from tests import dbtools
from tests.dbtools import manage
from tests.test_rollups import DAILY_CALLS, ORG_A, day, event_params, seed
from tests.test_worker_writes import EVENT_SQL, UPSERTS

RACE_DAYS = (1, 2, 3)
WORKERS = 3
ROUNDS = 4
#: Marks the racing workers' events (the worker writes metadata as json text).
RACE_MARK = "race"
NOT_RACE = {"events_enriched": f"NOT (metadata::jsonb ? '{RACE_MARK}')"}
EVENT_COLUMNS = ["id", "org_id", "user_id", "provider", "model", "kwh", "water_l", "co2_kg", "ts", "metadata"]


class Worker(threading.Thread):
    """Writes calls on RACE_DAYS the way the enrichment worker does, until told to stop."""

    def __init__(self, dbname, seed_value, stop):
        super().__init__(daemon=True)
        self.dbname, self.rng, self.stop = dbname, random.Random(seed_value), stop
        self.committed, self.errors = 0, []

    def run(self):
        with psycopg.connect(dbtools.url(self.dbname)) as conn:
            while not self.stop.is_set():
                try:
                    self.write_one(conn)
                    self.committed += 1
                except psycopg.Error as exc:  # the test fails on any: we must never disturb the worker
                    self.errors.append(exc)

    def write_one(self, conn):
        org, user, provider, model = self.rng.choice(DAILY_CALLS)
        at = datetime.datetime.combine(day(self.rng.choice(RACE_DAYS)), datetime.time()) + datetime.timedelta(
            seconds=self.rng.randint(0, 86399))
        params = event_params(org, user, provider, model, at, self.rng)
        params["metadata"] = json.dumps({RACE_MARK: True})
        with conn.transaction():
            conn.execute(EVENT_SQL, params)
            time.sleep(self.rng.random() * 0.004)
            for statement in UPSERTS:
                conn.execute(statement, params)
                time.sleep(self.rng.random() * 0.001)


def corrupt(dbname, round_number):
    """Break every race day in several ways (as imports and hand edits do), while the workers write."""
    target = day(RACE_DAYS[round_number % len(RACE_DAYS)])
    with dbtools.connect(dbname) as conn:
        conn.execute("UPDATE daily_org_agg SET call_count = call_count + 7, kwh = kwh * 3 WHERE date = ANY(%s)",
                     [[day(n) for n in RACE_DAYS]])
        conn.execute("DELETE FROM daily_user_agg WHERE date = %s AND user_id = 'user_0000000000a1'", [target])
        conn.execute("UPDATE daily_model_agg SET water_l = NULL WHERE date = %s AND model = 'claude-sonnet'", [target])
        conn.execute("INSERT INTO daily_provider_agg VALUES (%s, %s, 'mistral', 2, 0.1, 0.1, 0.1) ON CONFLICT DO NOTHING",
                     [target, ORG_A])


def worker_total(workers):
    return sum(w.committed for w in workers)


@pytest.fixture
def race_db(migrated_template):
    name = dbtools.clone_database(migrated_template, "race")
    seed(name)
    yield name
    dbtools.drop_database(name)


@pytest.mark.slow
def test_repair_beside_the_worker_loses_and_doubles_nothing(race_db):
    events_before = dbtools.column_checksums(race_db, {"events_enriched": EVENT_COLUMNS}, where=NOT_RACE)
    stop = threading.Event()
    workers = [Worker(race_db, n, stop) for n in range(WORKERS)]
    for worker in workers:
        worker.start()
    try:
        for round_number in range(ROUNDS):
            corrupt(race_db, round_number)
            written_before = worker_total(workers)
            result = manage("repair_rollups", "--no-input", database=race_db)
            assert result.returncode == 0, result.stdout + result.stderr
            assert "Repaired" in result.stdout and "Nothing to repair" not in result.stdout
            # The workers wrote while this repair ran: the race really happened.
            assert worker_total(workers) > written_before
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)

    assert [w.errors for w in workers] == [[]] * WORKERS
    verified = manage("verify_rollups", database=race_db)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert dbtools.column_checksums(race_db, {"events_enriched": EVENT_COLUMNS}, where=NOT_RACE) == events_before
    [(raced,)] = dbtools.execute(race_db, f"SELECT count(*) FROM events_enriched WHERE NOT ({NOT_RACE['events_enriched']})")
    assert raced == worker_total(workers) > 0
    [(repairs,)] = dbtools.execute(race_db, "SELECT count(*) FROM audit_logs WHERE action = 'rollups.repair'")
    assert repairs == ROUNDS
