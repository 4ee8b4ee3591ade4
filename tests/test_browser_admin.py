"""A real browser: headless Chromium (Debian's package) drives the audit log and the sign-in.

Logs in as staff, opens the audit log, filters it, opens one entry; signs in
with a two-factor code computed as an authenticator app would (tests/totp.py)
from what ``enrol_totp`` printed. Saves screenshots to test-artifacts/.
Skipped where chromium is not installed, except under CI, where it must run
(scripts/test installs it).
"""

import os
import shutil
import tempfile

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from ecomind_core import factories
from ecomind_core.admin.login import TWO_FACTOR_REFUSAL
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


def test_staff_filters_the_audit_log_and_reads_an_entry(browser, live_server):
    from selenium.webdriver.common.by import By

    get_user_model().objects.create_user("support", password="support-pw-2026", is_staff=True, is_superuser=True)
    factories.AuditLogFactory(action="export", resource="report", details={"rows": 1200, "format": "csv"})
    factories.AuditLogFactory.create_batch(5, action="login", resource="org")

    browser.get(f"{live_server.url}/admin/")
    browser.find_element(By.NAME, "username").send_keys("support")
    browser.find_element(By.NAME, "password").send_keys("support-pw-2026")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    browser.find_element(By.LINK_TEXT, "Audit logs").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")) == 7  # the six above and this sign-in

    browser.find_element(By.LINK_TEXT, "export").click()  # the action filter
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1 and "export" in rows[0].text

    rows[0].find_element(By.CSS_SELECTOR, "th a").click()
    details = browser.find_element(By.CSS_SELECTOR, "pre.audit-details").text
    assert '"format": "csv"' in details and '"rows": 1200' in details
    assert not browser.find_elements(By.NAME, "_save")  # read-only: no save button

    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "admin-audit-log.png"))


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
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "admin-two-factor-sign-in.png"))

    sign_in(totp.code(uri))
    browser.find_element(By.LINK_TEXT, "Audit logs").click()
    browser.find_element(By.LINK_TEXT, "Sign-ins, failures and lockouts").click()
    actions = [row.find_element(By.CSS_SELECTOR, ".field-action").text
               for row in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")]
    assert actions == ["auth.login", "auth.login_failed", "auth.enrol_totp"]
