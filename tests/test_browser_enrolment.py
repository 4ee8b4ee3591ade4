"""A real browser walks the whole enrolment: an operator's link, the password, the QR code, one code, the recovery codes.

Headless Chromium (tests/test_browser_admin.py has the flags and why). The
operator runs ``enrolment_link`` as a real process; the staff member opens
the printed link, signs in with the password, reads the key the page shows
and types the code an authenticator app would compute from it
(tests/totp.py), keeps the recovery codes, and lands in the admin. Signing
in again later works with a recovery code. Screenshots of each page go to
test-artifacts/.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tests import totp
from tests.dbtools import manage
from tests.test_browser_admin import browser, screenshot  # noqa: F401 -- browser is a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Al1ce-own-Passphrase"


def test_a_staff_member_enrols_from_a_link_in_the_browser(browser, live_server, settings):  # noqa: F811
    from selenium.webdriver.common.by import By

    settings.ADMIN_REQUIRE_2FA = True
    get_user_model().objects.create_user("alice", password=PASSWORD, is_staff=True, is_superuser=True)
    issued = manage("enrolment_link", "alice", "--base-url", live_server.url, database=connection.settings_dict["NAME"])
    assert issued.returncode == 0, issued.stderr
    [link] = re.findall(r"http://\S+/admin/enrol/\S+/", issued.stdout)

    browser.get(link)
    assert browser.current_url.endswith("/admin/enrol/")  # the token left the address bar
    assert browser.find_element(By.ID, "enrolment-account").text == "alice"
    screenshot(browser, "enrolment-password.png")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#enrolment-password-form input[type=submit]").click()

    qr_code = browser.find_element(By.CSS_SELECTOR, "img.enrolment-qr")
    assert qr_code.get_attribute("src").startswith("data:image/svg+xml")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 100", qr_code)
    key = browser.find_element(By.ID, "enrolment-key").text.replace(" ", "")
    screenshot(browser, "enrolment-qr-code.png")
    browser.find_element(By.NAME, "otp_token").send_keys(totp.code(f"otpauth://totp/x?secret={key}"))
    browser.find_element(By.CSS_SELECTOR, "#enrolment-code-form input[type=submit]").click()

    codes = [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#recovery-codes li")]
    assert len(set(codes)) == 10
    screenshot(browser, "enrolment-recovery-codes.png")
    browser.find_element(By.ID, "enrolment-continue").click()
    assert browser.find_element(By.LINK_TEXT, "Audit logs")  # in the admin, signed in with the new device

    browser.find_element(By.CSS_SELECTOR, "#logout-form button").click()
    browser.find_element(By.LINK_TEXT, "Log in again")  # the sign-out has finished (a loaded machine can be slow)
    browser.get(f"{live_server.url}/admin/")
    for name, value in (("username", "alice"), ("password", PASSWORD), ("otp_token", codes[0])):
        browser.find_element(By.NAME, name).send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    browser.find_element(By.LINK_TEXT, "Audit logs").click()
    browser.find_element(By.LINK_TEXT, "Sign-ins, failures and lockouts").click()
    actions = [row.find_element(By.CSS_SELECTOR, ".field-action").text
               for row in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")]
    assert actions == ["auth.login", "auth.logout", "auth.login", "auth.enrol_totp", "auth.enrolment_link"]
    page = browser.page_source
    assert key not in page and not any(code in page for code in codes)  # the audit trail holds neither
    screenshot(browser, "enrolment-audit-trail.png")
