"""verify_rollups and repair_rollups as operators run them: real subprocesses, real PostgreSQL.

Clean data (written by the enrichment worker's own statements, plus
NULL-model events filed under 'unknown' and events on the edges of a day)
verifies clean; bad flags, bad dates and an unreachable server exit 2 with
one line and change nothing; ``--dry-run`` writes nothing; every repair run
writes exactly one audit row. The corruption battery is in
test_rollups_corruptions.py, the race with the worker in
test_rollups_race.py, the admin page in test_rollups_admin.py. The helpers
here write data the way the worker and the "other paths" do.
"""

import datetime
import json
import random

import psycopg
import pytest
from django.core.management import call_command

from ecomind_core import factories
from ecomind_core.models import DailyModelTotal
from ecomind_core.rollups import DAILY_KEYS, rebuild_daily_totals
from tests import dbtools
from tests.dbtools import manage
from tests.test_worker_writes import EVENT_SQL, UPSERTS

FIRST_DAY = datetime.date(2026, 5, 1)
DAYS = 20
ORG_A, ORG_B = "org_00000000000a", "org_00000000000b"
#: (org, user, provider, model) of each event the worker writes every day.
DAILY_CALLS = [
    (ORG_A, "user_0000000000a1", "openai", "gpt-4o"),
    (ORG_A, "user_0000000000a1", "openai", "gpt-4o"),
    (ORG_A, "user_0000000000a2", "anthropic", "claude-sonnet"),
    (ORG_A, "user_0000000000a2", "anthropic", "claude-sonnet"),
    (ORG_A, "user_0000000000a1", "anthropic", "claude-sonnet"),
    (ORG_B, "user_0000000000b1", "openai", "gpt-4o"),
    (ORG_B, "user_0000000000b1", "openai", "gpt-4o"),
    (ORG_B, "user_0000000000b1", "anthropic", "claude-haiku"),
]
#: Days whose data also holds an event without a model (written by another path, filed under 'unknown').
NULL_MODEL_DAYS = range(15, DAYS + 1)
#: The edges of a day: its first instant and its last microsecond.
EDGES = (datetime.time(0, 0), datetime.time(23, 59, 59, 999999))
TABLES = [model._meta.db_table for model in DAILY_KEYS]
EVENTS_ONLY = ("events_enriched",)


def day(n):
    """The n-th day of the seeded period (1-based)."""
    return FIRST_DAY + datetime.timedelta(days=n - 1)


def event_params(org, user, provider, model, ts, rng):
    """Parameters of the worker's statements for one call."""
    tokens_in, tokens_out = rng.randint(10, 3000), rng.randint(10, 1500)
    kwh = (tokens_in + tokens_out) * 2.5e-6
    return {
        "org": org, "user": user, "provider": provider, "model": model, "tin": tokens_in, "tout": tokens_out,
        "kwh": kwh, "water": kwh * 1.8, "co2": kwh * 0.4, "ts": ts,
        "metadata": json.dumps({"tokens": tokens_in + tokens_out}),
        "date": ts.date(), "org_id": org, "user_id": user,
    }


def write_event(conn, params, *, upsert_date=None, upsert_model=None, upserts=True):
    """One call as the worker writes it (event, four upserts, one transaction), or as another path does.

    ``upsert_date``/``upsert_model`` file the roll-up under another day or
    model than the rules say; ``upserts=False`` writes the event alone.
    """
    with conn.transaction():
        conn.execute(EVENT_SQL, params)
        if upserts:
            rollup = {**params, "date": upsert_date or params["ts"].date(), "model": upsert_model or params["model"] or "unknown"}
            for statement in UPSERTS:
                conn.execute(statement, rollup)


def seed(dbname, seed_value=11):
    """DAYS days of calls written by the worker's statements; returns the number of events."""
    rng = random.Random(seed_value)
    count = 0
    with psycopg.connect(dbtools.url(dbname)) as conn:
        for n in range(1, DAYS + 1):
            calls = [(call, datetime.time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))) for call in DAILY_CALLS]
            calls += [(DAILY_CALLS[0], EDGES[0]), (DAILY_CALLS[5], EDGES[1])]
            if n in NULL_MODEL_DAYS:
                calls.append(((ORG_A, "user_0000000000a1", "openai", None), datetime.time(12)))
            for (org, user, provider, model), at in calls:
                write_event(conn, event_params(org, user, provider, model, datetime.datetime.combine(day(n), at), rng))
                count += 1
    return count


def verify(dbname, *args, env=None):
    return manage("verify_rollups", *args, database=dbname, env=env)


def repair(dbname, *args, env=None):
    return manage("repair_rollups", *args, database=dbname, env=env)


