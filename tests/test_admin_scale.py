"""The admin on big tables: exact-id search through an index, and keyset paging to the very end.

Plans are read with EXPLAIN on the very statements the changelist ran, over
tables filled (20,000 rows each) and analysed so that the planner prefers a
sequential scan wherever no index serves; never wall-clock times (those are
in benchmarks/admin_search_paging.py).
"""

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.admin.views.main import ERROR_FLAG, SEARCH_VAR
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ecomind_core import factories
from ecomind_core.admin.keyset import NEWER, OLDER, OLDEST
from ecomind_core.models import AuditLog, Event

pytestmark = pytest.mark.django_db

AUDIT_CHANGELIST = reverse("admin:ecomind_core_auditlog_changelist")
EVENT_CHANGELIST = reverse("admin:ecomind_core_event_changelist")
ORG_CHANGELIST = reverse("admin:ecomind_core_organisation_changelist")
USER_CHANGELIST = reverse("admin:ecomind_core_customeruser_changelist")
BIG = 20_000

# A thousand organisations (20 rows each) and 2,000 users (10 rows each): an
# id picks out a few rows, which its index finds. (For an id with thousands of
# rows spread over time the planner may rather read the timestamp index newest
# first and filter: also an index scan, stopping after one page of rows.)
FILL_AUDIT = """
    INSERT INTO audit_logs (id, org_id, user_id, action, resource, details, ts)
    SELECT 'audit_' || lpad(to_hex(i), 24, '0'), 'org_' || lpad(to_hex(i %% 1000), 12, '0'),
           'user_' || lpad(to_hex(i %% 2000), 12, '0'), (ARRAY['login','export','update','invite'])[1 + i %% 4],
           'org', json_build_object('n', i), timestamp '2025-01-01' + i * interval '13 seconds'
    FROM generate_series(1, %s) i"""
FILL_EVENTS = """
    INSERT INTO events_enriched (id, org_id, user_id, provider, model, kwh, water_l, co2_kg, ts)
    SELECT 'evt_' || lpad(to_hex(i), 24, '0'), 'org_' || lpad(to_hex(i %% 1000), 12, '0'),
           'user_' || lpad(to_hex(i %% 2000), 12, '0'), (ARRAY['openai','anthropic','google'])[1 + i %% 3],
           'model-' || (i %% 7), 0.0017, 0.003, 0.0007, timestamp '2025-01-01' + i * interval '13 seconds'
    FROM generate_series(1, %s) i"""


def listed(response):
    assert response.status_code == 200, response.status_code
    return [row.pk for row in response.context["cl"].result_list]


# --- exact-id search: behaviour ------------------------------------------------------------------

def test_audit_search_finds_exact_ids_with_stray_spaces_and_only_as_stored(admin_client):
    row = factories.AuditLogFactory(org_id="org_00000000abcd", user_id="user_00000000beef")
    system = factories.AuditLogFactory(org_id="system", user_id=None)
    factories.AuditLogFactory.create_batch(3)
    for term in (row.pk, f"  {row.pk} ", f"\t{row.org_id}", f"{row.user_id}  "):
        assert listed(admin_client.get(AUDIT_CHANGELIST, {SEARCH_VAR: term})) == [row.pk], term
    assert listed(admin_client.get(AUDIT_CHANGELIST, {SEARCH_VAR: "system"})) == [system.pk]
    for term in (row.pk.upper(), row.org_id.upper(), row.pk[:-1], "audit_"):
        assert listed(admin_client.get(AUDIT_CHANGELIST, {SEARCH_VAR: term})) == [], term


def test_event_search_finds_exact_ids_including_the_workers_uuids(admin_client):
    event = factories.EventFactory(org_id="org_00000000abcd", user_id="user_00000000beef")
    worker_event = factories.EventFactory(id="7d0e6f2a-8c1b-4f3e-9a57-0b6c2d1e4f38")
    factories.EventFactory.create_batch(3)
    for term in (f" {event.pk} ", event.org_id, f"{event.user_id} "):
        assert listed(admin_client.get(EVENT_CHANGELIST, {SEARCH_VAR: term})) == [event.pk], term
    assert listed(admin_client.get(EVENT_CHANGELIST, {SEARCH_VAR: f" {worker_event.pk}"})) == [worker_event.pk]
    for term in (event.pk.upper(), worker_event.pk.upper(), event.user_id.upper()):
        assert listed(admin_client.get(EVENT_CHANGELIST, {SEARCH_VAR: term})) == [], term


