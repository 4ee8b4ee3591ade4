"""A battery of roll-up corruptions: each found by name by verify_rollups, then repaired.

One database of DAYS days written by the worker's statements; each
corruption breaks its own day(s) the way an import, a backfill, a deletion
on request, a replay or a hand edit would, and says exactly which rows
verify must name and how. Then, as an operator would: ``verify_rollups
--format json`` (exit 1), ``repair_rollups --dry-run`` (writes nothing),
``repair_rollups --no-input``, ``verify_rollups`` again (exit 0). Events are
compared by checksum before and after the repair, the untouched day's rows
too, and the repaired tables against a GROUP BY written here, independently
of ecomind_core.rollups.
"""

import datetime
import json
import random
from dataclasses import dataclass
from typing import Callable

import psycopg
import pytest

from ecomind_core.models import DailyTotals
from ecomind_core.rollups import DAILY_KEYS
from tests import dbtools
from tests.dbtools import manage
from tests.test_rollups import DAYS, ORG_A, ORG_B, TABLES, day, divergent_rows_of, event_params, seed, write_event
from tests.test_worker_writes import UPSERTS

A1_GPT = (ORG_A, "user_0000000000a1", "openai", "gpt-4o")
A2_SONNET = (ORG_A, "user_0000000000a2", "anthropic", "claude-sonnet")
B1_HAIKU = (ORG_B, "user_0000000000b1", "anthropic", "claude-haiku")
ALL_WRONG = ("wrong call_count", "wrong co2_kg", "wrong kwh", "wrong water_l")
COLUMNS = {model._meta.db_table: DAILY_KEYS[model] for model in DAILY_KEYS}
#: A day after the seeded ones: no events at all.
EVENTLESS_DAY = day(DAYS + 5)
UNTOUCHED_DAY = day(DAYS)


def keys(call, date, tables=TABLES):
    """{table: (table, date, key values)} of one call (org, user, provider, model), as the rules file it."""
    values = dict(zip(("org_id", "user_id", "provider", "model"), call))
    values["model"] = values["model"] or "unknown"
    by_table = {model._meta.db_table: tuple(values[c] for c in DAILY_KEYS[model]) for model in DAILY_KEYS}
    return {table: (table, str(date), by_table[table]) for table in tables}


def found(call, date, kinds, tables=TABLES):
    """What verify must report: each of the call's rows in ``tables`` with ``kinds``."""
    return {row: kinds for row in keys(call, date, tables).values()}


def one(table, date, key, kinds):
    return {(table, str(date), key): kinds}


def rng():
    return random.Random(99)


def events_of(conn, date, where="true", params=()):
    return conn.execute(
        f"SELECT org_id, user_id, provider, model, kwh, water_l, co2_kg, ts FROM events_enriched "
        f"WHERE ts >= %s AND ts < %s AND {where} ORDER BY ts LIMIT 1",
        [date, date + datetime.timedelta(days=1), *params],
    ).fetchone()


# -- the corruptions: each breaks its day and returns what verify must report --------
def missing_row(conn, d):
    conn.execute("DELETE FROM daily_user_agg WHERE date = %s AND org_id = %s AND user_id = %s", [d, *A2_SONNET[:2]])
    return found(A2_SONNET, d, ("missing row",), ["daily_user_agg"])


def extra_row(conn, d):
    conn.execute("INSERT INTO daily_provider_agg VALUES (%s, %s, 'mistral', 3, 0.1, 0.2, 0.3)", [d, ORG_A])
    return one("daily_provider_agg", d, (ORG_A, "mistral"), ("extra row",))


def wrong_count(conn, d):
    conn.execute("UPDATE daily_org_agg SET call_count = call_count + 1 WHERE date = %s AND org_id = %s", [d, ORG_A])
    return found(A1_GPT, d, ("wrong call_count",), ["daily_org_agg"])


def wrong_kwh(conn, d):
    conn.execute("UPDATE daily_model_agg SET kwh = kwh * 1.5 WHERE date = %s AND org_id = %s AND model = 'gpt-4o'", [d, ORG_A])
    return found(A1_GPT, d, ("wrong kwh",), ["daily_model_agg"])


def wrong_water(conn, d):
    conn.execute("UPDATE daily_user_agg SET water_l = water_l + 0.5 WHERE date = %s AND org_id = %s", [d, ORG_B])
    return found(B1_HAIKU, d, ("wrong water_l",), ["daily_user_agg"])