def divergent_rows_of(result):
    """The divergent rows of a ``--format json`` run: {(table, date, key values): sorted kinds}."""
    data = json.loads(result.stdout)
    return {
        (row["table"], row["date"], tuple(row["key"].values())): tuple(sorted(p["kind"] for p in row["problems"]))
        for row in data["divergent_rows"]
    }


def audit_rows(dbname, action):
    return [details for (details,) in dbtools.execute(
        dbname, "SELECT details::text FROM audit_logs WHERE action = %s ORDER BY ts", [action]
    )]


def assert_one_line_exit_2(result, *words):
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.fixture(scope="module")
def seeded_template(migrated_template):
    """A migrated database with clean seeded data, to clone from (never modified)."""
    name = dbtools.clone_database(migrated_template, "rollups")
    seed(name)
    yield name
    dbtools.drop_database(name)


@pytest.fixture
def seeded_db(seeded_template):
    name = dbtools.clone_database(seeded_template)
    yield name
    dbtools.drop_database(name)


# -- clean data ----------------------------------------------------------------------
def test_clean_data_verifies_clean_and_nothing_is_written(seeded_db):
    before = dbtools.table_checksums(seeded_db)
    result = verify(seeded_db)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"all {DAYS} days with data ({day(1)} to {day(DAYS)})" in result.stdout
    assert verify(seeded_db, "--until", "9999-12-31").returncode == 0
    as_json = verify(seeded_db, "--format", "json", "--since", str(day(3)), "--until", str(day(4)))
    data = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and data["verdict"] == "clean" and data["days_checked"] == 2 and data["divergent_rows"] == []
    assert dbtools.table_checksums(seeded_db) == before


def test_null_models_count_under_unknown(seeded_db):
    [(rows,)] = dbtools.execute(seeded_db, "SELECT count(*) FROM daily_model_agg WHERE model = 'unknown'")
    assert rows == len(NULL_MODEL_DAYS)
    assert verify(seeded_db, "--since", str(day(NULL_MODEL_DAYS[0]))).returncode == 0


def test_an_empty_period_has_nothing_to_check(seeded_db):
    result = verify(seeded_db, "--since", "2030-01-01")
    assert result.returncode == 0 and "nothing to check" in result.stdout


def test_record_appends_one_verdict_for_the_admin(seeded_db):
    assert verify(seeded_db, "--since", str(day(2)), "--until", str(day(5)), "--record").returncode == 0
    [details] = audit_rows(seeded_db, "rollups.verify")
    assert json.loads(details) == {
        "since": str(day(2)), "until": str(day(5)), "verdict": "clean", "days_checked": 4,
        "divergent_rows": 0, "divergent_rows_by_table": {}, "divergent_days": [],
    }
    assert audit_rows(seeded_db, "rollups.repair") == []


def test_progress_goes_to_stderr(seeded_db):
    result = verify(seeded_db, "-v", "2", "--since", str(day(1)), "--until", str(day(3)))
    assert result.returncode == 0
    assert [line.split(";")[0] for line in result.stderr.splitlines()] == [
        f"verify_rollups: 1/3 days (33%), up to {day(1)}",
        f"verify_rollups: 2/3 days (67%), up to {day(2)}",
        f"verify_rollups: 3/3 days (100%), up to {day(3)}",
    ]
    assert "verify_rollups:" not in result.stdout


# -- repair: dry run, audit, idempotence ---------------------------------------------
def test_dry_run_writes_nothing_and_each_repair_run_writes_one_audit_row(seeded_db):
    dbtools.execute(seeded_db, "UPDATE daily_org_agg SET call_count = call_count + 5 WHERE date = %s", [day(7)])
    before = dbtools.table_checksums(seeded_db)
    dry = repair(seeded_db, "--dry-run")
    assert dry.returncode == 0 and "Dry run: nothing was written." in dry.stdout and "wrong call_count" in dry.stdout
    assert dbtools.table_checksums(seeded_db) == before

    first = repair(seeded_db, "--no-input")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"{day(7)}: 0 rows inserted, 2 updated, 0 deleted" in first.stdout
    [details] = audit_rows(seeded_db, "rollups.repair")
    details = json.loads(details)
    assert details["days_repaired"] == [str(day(7))] and details["rows_by_table"] == {
        "daily_org_agg": {"insert": 0, "update": 2, "delete": 0}
    }
    assert {change["key"]["org_id"] for change in details["changes"]} == {ORG_A, ORG_B}
    assert all(change["after"]["call_count"] == change["before"]["call_count"] - 5 for change in details["changes"])

    second = repair(seeded_db, "--no-input")
    assert second.returncode == 0 and "Nothing to repair" in second.stdout
    assert len(audit_rows(seeded_db, "rollups.repair")) == 2
    assert dbtools.table_checksums(seeded_db, EVENTS_ONLY)["events_enriched"] == before["events_enriched"]
    assert verify(seeded_db).returncode == 0