def test_organisation_and_user_search_by_exact_id_or_by_name(admin_client):
    org = factories.OrganisationFactory(name="Greenco")
    user = factories.CustomerUserFactory(org=org, email="ada@greenco.example")
    other = factories.CustomerUserFactory()
    assert listed(admin_client.get(ORG_CHANGELIST, {SEARCH_VAR: f" {org.pk} "})) == [org.pk]
    assert listed(admin_client.get(ORG_CHANGELIST, {SEARCH_VAR: org.pk.upper()})) == []
    assert listed(admin_client.get(ORG_CHANGELIST, {SEARCH_VAR: "greenc"})) == [org.pk]
    assert listed(admin_client.get(USER_CHANGELIST, {SEARCH_VAR: f"{user.pk}  "})) == [user.pk]
    assert listed(admin_client.get(USER_CHANGELIST, {SEARCH_VAR: org.pk})) == [user.pk]
    assert listed(admin_client.get(USER_CHANGELIST, {SEARCH_VAR: user.pk.upper()})) == []
    assert listed(admin_client.get(USER_CHANGELIST, {SEARCH_VAR: "ADA@"})) == [user.pk]
    assert other.pk not in listed(admin_client.get(USER_CHANGELIST, {SEARCH_VAR: user.pk}))


# --- exact-id search and paging: plans on analysed big tables -------------------------------------

def analysed(*tables):
    """Fill ``tables`` (``(name, INSERT)`` pairs) with BIG rows and ANALYZE them; TRUNCATE them after.

    For tests with committed data only (``transaction=True``): ANALYZE writes
    a table's row count in place, which a rollback would not undo, so later
    tests would plan for 20,000 rows in an empty table. A committed TRUNCATE
    resets it.
    """
    with connection.cursor() as cursor:
        for table, fill in tables:
            cursor.execute(fill, [BIG])
            cursor.execute(f"ANALYZE {table}")
    yield BIG
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(table for table, _ in tables)} CASCADE")


@pytest.fixture
def big_tables():
    yield from analysed(("audit_logs", FILL_AUDIT), ("events_enriched", FILL_EVENTS))


def plans_of_page_queries(admin_client, url, params, table, term=""):
    """EXPLAIN of every statement the changelist ran that reads rows of ``table`` (and names ``term``)."""
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url, params)
    assert response.status_code == 200
    statements = [
        q["sql"] for q in queries
        if f'FROM "{table}"' in q["sql"] and term in q["sql"] and not q["sql"].startswith("EXPLAIN")
    ]
    assert statements
    plans = []
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(f"EXPLAIN {sql}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return response, plans


def index_scans(plan):
    """The indexes a plan reads; a partition's index is named by its partitioned table's index, which it belongs to."""
    scanned = set(re.findall(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)", plan))
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname, coalesce(p.relname, c.relname) FROM pg_class c "
                       "LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent "
                       "WHERE c.relname = ANY(%s)", [sorted(scanned)])
        return {parent for _, parent in cursor.fetchall()}


def table_scans(plan):
    """Tables the plan reads whole, less the partitions that hold no row (the months ahead: nothing to read)."""
    scanned = re.findall(r"Seq Scan on (\w+)", plan)
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relispartition AND relpages = 0",
                       [scanned])
        empty = {name for (name,) in cursor.fetchall()}
    return [name for name in scanned if name not in empty]


def explain(queryset):
    return queryset.explain()


