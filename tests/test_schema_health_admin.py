"""The Schema health page: the newest verdict in plain words, migrations applied and pending, the history.

In-process (Django's test client on the pytest-django database); the
verdicts are what ``verify_schema --record`` writes (verdicts.py).
"""

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ecomind_core import factories
from ecomind_core.admin.auditors_group import AUDITORS
from ecomind_core.catalog.findings import finding
from ecomind_core.monitoring.schema_health import HISTORY_DAYS, history_chart, plain_words
from ecomind_core.monitoring.verdicts import VERIFY, record_schema_verdict

pytestmark = pytest.mark.django_db
PAGE = reverse("admin:schema_health")
OWNED = {"events_enriched", "users"}


def drift():
    return [
        finding("index_missing", "ix_events_enriched_ts", "(ts)", "absent", table="events_enriched", owned_tables=OWNED),
        finding("column_type", "users.email", "text", "character varying(100)", table="users", owned_tables=OWNED),
        finding("table_unowned", "scratch", "absent", "present", table="scratch"),
    ]


def text(response):
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def test_never_verified_says_how_to_get_a_verdict(admin_client):
    page = text(admin_client.get(PAGE))
    assert "<strong>Never verified</strong>: no <code>verify_schema --record</code> run" in page


def test_drift_shows_each_finding_in_plain_words_with_its_fix(admin_client):
    record_schema_verdict(drift())
    page = text(admin_client.get(PAGE))
    assert '<div id="schema-verdict" class="schema-verdict drift"><strong>Drift</strong> found on' in page
    assert "in 2 errors and 1 warning" in page
    assert "Index ix_events_enriched_ts is missing." in page
    assert "Column users.email has another type." in page
    assert "Expected text; found character varying(100)." in page
    assert "ALTER TABLE users ALTER COLUMN users.email TYPE text" in page
    rows = re.findall(r'<td class="severity-(\w+)">', page)
    assert rows == ["error", "error", "warning"]  # errors first


def test_a_match_after_a_drift_shows_the_match(admin_client):
    record_schema_verdict(drift())
    record_schema_verdict([])
    page = text(admin_client.get(PAGE))
    assert "<strong>Matches</strong> on " in page and 'id="schema-findings"' not in page


def test_plain_words_cover_every_kind_of_finding():
    from ecomind_core.catalog.findings import KINDS

    for kind in KINDS:
        words = plain_words({"kind": kind, "object": "thing", "severity": "error"})["sentence"]
        assert "_" not in words.replace("thing", ""), (kind, words)


def test_applied_migrations_with_when_and_who(admin_client):
    factories.AuditLogFactory(action="schema.baseline", resource="database",
                              details={"by": "ops-alice", "migrations_recorded": ["ecomind_core.0001_initial"]})
    page = text(admin_client.get(PAGE))
    assert re.search(r"<tr><td>ecomind_core\.0001_initial</td><td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td><td>ops-alice</td></tr>", page)
    assert re.search(r"<tr><td>ecomind_core\.0005_audit_log_append_only_per_statement</td><td>[^<]+</td><td>not recorded</td></tr>", page)
    assert "Pre-deploy (before the rollout: <code>migrate --pre-deploy</code>)</td><td>none</td>" in page


def test_pending_migrations_are_listed_by_stage(admin_client):
    with connection.cursor() as cursor:  # (rolled back with the test)
        cursor.execute("DELETE FROM django_migrations WHERE app = 'ecomind_core' AND name = '0005_audit_log_append_only_per_statement'")
    page = text(admin_client.get(PAGE))
    assert "Pre-deploy (before the rollout: <code>migrate --pre-deploy</code>)</td><td>ecomind_core.0005_audit_log_append_only_per_statement</td>" in page


def test_history_has_a_slot_per_day_and_a_bar_for_a_drifted_day():
    now = timezone.now()
    for days_ago, errors in ((0, 0), (2, 3), (2, 0), (5, 0)):
        factories.AuditLogFactory(action=VERIFY, resource="schema", ts=now - datetime.timedelta(days=days_ago),
                                  details={"verdict": "drift" if errors else "match", "errors": errors, "warnings": 0})
    chart, marks = history_chart(now=now)
    assert len(marks) == HISTORY_DAYS
    states = {mark.day: mark.state for mark in marks}
    today = now.date()
    assert states[today] == "match" and states[today - datetime.timedelta(days=2)] == "drift"
    assert states[today - datetime.timedelta(days=1)] == "none"
    assert [bar.value for bar in chart.bars] == [3]  # the day's worst run
    assert [tick.label for tick in chart.y_ticks] == ["0", "1", "2", "3"]  # counts: no tick between two
    assert chart.unit == "errors"


def test_the_page_reads_the_same_statements_whatever_the_history(admin_client):
    def statements():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(PAGE).status_code == 200
        return len(queries.captured_queries)

    record_schema_verdict(drift())
    few = statements()
    for hours in range(300):
        factories.AuditLogFactory(action=VERIFY, resource="schema", ts=timezone.now() - datetime.timedelta(hours=hours),
                                  details={"verdict": "match", "errors": 0, "warnings": 0, "findings": []})
    assert statements() == few


def test_linked_for_auditors_and_refused_to_other_staff(client, django_user_model):
    auditor = django_user_model.objects.create_user("auditor", password="pw-123456", is_staff=True)
    auditor.groups.add(Group.objects.get(name=AUDITORS))
    client.force_login(auditor)
    index = client.get(reverse("admin:index")).content.decode()
    assert f'href="{PAGE}"' in index and ">Schema health<" in index
    assert client.get(PAGE).status_code == 200

    staff = django_user_model.objects.create_user("staff", password="pw-123456", is_staff=True)
    client.force_login(staff)
    assert PAGE not in client.get(reverse("admin:index")).content.decode()
    assert client.get(PAGE).status_code == 403