def test_repair_asks_first_and_without_an_answer_writes_nothing(seeded_db):
    dbtools.execute(seeded_db, "DELETE FROM daily_user_agg WHERE date = %s", [day(2)])
    before = dbtools.table_checksums(seeded_db)
    result = repair(seeded_db)  # stdin is empty, as in a job without --no-input
    assert_one_line_exit_2(result, "not confirmed", "--no-input")
    assert dbtools.table_checksums(seeded_db) == before


def test_a_lock_not_granted_stops_the_run_with_exit_3_and_is_recorded(seeded_db):
    dbtools.execute(seeded_db, "UPDATE daily_org_agg SET call_count = 0 WHERE date = %s", [day(4)])
    before = dbtools.table_checksums(seeded_db, TABLES + ["events_enriched"])
    with psycopg.connect(dbtools.url(seeded_db)) as holder:  # a long transaction holding a daily table
        holder.execute("LOCK TABLE daily_user_agg IN ROW EXCLUSIVE MODE")
        result = repair(seeded_db, "--no-input", "--lock-timeout", "50ms")
        holder.rollback()
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"could not be locked to repair {day(4)} in 5 attempts of 0.05s" in result.stderr and "run it again" in result.stderr
    assert dbtools.table_checksums(seeded_db, TABLES + ["events_enriched"]) == before
    [details] = [json.loads(d) for d in audit_rows(seeded_db, "rollups.repair")]
    assert details["days_repaired"] == [] and details["days_divergent"] == [str(day(4))] and "0.05s" in details["stopped"]
    assert repair(seeded_db, "--no-input").returncode == 0 and verify(seeded_db).returncode == 0


# -- could not run: one line, exit 2, nothing changed ----------------------------------
BAD_ARGUMENTS = [
    (["--since", "2026-13-01"], "'2026-13-01' is not a date: use YYYY-MM-DD"),
    (["--until", "yesterday"], "'yesterday' is not a date"),
    (["--since", ""], "'' is not a date"),
    (["--since", "2026-05-03", "--until", "2026-05-01"], "--since 2026-05-03 is after --until 2026-05-01"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["--since"], "expected one argument"),
]


@pytest.mark.parametrize("command", ["verify_rollups", "repair_rollups"])
@pytest.mark.parametrize("arguments, message", BAD_ARGUMENTS, ids=[" ".join(a) or "empty" for a, _ in BAD_ARGUMENTS])
def test_bad_flags_and_dates_are_one_line(seeded_template, command, arguments, message):
    before = dbtools.table_checksums(seeded_template)
    assert_one_line_exit_2(manage(command, *arguments, database=seeded_template), message)
    assert dbtools.table_checksums(seeded_template) == before


def test_bad_format_is_one_line(seeded_template):
    assert_one_line_exit_2(verify(seeded_template, "--format", "xml"), "invalid choice: 'xml'")


@pytest.mark.parametrize("duration, message", [("soon", "'soon' is not a duration"), ("0", "must be above zero")])
def test_bad_lock_timeout_is_one_line(seeded_template, duration, message):
    assert_one_line_exit_2(repair(seeded_template, "--no-input", "--lock-timeout", duration), message)


@pytest.mark.parametrize("command", ["verify_rollups", "repair_rollups"])
def test_unreachable_database_is_one_line(command):
    result = manage(command, env={"DATABASE_URL": "postgres://postgres:s3cr3t-pw@127.0.0.1:1/x"})
    assert_one_line_exit_2(result, "cannot connect to postgresql://postgres:***@127.0.0.1:1/x")
    assert "s3cr3t-pw" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", ["verify_rollups", "repair_rollups"])
def test_sqlite_is_refused_in_one_line(migrated_sqlite, command):
    result = manage(command, env={"DATABASE_URL": None, "SQLITE_PATH": str(migrated_sqlite)})
    assert_one_line_exit_2(result, "works on PostgreSQL databases")


# -- rebuild follows the same rules ---------------------------------------------------
@pytest.mark.django_db
def test_rebuild_files_events_without_a_model_under_unknown_and_verifies_clean():
    at = datetime.datetime(2026, 5, 3, 23, 59, 59, 999000, tzinfo=datetime.UTC)
    factories.EventFactory.create_batch(3, org_id=ORG_A, provider="openai", model=None, ts=at)
    factories.EventFactory.create_batch(2, org_id=ORG_A, provider="openai", model="gpt-4o", ts=at + datetime.timedelta(milliseconds=1))
    rebuild_daily_totals()
    model_rows = DailyModelTotal.objects.values_list("date", "model", "call_count").order_by("date")
    assert list(model_rows) == [(datetime.date(2026, 5, 3), "unknown", 3), (datetime.date(2026, 5, 4), "gpt-4o", 2)]
    call_command("verify_rollups", verbosity=0)  # returns: exit 0