@pytest.mark.django_db(transaction=True)
def test_the_planner_would_scan_these_tables_for_a_case_insensitive_match(big_tables):
    # The test data are big enough to matter: Django's "=" search reads the table.
    assert "Seq Scan on audit_logs" in explain(AuditLog.objects.filter(id__iexact="audit_" + "0" * 20 + "1234"))
    assert "Seq Scan on events_enriched" in explain(Event.objects.filter(user_id__iexact="user_0000000000ff"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url, table, term, indexes", [
    (AUDIT_CHANGELIST, "audit_logs", "audit_" + "0" * 20 + "1234", {"audit_logs_pkey"}),
    (AUDIT_CHANGELIST, "audit_logs", " org_0000000000ab ", {"ix_audit_logs_org_id"}),
    (AUDIT_CHANGELIST, "audit_logs", "user_0000000000ff", {"ix_audit_logs_user_id"}),
    (AUDIT_CHANGELIST, "audit_logs", "system", {"audit_logs_pkey", "ix_audit_logs_org_id", "ix_audit_logs_user_id"}),
    (EVENT_CHANGELIST, "events_enriched", "evt_" + "0" * 20 + "1234", {"events_enriched_pkey"}),
    (EVENT_CHANGELIST, "events_enriched", "org_0000000000ab", {"ix_events_org_ts", "ix_events_enriched_org_id"}),
    (EVENT_CHANGELIST, "events_enriched", "user_0000000000ff ", {"ix_events_user_ts", "ix_events_enriched_user_id"}),
    (EVENT_CHANGELIST, "events_enriched", "7d0e6f2a-8c1b-4f3e-9a57-0b6c2d1e4f38", {"events_enriched_pkey"}),
])
def test_exact_id_search_reads_through_an_index(admin_client, big_tables, url, table, term, indexes):
    response, plans = plans_of_page_queries(admin_client, url, {SEARCH_VAR: term}, table, term.strip())
    for plan in plans:
        assert table_scans(plan) == [], plan
        assert index_scans(plan) & indexes, plan
    if term.strip() not in ("system",) and "-" not in term:
        assert listed(response)


@pytest.fixture
def big_orgs_and_users():
    yield from analysed(
        ("orgs", "INSERT INTO orgs (id, name) SELECT 'org_' || lpad(to_hex(i), 12, '0'), 'Org ' || i FROM generate_series(1, %s) i"),
        ("users", """INSERT INTO users (id, org_id, email) SELECT 'user_' || lpad(to_hex(i), 12, '0'),
                     'org_' || lpad(to_hex(1 + i %% 100), 12, '0'), 'u' || i || '@example.com' FROM generate_series(1, %s) i"""),
    )


@pytest.mark.django_db(transaction=True)
def test_organisation_and_user_id_search_reads_through_the_primary_key(admin_client, big_orgs_and_users):
    for url, table, term, index in (
        (ORG_CHANGELIST, "orgs", " org_000000000abc", "orgs_pkey"),
        (USER_CHANGELIST, "users", "user_000000000abc ", "users_pkey"),
    ):
        response, plans = plans_of_page_queries(admin_client, url, {SEARCH_VAR: term}, table, term.strip())
        assert listed(response) == [term.strip()]
        assert all("Seq Scan" not in plan and index in index_scans(plan) for plan in plans), plans


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url, table, index", [
    (AUDIT_CHANGELIST, "audit_logs", "ix_audit_logs_ts"),
    (EVENT_CHANGELIST, "events_enriched", "ix_events_enriched_ts"),
])
def test_every_page_to_the_oldest_reads_through_the_timestamp_index(admin_client, big_tables, url, table, index):
    newest = admin_client.get(url)
    pages = {"newest": {}, "oldest": {OLDEST: ""}}
    older = query_of(dict(newest.context["cl"].page_links)["Older ›"])
    pages["second"] = older
    deep = admin_client.get(url, older)
    pages["newer"] = query_of(dict(deep.context["cl"].page_links)["‹ Newer"])
    for name, params in pages.items():
        response, plans = plans_of_page_queries(admin_client, url, params, table)
        assert len(listed(response)) == 50, name
        for plan in plans:
            assert table_scans(plan) == [] and index in index_scans(plan), (name, plan)
    assert "about 20," in newest.content.decode()  # the planner's estimate, said as one


# --- keyset paging: behaviour ---------------------------------------------------------------------

def query_of(url):
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def follow(admin_client, url, params, label):
    """Visit pages by following the link ``label`` until there is none; every page's rows."""
    pages = []
    while True:
        response = admin_client.get(url, params)
        rows = listed(response)
        assert rows, f"an empty page behind {label!r}: {params}"
        pages.append(rows)
        links = dict(response.context["cl"].page_links)
        if links[label] is None:
            return pages, links
        params = query_of(links[label])


