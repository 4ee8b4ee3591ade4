"""The enrichment worker's plain SQL keeps working against the migrated schema.

The worker (not ours) inserts each event with ``gen_random_uuid()::text`` and
``now()``, then upserts the four daily tables with ``ON CONFLICT (<primary
key>) DO UPDATE``; see docs/schema.md. The ORM must then read its rows.
"""

import datetime
import random

import pytest
from django.db import connection
from django.db.models import Count, Sum

from ecomind_core import models

EVENT_SQL = """
INSERT INTO events_enriched (id, org_id, user_id, provider, model, tokens_in, tokens_out, node_type, region,
                             kwh, water_l, co2_kg, ts, source, metadata, created_at)
VALUES (gen_random_uuid()::text, %(org)s, %(user)s, %(provider)s, %(model)s, %(tin)s, %(tout)s, 'gpu-h100', 'eu-west-1',
        %(kwh)s, %(water)s, %(co2)s, %(ts)s, 'gateway', %(metadata)s::json, now())
"""
MEASURES = ("kwh", "water_l", "co2_kg")


def upsert_sql(table, keys):
    columns = ("date", *keys)
    values = ", ".join(f"%({c})s" for c in columns)
    updates = ", ".join(f"{m} = {table}.{m} + EXCLUDED.{m}" for m in MEASURES)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}, call_count, kwh, water_l, co2_kg) "
        f"VALUES ({values}, 1, %(kwh)s, %(water)s, %(co2)s) "
        f"ON CONFLICT ({', '.join(columns)}) DO UPDATE SET call_count = {table}.call_count + 1, {updates}"
    )


UPSERTS = [
    upsert_sql("daily_org_agg", ("org_id",)),
    upsert_sql("daily_user_agg", ("org_id", "user_id")),
    upsert_sql("daily_provider_agg", ("org_id", "provider")),
    upsert_sql("daily_model_agg", ("org_id", "provider", "model")),
]


def worker_writes(count, seed=7):
    rng = random.Random(seed)
    start = datetime.datetime(2026, 5, 1)
    with connection.cursor() as cursor:
        for _ in range(count):
            tokens_in, tokens_out = rng.randint(10, 3000), rng.randint(10, 1500)
            kwh = (tokens_in + tokens_out) * 2.5e-6
            event = {
                "org": f"org_{rng.randint(1, 4):012x}", "user": f"user_{rng.randint(1, 20):012x}",
                "provider": rng.choice(["openai", "anthropic"]), "model": rng.choice(["gpt-4o", "claude-sonnet"]),
                "tin": tokens_in, "tout": tokens_out, "kwh": kwh, "water": kwh * 1.8, "co2": kwh * 0.4,
                "ts": start + datetime.timedelta(minutes=rng.randint(0, 60 * 24 * 6)),
                "metadata": '{"cached": false, "tokens": %d}' % (tokens_in + tokens_out),
            }
            event["date"], event["org_id"], event["user_id"] = event["ts"].date(), event["org"], event["user"]
            cursor.execute(EVENT_SQL, event)
            for statement in UPSERTS:
                cursor.execute(statement, event)


@pytest.mark.django_db(transaction=True)
def test_daily_totals_equal_sums_of_events_in_sql():
    worker_writes(600)
    with connection.cursor() as cursor:
        for table, keys in [("daily_org_agg", "org_id"), ("daily_user_agg", "org_id, user_id"),
                            ("daily_provider_agg", "org_id, provider"), ("daily_model_agg", "org_id, provider, model")]:
            cursor.execute(f"""
                SELECT count(*) FROM (
                    SELECT ts::date AS date, {keys}, count(*) AS call_count, sum(kwh) AS kwh,
                           sum(water_l) AS water_l, sum(co2_kg) AS co2_kg
                    FROM events_enriched GROUP BY ts::date, {keys}) e
                FULL JOIN {table} d USING (date, {keys})
                WHERE d.call_count IS DISTINCT FROM e.call_count
                   OR abs(d.kwh - e.kwh) > 1e-9 OR abs(d.water_l - e.water_l) > 1e-9 OR abs(d.co2_kg - e.co2_kg) > 1e-9
                   OR d.date IS NULL OR e.date IS NULL""")
            assert cursor.fetchone()[0] == 0, table


@pytest.mark.django_db(transaction=True)
def test_orm_reads_what_the_worker_wrote():
    worker_writes(200)
    event = models.Event.objects.order_by("ts").first()
    assert event.ts.tzinfo == datetime.UTC and event.created_at.tzinfo == datetime.UTC
    assert event.metadata["cached"] is False and isinstance(event.metadata["tokens"], int)
    assert len(event.id) == 36  # the worker's uuid text ids sit beside our evt_ ids

    totals = models.Event.objects.aggregate(calls=Count("id"), kwh=Sum("kwh"))
    daily = models.DailyOrgTotal.objects.aggregate(calls=Sum("call_count"), kwh=Sum("kwh"))
    assert daily["calls"] == totals["calls"] == 200
    assert daily["kwh"] == pytest.approx(totals["kwh"])
    row = models.DailyModelTotal.objects.filter(org_id=event.org_id, date=event.ts.date()).first()
    assert row.pk[0] == event.ts.date() and row.call_count >= 1
