"""A real browser (headless Chromium, as tests/test_browser_admin.py drives it) on the Schema health page.

Staff open it from the side bar with a drift recorded, then after the next
verification found the schema matching; a screenshot of each goes to
test-artifacts/ (admin-schema-health-drift.png, admin-schema-health-match.png).
"""

import datetime

import pytest
from django.utils import timezone

from ecomind_core import factories
from ecomind_core.catalog.findings import finding
from ecomind_core.monitoring.verdicts import VERIFY, record_schema_verdict
from tests.test_browser_admin import browser, log_in, screenshot  # noqa: F401 (browser is a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
OWNED = {"events_enriched", "users"}


def history():
    """A month of hourly-ish verdicts: matched, a drift three days ago, a day the job did not run."""
    now = timezone.now()
    for days_ago in range(1, 30):
        if days_ago == 12:
            continue  # the job did not run that day
        errors = 2 if days_ago == 3 else 0
        factories.AuditLogFactory(action=VERIFY, resource="schema", ts=now - datetime.timedelta(days=days_ago),
                                  details={"verdict": "drift" if errors else "match", "errors": errors, "warnings": 0})


def test_schema_health_with_a_drift_then_without(browser, live_server):  # noqa: F811
    from selenium.webdriver.common.by import By

    history()
    record_schema_verdict([
        finding("index_missing", "ix_events_enriched_ts", "(ts)", "absent", table="events_enriched", owned_tables=OWNED),
        finding("column_nullability", "users.email", "NOT NULL", "NULL", table="users", owned_tables=OWNED),
        finding("table_unowned", "scratch_import", "absent", "present", table="scratch_import"),
    ])
    log_in(browser, live_server)
    browser.find_element(By.LINK_TEXT, "Audit logs").click()  # the index has no side bar; a changelist has
    browser.find_element(By.CSS_SELECTOR, "#nav-sidebar a[href$='/admin/ecomind/schema-health/']").click()
    assert browser.find_element(By.CSS_SELECTOR, "h1").text == "Schema health"
    verdict = browser.find_element(By.ID, "schema-verdict")
    assert "drift" in verdict.get_attribute("class") and verdict.text.startswith("Drift found on")
    rows = browser.find_elements(By.CSS_SELECTOR, "#schema-findings tbody tr")
    assert [row.find_element(By.CSS_SELECTOR, "td").text for row in rows] == ["Error", "Error", "Warning"]
    assert "Index ix_events_enriched_ts is missing." in rows[0].text
    marks = browser.find_elements(By.CSS_SELECTOR, "#schema-history rect.mark")
    assert len(marks) == 30
    states = [mark.get_attribute("class").split()[-1] for mark in marks]
    assert states.count("drift") == 2 and states.count("none") == 1  # three days ago and today; the missed day
    assert browser.find_elements(By.CSS_SELECTOR, "#schema-history rect.bar")
    # The page fits the window: no sideways scroll at 1280 pixels.
    assert browser.execute_script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    screenshot(browser, "admin-schema-health-drift.png")

    record_schema_verdict([])  # the next scheduled run: mended
    browser.refresh()
    verdict = browser.find_element(By.ID, "schema-verdict")
    assert "match" in verdict.get_attribute("class") and verdict.text.startswith("Matches on")
    assert not browser.find_elements(By.ID, "schema-findings")
    applied = browser.find_elements(By.CSS_SELECTOR, "#applied-migrations tbody tr")
    assert any(row.text.startswith("ecomind_core.0001_initial") for row in applied)
    screenshot(browser, "admin-schema-health-match.png")
