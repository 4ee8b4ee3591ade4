"""``GET /metrics``: not public, the Prometheus text format, values from the database, a fixed cost.

In-process (Django's test client on the pytest-django database). The token is
read when the middleware starts, so each test sets the environment first and
then makes its own client. The real server, scraped by a real Prometheus, is
tests/test_prometheus_scrape.py.
"""

import datetime
import re

import pytest
from django.contrib.admin.utils import quote
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from ecomind.config import ConfigError
from ecomind_core import factories
from ecomind_core.catalog.findings import finding
from ecomind_core.monitoring.verdicts import record_schema_verdict
from ecomind_core.rollups.status import VERIFY as ROLLUPS_VERIFY
from ecomind_core.signin.audit import LOCKOUT, LOGIN_FAILED

pytestmark = pytest.mark.django_db
TOKEN = "test-metrics-token-4f9c2a7d1e"
PROMETHEUS_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


@pytest.fixture
def token(monkeypatch):
    monkeypatch.delenv("METRICS_TOKEN_FILE", raising=False)
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    return TOKEN


def scrape(client=None, token=TOKEN):
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    return response


def samples(response):
    """``{(name, frozenset(labels)): value}`` as Prometheus would read the page."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(response, name, **labels):
    return samples(response).get((name, frozenset(labels.items())))


def test_without_a_token_configured_metrics_is_not_there(monkeypatch):
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    monkeypatch.delenv("METRICS_TOKEN_FILE", raising=False)
    client = Client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything-at-all-0123").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}", "Bearer", f"bearer {TOKEN}x"])
def test_a_missing_or_wrong_token_is_refused(token, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = Client().get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"ecomind_" not in response.content


def test_the_token_may_come_from_a_file(monkeypatch, tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")  # as secret files usually end
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    monkeypatch.setenv("METRICS_TOKEN_FILE", str(path))
    assert scrape()["Content-Type"].startswith("text/plain; version=0.0.4")


@pytest.mark.parametrize("environment, message", [
    ({"METRICS_TOKEN": "tiny-secret"}, "METRICS_TOKEN is shorter than 16 characters"),
    ({"METRICS_TOKEN": TOKEN, "METRICS_TOKEN_FILE": "/run/secrets/metrics_token"}, "METRICS_TOKEN and METRICS_TOKEN_FILE are both set"),
    ({"METRICS_TOKEN_FILE": "/nonexistent/metrics_token"}, "METRICS_TOKEN_FILE names /nonexistent/metrics_token, which cannot be read"),
])
def test_a_bad_token_configuration_stops_the_server_with_one_line(monkeypatch, environment, message):
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    monkeypatch.delenv("METRICS_TOKEN_FILE", raising=False)
    for name, setting in environment.items():
        monkeypatch.setenv(name, setting)
    with pytest.raises(ConfigError) as refused:
        Client().get("/metrics")
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert "tiny-secret" not in str(refused.value) and TOKEN not in str(refused.value)


def test_openmetrics_when_prometheus_asks_for_it(token):
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
                            HTTP_ACCEPT="application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5")
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


def test_names_follow_prometheus_rules(token):
    record_schema_verdict([])
    factories.AuditLogFactory(action=ROLLUPS_VERIFY, resource="rollups", details={"divergent_rows": 0})
    factories.EventFactory()
    Client().get(reverse("admin:login"))
    families = list(text_string_to_metric_families(scrape().content.decode()))
    names = {family.name for family in families}
    assert all(name.startswith("ecomind_") and PROMETHEUS_NAME.match(name) for name in names), names
    for family in families:
        assert family.documentation, family.name
        if family.type == "gauge":
            assert not family.name.endswith(("_total", "_count", "_sum", "_bucket")), family.name
        if "age" in family.name or "duration" in family.name:
            assert family.name.endswith("_seconds"), family.name  # base units


def test_a_database_never_verified_says_so_without_ages(token):
    response = scrape()
    assert value(response, "ecomind_database_up") == 1
    assert value(response, "ecomind_verification_recorded", check="schema") == 0
    assert value(response, "ecomind_verification_recorded", check="rollups") == 0
    assert value(response, "ecomind_schema_errors") is None and value(response, "ecomind_schema_verdict_age_seconds") is None
    assert value(response, "ecomind_newest_event_age_seconds") is None  # no event yet: no lag to speak of
    assert value(response, "ecomind_migrations_pending", stage="pre_deploy") == 0
    assert value(response, "ecomind_migrations_pending", stage="post_deploy") == 0


def test_the_newest_verdicts_are_reported_with_their_age(token):
    drift = [finding("index_missing", "ix_events_enriched_ts", "(ts)", "absent", table="events_enriched",
                     owned_tables={"events_enriched"}),
             finding("table_unowned", "scratch", "absent", "present", table="scratch")]
    factories.AuditLogFactory(action="schema.verify", resource="schema", ts=timezone.now() - datetime.timedelta(hours=5),
                              details={"verdict": "drift", "errors": 5, "warnings": 0, "findings": []})  # older: not reported
    record_schema_verdict(drift)
    factories.AuditLogFactory(action=ROLLUPS_VERIFY, resource="rollups", details={"divergent_rows": 7},
                              ts=timezone.now() - datetime.timedelta(hours=2))
    response = scrape()
    assert value(response, "ecomind_schema_errors") == 1
    assert value(response, "ecomind_schema_warnings") == 1
    assert 0 <= value(response, "ecomind_schema_verdict_age_seconds") < 60
    assert value(response, "ecomind_rollups_divergent_rows") == 7
    assert 7190 < value(response, "ecomind_rollups_verdict_age_seconds") < 7260
    assert value(response, "ecomind_verification_recorded", check="schema") == 1

    record_schema_verdict([])  # the next run finds the drift mended
    assert value(scrape(), "ecomind_schema_errors") == 0


def test_worker_lag_and_events_per_minute(token):
    now = timezone.now()
    factories.EventFactory.create_batch(10, ts=now - datetime.timedelta(minutes=2))
    factories.EventFactory(ts=now - datetime.timedelta(seconds=95))
    factories.EventFactory.create_batch(50, ts=now - datetime.timedelta(hours=3))  # outside the window
    response = scrape()
    assert 95 <= value(response, "ecomind_newest_event_age_seconds") < 120
    assert value(response, "ecomind_events_per_minute") == pytest.approx(11 / 5)


def test_an_event_dated_in_the_future_is_no_negative_lag(token):
    factories.EventFactory(ts=timezone.now() + datetime.timedelta(minutes=3))
    assert value(scrape(), "ecomind_newest_event_age_seconds") == 0


def test_sign_in_failures_and_lockouts_of_the_last_15_minutes(token):
    now = timezone.now()
    factories.AuditLogFactory.create_batch(4, action=LOGIN_FAILED, resource="admin", ts=now - datetime.timedelta(minutes=3))
    factories.AuditLogFactory.create_batch(2, action=LOCKOUT, resource="admin", ts=now - datetime.timedelta(minutes=10))
    factories.AuditLogFactory.create_batch(9, action=LOGIN_FAILED, resource="admin", ts=now - datetime.timedelta(minutes=40))
    factories.AuditLogFactory.create_batch(3, action=LOCKOUT, resource="admin", ts=now - datetime.timedelta(hours=2))
    response = scrape()
    assert value(response, "ecomind_signin_failures_recent") == 4
    assert value(response, "ecomind_signin_lockouts_recent") == 2


def test_real_failed_sign_ins_are_counted(token, django_user_model):
    django_user_model.objects.create_user("support", password="right-password-2026", is_staff=True)
    client = Client()
    for _ in range(3):
        client.post(reverse("admin:login"), {"username": "support", "password": "wrong"})
    assert value(scrape(), "ecomind_signin_failures_recent") == 3


def test_admin_page_latency_by_page_name_not_path(token, admin_client):
    before = value(scrape(), "ecomind_admin_request_duration_seconds_count", page="ecomind_core_auditlog_change", method="GET") or 0
    for row in factories.AuditLogFactory.create_batch(3):
        assert admin_client.get(reverse("admin:ecomind_core_auditlog_change", args=[quote(row.pk)])).status_code == 200
    admin_client.get("/not-an-admin-page/")
    response = scrape()
    assert value(response, "ecomind_admin_request_duration_seconds_count", page="ecomind_core_auditlog_change", method="GET") == before + 3
    pages = {dict(labels).get("page") for name, labels in samples(response) if name.startswith("ecomind_admin_request")}
    assert not any("/" in (page or "") for page in pages), pages  # ids never become labels


def statements_of_one_scrape():
    with CaptureQueriesContext(connection) as queries:
        scrape()
    return [q["sql"] for q in queries.captured_queries]


def test_a_scrape_sends_the_same_few_statements_whatever_the_data(token):
    empty = statements_of_one_scrape()
    for hours in range(50):
        factories.AuditLogFactory(action=ROLLUPS_VERIFY, resource="rollups", details={"divergent_rows": 0},
                                  ts=timezone.now() - datetime.timedelta(hours=hours))
        record_schema_verdict([])
    factories.EventFactory.create_batch(200)
    factories.AuditLogFactory.create_batch(100, action=LOGIN_FAILED, resource="admin")
    full = statements_of_one_scrape()
    assert len(full) == len(empty) <= 11  # (the 11th: the partitions' bounds, from the catalog)
    # Events are read through the ts index only (the catalog's partition bounds name the table, and read no row).
    assert not any("events_enriched" in s and "max(ts)" not in s and "ts >=" not in s and "pg_inherits" not in s
                   for s in full)


def test_a_migration_not_applied_is_pending_in_its_stage(token):
    with connection.cursor() as cursor:  # (rolled back with the test)
        cursor.execute("DELETE FROM django_migrations WHERE app = 'ecomind_core' AND name = '0005_audit_log_append_only_per_statement'")
    response = scrape()
    assert value(response, "ecomind_migrations_pending", stage="pre_deploy") == 1
    assert value(response, "ecomind_migrations_pending", stage="post_deploy") == 0


def test_months_of_partitions_ready_per_table(token):
    from django.conf import settings

    response = scrape()
    for table in ("events_enriched", "audit_logs"):
        assert value(response, "ecomind_partition_months_ahead", table=table) == settings.PARTITIONS_AHEAD