@pytest.fixture
def audit_rows():
    """123 rows: the newest three sharing one time, seven older ones sharing another, the rest apart; in the admin's order.

    (Every audit row has a time since migration 0006: ts is the partition key.)
    """
    start = timezone.now() - datetime.timedelta(days=400)
    rows = [
        *(AuditLog(id=f"audit_latest_{i:02}", org_id="org_1", action="login", resource="org",
                   ts=start + datetime.timedelta(days=30)) for i in range(3)),
        *(AuditLog(id=f"audit_tied_{i:02}", org_id="org_1", action="login", resource="org", ts=start) for i in range(7)),
        *(AuditLog(id=f"audit_{i:03}", org_id="org_1", action="export" if i % 2 else "login", resource="org",
                   ts=start + datetime.timedelta(hours=i)) for i in range(113)),
    ]
    AuditLog.objects.bulk_create(rows)
    return [r.id for r in sorted(rows, key=lambda r: (r.ts, r.id), reverse=True)]


def test_older_links_walk_to_the_real_end_without_an_empty_page(admin_client, audit_rows):
    pages, links = follow(admin_client, AUDIT_CHANGELIST, {}, "Older ›")
    assert [row for page in pages for row in page] == audit_rows
    assert [len(page) for page in pages] == [50, 50, 23]
    assert links["Oldest »"] is None and links["« Newest"] is not None


def test_the_oldest_page_is_the_real_last_page_and_newer_links_walk_back(admin_client, audit_rows):
    pages, links = follow(admin_client, AUDIT_CHANGELIST, {OLDEST: ""}, "‹ Newer")
    assert pages[0] == audit_rows[-50:]  # the oldest rows, newest first, the oldest row last
    assert links["‹ Newer"] is None and links["Older ›"] is not None
    assert pages[-1] == audit_rows[:50]  # back at the top: the newest page, full
    seen = [row for page in pages for row in page]
    assert set(seen) == set(audit_rows)


def test_paging_keeps_filters_and_search_and_filter_links_start_again(admin_client, audit_rows):
    exported = [row for row in audit_rows if row.startswith("audit_") and not row.startswith("audit_tied")
                and not row.startswith("audit_latest") and int(row[6:]) % 2]
    pages, _ = follow(admin_client, AUDIT_CHANGELIST, {"action": "export"}, "Older ›")
    assert [row for page in pages for row in page] == exported
    second = admin_client.get(AUDIT_CHANGELIST, query_of(dict(admin_client.get(AUDIT_CHANGELIST).context["cl"].page_links)["Older ›"]))
    page = second.content.decode()
    assert "?p=" not in page and "&amp;p=" not in page  # no page numbers at all
    filter_links = re.findall(r'href="(\?[^"]*action=export[^"]*)"', page)
    assert filter_links and all(OLDER not in link for link in filter_links)
    assert f'name="{OLDER}"' not in page  # the search form starts from the newest rows
    assert listed(second)[0] == audit_rows[50]


def test_a_position_whose_rows_have_gone_opens_a_page_with_rows(admin_client, audit_rows):
    last = admin_client.get(AUDIT_CHANGELIST, {OLDEST: ""}).context["cl"].keyset_page.rows[-1]
    beyond_the_end = {OLDER: f"{last.ts.isoformat()}|{last.pk}"}  # as if the oldest rows were purged
    assert listed(admin_client.get(AUDIT_CHANGELIST, beyond_the_end)) == audit_rows[-50:]
    first = AuditLog.objects.get(pk=audit_rows[0])
    assert listed(admin_client.get(AUDIT_CHANGELIST, {NEWER: f"{first.ts.isoformat()}|{first.pk}"})) == audit_rows[:50]


@pytest.mark.parametrize("position", ["nonsense", "2026-13-01T00:00:00|audit_1", "|"])
def test_a_malformed_position_is_refused_as_a_bad_query(admin_client, audit_rows, position):
    response = admin_client.get(AUDIT_CHANGELIST, {OLDER: position})
    assert response.status_code == 302 and response.url.endswith(f"?{ERROR_FLAG}=1")


def test_a_short_list_has_no_page_links(admin_client):
    factories.EventFactory.create_batch(3)
    response = admin_client.get(EVENT_CHANGELIST)
    assert len(listed(response)) == 3 and not response.context["cl"].multi_page
    assert "3 events" in response.content.decode() and "Older ›" not in response.content.decode()


def test_no_facet_counts_over_big_tables(admin_client):
    factories.EventFactory.create_batch(3)
    for url in (AUDIT_CHANGELIST, EVENT_CHANGELIST):
        with CaptureQueriesContext(connection) as queries:
            page = admin_client.get(url, {"_facets": "True"}).content.decode()
        assert "Show counts" not in page
        assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "LIMIT" not in q["sql"].upper()]