def wrong_co2_beyond_tolerance(conn, d):
    """A change of 1e-7 is found; one of 1e-13 (summation order's size) is not."""
    conn.execute("UPDATE daily_org_agg SET co2_kg = co2_kg * (1 + 1e-7) WHERE date = %s AND org_id = %s", [d, ORG_B])
    conn.execute("UPDATE daily_org_agg SET co2_kg = co2_kg * (1 + 1e-13) WHERE date = %s AND org_id = %s", [d, ORG_A])
    return found(B1_HAIKU, d, ("wrong co2_kg",), ["daily_org_agg"])


def null_measure(conn, d):
    conn.execute("UPDATE daily_provider_agg SET kwh = NULL WHERE date = %s AND org_id = %s AND provider = 'anthropic'", [d, ORG_A])
    return found(A2_SONNET, d, ("wrong kwh",), ["daily_provider_agg"])


def nan_measure(conn, d):
    conn.execute("UPDATE daily_org_agg SET water_l = 'NaN' WHERE date = %s AND org_id = %s", [d, ORG_B])
    return found(B1_HAIKU, d, ("wrong water_l",), ["daily_org_agg"])


def null_model_filed_as_none(conn, d):
    """An import writes an event without a model and files its roll-up under 'none', not 'unknown'."""
    call = (ORG_A, "user_0000000000a1", "openai", None)
    write_event(conn, event_params(*call, datetime.datetime.combine(d, datetime.time(9)), rng()), upsert_model="none")
    return {
        **found(call, d, ("missing row",), ["daily_model_agg"]),
        **one("daily_model_agg", d, (ORG_A, "openai", "none"), ("extra row",)),
    }


def last_millisecond_filed_next_day(conn, d):
    """An event at 23:59:59.999 whose roll-up a local-time importer filed under the next day."""
    call = ("org_00000000000c", "user_0000000000c1", "google", "gemini-pro")
    at = datetime.datetime.combine(d, datetime.time(23, 59, 59, 999000))
    write_event(conn, event_params(*call, at, rng()), upsert_date=d + datetime.timedelta(days=1))
    return {**found(call, d, ("missing row",)), **found(call, d + datetime.timedelta(days=1), ("extra row",))}


def deleted_event(conn, d):
    """A deletion on request, with the roll-ups left as they were."""
    conn.execute("DELETE FROM events_enriched WHERE ts >= %s AND ts < %s AND user_id = %s AND ctid = ("
                 "SELECT min(ctid) FROM events_enriched WHERE ts >= %s AND ts < %s AND user_id = %s)",
                 [d, d + datetime.timedelta(days=1), A2_SONNET[1]] * 2)
    return found(A2_SONNET, d, ALL_WRONG)


def deleted_last_event_of_its_key(conn, d):
    conn.execute("DELETE FROM events_enriched WHERE ts >= %s AND ts < %s AND model = 'claude-haiku'", [d, d + datetime.timedelta(days=1)])
    return {
        **found(B1_HAIKU, d, ALL_WRONG, ["daily_org_agg", "daily_user_agg"]),
        **found(B1_HAIKU, d, ("extra row",), ["daily_provider_agg", "daily_model_agg"]),
    }


def backfilled_event(conn, d):
    """An event imported later, without roll-ups."""
    write_event(conn, event_params(*A1_GPT, datetime.datetime.combine(d, datetime.time(6)), rng()), upserts=False)
    return found(A1_GPT, d, ALL_WRONG)


def backfilled_event_of_a_new_key(conn, d):
    call = (ORG_B, "user_0000000000b2", "google", "gemini-flash")
    write_event(conn, event_params(*call, datetime.datetime.combine(d, datetime.time(7)), rng()), upserts=False)
    return {**found(call, d, ALL_WRONG, ["daily_org_agg"]), **found(call, d, ("missing row",), TABLES[1:])}


def row_under_the_wrong_key(conn, d):
    conn.execute("UPDATE daily_user_agg SET user_id = 'user_0000000typo' WHERE date = %s AND user_id = %s", [d, A2_SONNET[1]])
    return {
        **found(A2_SONNET, d, ("missing row",), ["daily_user_agg"]),
        **one("daily_user_agg", d, (ORG_A, "user_0000000typo"), ("extra row",)),
    }


