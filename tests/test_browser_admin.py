"""A real browser: headless Chromium (Debian's package) at 1280x900 drives the admin and the sign-in.

Logs in as staff; filters the audit log and opens one entry; reads the
events list's footprint columns without scrolling sideways; opens the Daily
footprint page from the side bar; signs in with a two-factor code computed as
an authenticator app would (tests/totp.py) from what ``enrol_totp`` printed.
Saves a screenshot of each page to test-artifacts/. Skipped where chromium is
not installed, except under CI, where it must run (scripts/test installs it).
"""

import base64
import datetime
import os
import shutil
import tempfile

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from ecomind_core import factories
from ecomind_core.admin.login import TWO_FACTOR_REFUSAL
from ecomind_core.rollups import rebuild_daily_totals
from tests import totp
from tests.dbtools import ROOT, manage

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTIFACTS = ROOT / "test-artifacts"
# The flags this machine needs: root, no GPU, no network beyond localhost.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900",
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver must be installed under CI (scripts/ensure-chromium)")
        pytest.skip("chromium/chromedriver not installed: run scripts/ensure-chromium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # An explicit driver path: Selenium Manager never tries to download one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def log_in(browser, live_server):
    from selenium.webdriver.common.by import By

    get_user_model().objects.create_user("support", password="support-pw-2026", is_staff=True, is_superuser=True)
    browser.get(f"{live_server.url}/admin/")
    browser.find_element(By.NAME, "username").send_keys("support")
    browser.find_element(By.NAME, "password").send_keys("support-pw-2026")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()


def screenshot(browser, name):
    """The whole page, beyond the window's 900 pixels, as a PNG in test-artifacts/ (Chromium's DevTools)."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
    })
    (ARTIFACTS / name).write_bytes(base64.b64decode(shot["data"]))


def test_staff_filters_the_audit_log_and_reads_an_entry(browser, live_server):
    from selenium.webdriver.common.by import By

    factories.AuditLogFactory(action="export", resource="report", details={"rows": 1200, "format": "csv"})
    factories.AuditLogFactory.create_batch(5, action="login", resource="org")

    log_in(browser, live_server)
    browser.find_element(By.LINK_TEXT, "Audit logs").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")) == 7  # the six above and this sign-in

    browser.find_element(By.LINK_TEXT, "export").click()  # the action filter
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1 and "export" in rows[0].text

    rows[0].find_element(By.CSS_SELECTOR, "th a").click()
    details = browser.find_element(By.CSS_SELECTOR, "pre.audit-details").text
    assert '"format": "csv"' in details and '"rows": 1200' in details
    assert not browser.find_elements(By.NAME, "_save")  # read-only: no save button

    screenshot(browser, "admin-audit-log.png")


def test_events_list_shows_the_footprint_at_1280_pixels_without_scrolling_sideways(browser, live_server):
    from selenium.webdriver.common.by import By

    org = factories.OrganisationFactory()
    factories.EventFactory.create_batch(12, org_id=org.pk, tokens_in=3999, tokens_out=1999)
    factories.EventFactory(id="7d0e6f2a-8c1b-4f3e-9a57-0b6c2d1e4f38", org_id=org.pk, model="claude-sonnet-4-5-20250929")

    log_in(browser, live_server)
    assert browser.get_window_size()["width"] == 1280
    browser.find_element(By.LINK_TEXT, "Events").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")) == 13
    screenshot(browser, "admin-events.png")
    edges = browser.execute_script("""
        const edge = selector => document.querySelector(selector).getBoundingClientRect().right;
        return {co2: edge("#result_list th.column-co2"), results: edge("#changelist .results"),
                window: document.documentElement.clientWidth, page: document.documentElement.scrollWidth};
    """)
    # The CO2 column ends inside the window, the table inside its box, the page needs no sideways scroll.
    assert edges["co2"] <= edges["results"] <= edges["window"] and edges["page"] <= edges["window"], edges
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#result_list thead th")]
    assert any("kWh" in h for h in headers) and any("litres" in h for h in headers) and any("kg" in h for h in headers), headers


def test_daily_footprint_page_from_the_side_bar_shows_axes_and_units(browser, live_server):
    from selenium.webdriver.common.by import By

    org = factories.OrganisationFactory(name="Greenco")
    today = timezone.now().replace(hour=12)
    for days_ago in (1, 2, 3, 5, 8, 9, 13, 20, 27):
        factories.EventFactory.create_batch(days_ago % 4 + 1, org_id=org.pk, ts=today - datetime.timedelta(days=days_ago))
    rebuild_daily_totals()

    log_in(browser, live_server)
    browser.find_element(By.LINK_TEXT, "Audit logs").click()
    browser.find_element(By.CSS_SELECTOR, "#nav-sidebar a[href$='/admin/ecomind/daily/']").click()
    assert browser.find_element(By.CSS_SELECTOR, "h1").text == "Daily footprint"
    # The boxes hold the default period shown: the last 30 days with data.
    last_day = (today - datetime.timedelta(days=1)).date()
    assert browser.find_element(By.NAME, "end").get_attribute("value") == last_day.isoformat()
    assert browser.find_element(By.NAME, "start").get_attribute("value") == (last_day - datetime.timedelta(days=29)).isoformat()
    charts = browser.find_elements(By.CSS_SELECTOR, "figure.daily-chart svg")
    assert len(charts) == 3
    for chart, unit in zip(charts, ("kWh", "litres", "kg")):
        assert chart.find_element(By.CSS_SELECTOR, "text.unit").text == unit
        assert len(chart.find_elements(By.CSS_SELECTOR, "line.grid")) >= 3
        dates = [t.text for t in chart.find_elements(By.CSS_SELECTOR, "text.tick[text-anchor=middle]")]
        assert dates[-1] == f"{last_day.day} {last_day:%b} {last_day.year}" and len(dates) >= 4, dates
    screenshot(browser, "admin-daily-footprint.png")

    for name, day in (("start", "2020-01-01"), ("end", "2020-01-31")):  # a month with no calls
        browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.NAME, name), day)
    browser.find_element(By.CSS_SELECTOR, "form.daily-period input[type=submit]").click()
    assert "No footprint recorded" in browser.find_element(By.CSS_SELECTOR, "p.daily-empty").text
    assert not browser.find_elements(By.CSS_SELECTOR, "figure.daily-chart")
    screenshot(browser, "admin-daily-footprint-empty.png")


def test_staff_signs_in_with_a_code_from_the_authenticator_app(browser, live_server, settings):
    from selenium.webdriver.common.by import By

    settings.ADMIN_REQUIRE_2FA = True
    get_user_model().objects.create_user("support", password="support-pw-2026", is_staff=True, is_superuser=True)
    enrolled = manage("enrol_totp", "support", database=connection.settings_dict["NAME"])
    assert enrolled.returncode == 0, enrolled.stderr
    uri = next(line.strip() for line in enrolled.stdout.splitlines() if line.strip().startswith("otpauth://"))

    def sign_in(code):
        for name, value in (("username", "support"), ("password", "support-pw-2026"), ("otp_token", code)):
            field = browser.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)
        browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    browser.get(f"{live_server.url}/admin/")
    sign_in("")  # the password alone
    assert TWO_FACTOR_REFUSAL in browser.find_element(By.CSS_SELECTOR, "p.errornote").text
    screenshot(browser, "admin-two-factor-sign-in.png")

    sign_in(totp.code(uri))
    browser.find_element(By.LINK_TEXT, "Audit logs").click()
    browser.find_element(By.LINK_TEXT, "Sign-ins, failures and lockouts").click()
    actions = [row.find_element(By.CSS_SELECTOR, ".field-action").text
               for row in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")]
    assert actions == ["auth.login", "auth.login_failed", "auth.enrol_totp"]