def replayed_upserts(conn, d):
    """A replayed message: the worker's upserts run again for an event already counted."""
    org, user, provider, model, kwh, water, co2, ts = events_of(conn, d, "user_id = %s AND model = %s", A1_GPT[1::2])
    params = {"date": ts.date(), "org_id": org, "user_id": user, "provider": provider, "model": model,
              "kwh": kwh, "water": water, "co2": co2}
    for statement in UPSERTS:
        conn.execute(statement, params)
    return found(A1_GPT, d, ALL_WRONG)


def zero_row_without_events(conn, d):
    conn.execute("INSERT INTO daily_model_agg VALUES (%s, %s, 'openai', 'gpt-4o-mini', 0, 0, 0, 0)", [d, ORG_B])
    return one("daily_model_agg", d, (ORG_B, "openai", "gpt-4o-mini"), ("extra row",))


def lost_day(conn, d):
    """A day's roll-ups all gone (a botched partition drop or restore)."""
    lost = {}
    for table in TABLES:
        for key in conn.execute(f"SELECT {', '.join(COLUMNS[table])} FROM {table} WHERE date = %s", [d]).fetchall():
            lost.update(one(table, d, tuple(key), ("missing row",)))
        conn.execute(f"DELETE FROM {table} WHERE date = %s", [d])
    return lost


def rows_on_a_day_without_events(conn, d):
    conn.execute("INSERT INTO daily_org_agg VALUES (%s, %s, 4, 0.1, 0.2, 0.3)", [EVENTLESS_DAY, ORG_A])
    conn.execute("INSERT INTO daily_user_agg VALUES (%s, %s, %s, 4, 0.1, 0.2, 0.3)", [EVENTLESS_DAY, ORG_A, A1_GPT[1]])
    return found(A1_GPT, EVENTLESS_DAY, ("extra row",), ["daily_org_agg", "daily_user_agg"])


def row_on_the_last_day_python_has(conn, d):
    """A row dated 9999-12-31 (a bad default somewhere): the day after it must not overflow."""
    conn.execute("INSERT INTO daily_provider_agg VALUES (%s, %s, 'openai', 1, 0.1, 0.2, 0.3)", [datetime.date.max, ORG_B])
    return one("daily_provider_agg", datetime.date.max, (ORG_B, "openai"), ("extra row",))


@dataclass(frozen=True)
class Corruption:
    apply: Callable
    day: int

    @property
    def name(self):
        return self.apply.__name__


CORRUPTIONS = [
    Corruption(missing_row, 1), Corruption(extra_row, 2), Corruption(wrong_count, 3), Corruption(wrong_kwh, 4),
    Corruption(wrong_water, 5), Corruption(wrong_co2_beyond_tolerance, 6), Corruption(null_measure, 7),
    Corruption(nan_measure, 8), Corruption(null_model_filed_as_none, 9), Corruption(last_millisecond_filed_next_day, 10),
    # (day 11 holds the misfiled roll-ups of day 10)
    Corruption(deleted_event, 12), Corruption(deleted_last_event_of_its_key, 13), Corruption(backfilled_event, 14),
    Corruption(backfilled_event_of_a_new_key, 15), Corruption(row_under_the_wrong_key, 16), Corruption(replayed_upserts, 17),
    Corruption(zero_row_without_events, 18), Corruption(lost_day, 19), Corruption(rows_on_a_day_without_events, 19),
    Corruption(row_on_the_last_day_python_has, 19),
]
assert UNTOUCHED_DAY not in {day(c.day) for c in CORRUPTIONS}


@dataclass
class Battery:
    expected: dict  # corruption name -> {(table, date, key): kinds}
    found: object  # verify --format json, before the repair
    found_text: object  # verify, the text report
    dry_run: object
    repaired: object
    after: object  # verify after the repair
    checksums: dict  # name -> (before, after)
    audit_rows: list
    oracle_differences: list


def untouched_rows(dbname):
    return dbtools.column_checksums(
        dbname, {t: ["date", *COLUMNS[t], *DailyTotals.MEASURES] for t in TABLES},
        where={t: f"date = '{UNTOUCHED_DAY}'" for t in TABLES},
    )


def oracle_differences(dbname):
    """Rows where a daily table and a plain GROUP BY over events (written here, not by the rules) disagree."""
    differences = []
    for table in TABLES:
        columns = ", ".join(COLUMNS[table])
        event_columns = columns.replace("model", "coalesce(model, 'unknown') AS model")
        differences += dbtools.execute(dbname, f"""
            SELECT '{table}', * FROM (
                SELECT ts::date AS date, {event_columns}, count(*) AS call_count, sum(kwh) AS kwh,
                       sum(water_l) AS water_l, sum(co2_kg) AS co2_kg
                FROM events_enriched GROUP BY 1, {columns}) e
            FULL JOIN {table} d USING (date, {columns})
            WHERE e.call_count IS DISTINCT FROM d.call_count
               OR NOT abs(d.kwh - e.kwh) <= 1e-9 * abs(e.kwh) OR NOT abs(d.water_l - e.water_l) <= 1e-9 * abs(e.water_l)
               OR NOT abs(d.co2_kg - e.co2_kg) <= 1e-9 * abs(e.co2_kg) OR d.kwh IS NULL OR e.kwh IS NULL""")
    return differences


@pytest.fixture(scope="module")
def battery(migrated_template):
    db = dbtools.clone_database(migrated_template, "battery")
    try:
        seed(db)
        with psycopg.connect(dbtools.url(db), autocommit=True) as conn:
            expected = {c.name: c.apply(conn, day(c.day)) for c in CORRUPTIONS}
        before = dbtools.table_checksums(db)
        untouched_before = untouched_rows(db)
        found_ = manage("verify_rollups", "--format", "json", database=db)
        found_text = manage("verify_rollups", database=db)
        dry = manage("repair_rollups", "--dry-run", database=db)
        after_dry = dbtools.table_checksums(db)
        repaired = manage("repair_rollups", "--no-input", database=db)
        after = manage("verify_rollups", "--format", "json", database=db)
        events_after = dbtools.table_checksums(db, ["events_enriched"])
        yield Battery(
            expected=expected, found=found_, found_text=found_text, dry_run=dry, repaired=repaired, after=after,
            checksums={
                "all tables across the dry run": (before, after_dry),
                "events across the repair": (before["events_enriched"], events_after["events_enriched"]),
                "the untouched day's rows": (untouched_before, untouched_rows(db)),
            },
            audit_rows=[json.loads(d) for (d,) in dbtools.execute(db, "SELECT details::text FROM audit_logs WHERE action = 'rollups.repair'")],
            oracle_differences=oracle_differences(db),
        )
    finally:
        dbtools.drop_database(db)


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=lambda c: c.name)
def test_each_corruption_is_found_by_name_then_repaired(battery, corruption):
    assert battery.found.returncode == 1, battery.found.stderr
    report = divergent_rows_of(battery.found)
    expected = battery.expected[corruption.name]
    assert {row: report.get(row) for row in expected} == expected
    lines = battery.found_text.stdout.splitlines()
    for (table, date, key), kinds in expected.items():
        where = " ".join([table, date, *(f"{c}={v}" for c, v in zip(COLUMNS[table], key))])
        assert sorted(line.split(": ")[1] for line in lines if line.strip().startswith(f"{where}: ")) == list(kinds)
    repaired_days = set(battery.audit_rows[0]["days_repaired"])
    assert {date for _, date, _ in expected} <= repaired_days
    assert not {row for row in divergent_rows_of(battery.after) if row in expected}


def test_verify_reports_nothing_but_the_corruptions(battery):
    everything_expected = {row: kinds for rows in battery.expected.values() for row, kinds in rows.items()}
    assert divergent_rows_of(battery.found) == everything_expected


def test_after_the_repair_everything_verifies_clean_and_equals_an_independent_sum(battery):
    assert battery.repaired.returncode == 0, battery.repaired.stdout + battery.repaired.stderr
    assert battery.after.returncode == 0 and json.loads(battery.after.stdout)["verdict"] == "clean"
    assert battery.oracle_differences == []


@pytest.mark.parametrize("what", ["all tables across the dry run", "events across the repair", "the untouched day's rows"])
def test_unchanged(battery, what):
    before, after = battery.checksums[what]
    assert before == after


def test_the_repair_wrote_one_audit_row_saying_what_changed(battery):
    [details] = battery.audit_rows
    expected = [row for rows in battery.expected.values() for row in rows]
    assert details["changes_listed"] == len(expected) and details["stopped"] is None
    assert sum(sum(counts.values()) for counts in details["rows_by_table"].values()) == len(expected)
    assert sorted(details["days_repaired"]) == sorted({date for _, date, _ in expected})
