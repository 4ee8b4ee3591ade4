"""Staff sign-in through the test client on the real PostgreSQL: lockout, audit rows, two-factor, sessions.

Codes are computed here (tests/totp.py), as an authenticator app would.
"""

import datetime
import json
import logging

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from ecomind_core.admin.login import TWO_FACTOR_REFUSAL
from ecomind_core.models import AuditLog
from ecomind_core.signin import two_factor
from ecomind_core.signin.client_address import client_address
from tests import totp
from tests.dbtools import manage

pytestmark = pytest.mark.django_db

LOGIN, INDEX, LOGOUT = reverse("admin:login"), reverse("admin:index"), reverse("admin:logout")
AUDIT_CHANGELIST = reverse("admin:ecomind_core_auditlog_changelist")
PASSWORD, BOB_PASSWORD, WRONG = "Corr3ct-horse-Staff", "B0b-s-own-Passphrase", "wr0ng-Guess-xyz"
HOME, ELSEWHERE, OFFICE = "203.0.113.5", "198.51.100.7", "192.0.2.44"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) EcoMindTest/1.0"
PRODUCTION = {"DEBUG": "false", "SECRET_KEY": "x" * 20 + "-production-secret-key-0123456789-abcdefghij",
              "ALLOWED_HOSTS": "ecomind.example.com"}


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password=PASSWORD, is_staff=True, is_superuser=True)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password=BOB_PASSWORD, is_staff=True)


@pytest.fixture
def two_factor_on(settings):
    settings.ADMIN_REQUIRE_2FA = True


@pytest.fixture
def log_lines():
    """Every log record, at every level, from every logger (Django's own do not propagate to the root)."""
    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Keep(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("", "django", "django.request")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield lines
    for logger, level in zip(loggers, levels):
        logger.removeHandler(handler)
        logger.setLevel(level)


def sign_in(client, username, password, code=None, address=HOME, **headers):
    data = {"username": username, "password": password, "next": INDEX}
    if code is not None:
        data["otp_token"] = code
    return client.post(LOGIN, data, REMOTE_ADDR=address, HTTP_USER_AGENT=BROWSER, **headers)


def signed_in(response):
    return response.status_code == 302 and response.url == INDEX


def details(action):
    return [row.details for row in AuditLog.objects.filter(action=action).order_by("ts", "id")]


def retyped_later():
    """As if the person took a few seconds to retype: django-otp refuses a device's codes
    for a second (then 2, 4, ...) after each wrong one."""
    for kind in (TOTPDevice, StaticDevice):
        for device in kind.objects.all():
            device.throttle_reset()


def wrong(code):
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.mark.django_db(transaction=True)  # unlock_staff runs as a real process and must see the lockout
def test_lockout_after_the_failure_limit_refuses_even_the_right_password_until_unlocked(client, alice, bob, settings):
    assert settings.ADMIN_LOCKOUT_FAILURES == settings.AXES_FAILURE_LIMIT == 10
    for _ in range(9):
        assert sign_in(client, "alice", WRONG).status_code == 200  # the form again, with its error
    tenth = sign_in(client, "alice", WRONG)
    assert tenth.status_code == 429 and "Sign-in locked" in tenth.content.decode()

    right = sign_in(client, "alice", PASSWORD)
    assert right.status_code == 429
    assert "Too many failed sign-ins (10 in a row)" in right.content.decode()
    assert "Try again in 15 minutes" in right.content.decode()
    assert client.get(INDEX).status_code == 302  # not signed in
    assert sign_in(Client(), "alice", PASSWORD, address=ELSEWHERE).status_code == 429  # the account, from anywhere
    assert sign_in(Client(), "bob", BOB_PASSWORD, address=HOME).status_code == 429  # the address, for any account
    assert signed_in(sign_in(Client(), "bob", BOB_PASSWORD, address=OFFICE))  # another account elsewhere: unaffected

    result = manage("unlock_staff", "alice", "--no-input", database=connection.settings_dict["NAME"])
    assert result.returncode == 0, result.stderr
    assert "Unlocked account 'alice'" in result.stdout and "recorded in audit_logs" in result.stdout
    assert signed_in(sign_in(client, "alice", PASSWORD))
    [unlock] = details("auth.unlock")
    assert unlock["username"] == "alice" and unlock["address"] is None and unlock["cleared"] >= 1


def test_each_sign_in_event_writes_one_audit_row(client, admin_client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    assert sign_in(client, "alice", WRONG).status_code == 200
    assert signed_in(sign_in(client, "alice", PASSWORD))
    assert client.post(LOGOUT, REMOTE_ADDR=HOME, HTTP_USER_AGENT=BROWSER).status_code == 200
    for _ in range(3):
        sign_in(client, "mallory", WRONG, address=ELSEWHERE)
    assert sign_in(client, "mallory", WRONG, address=ELSEWHERE).status_code == 429  # while locked

    client_details = {"address": HOME, "user_agent": BROWSER}
    staff = {"id": alice.pk, "username": "alice"}
    assert details("auth.login") == [{"username": "alice", **client_details, "staff": staff, "second_factor": None}]
    assert details("auth.logout") == [{"username": "alice", **client_details, "staff": staff}]
    failed = details("auth.login_failed")
    assert failed[0] == {"username": "alice", **client_details, "reason": "password", "locked": False}
    assert [(row["username"], row["address"], row["reason"], row["locked"]) for row in failed[1:]] == [
        ("mallory", ELSEWHERE, "password", False), ("mallory", ELSEWHERE, "password", False),
        ("mallory", ELSEWHERE, "password", True), ("mallory", ELSEWHERE, "locked_out", True),
    ]
    assert details("auth.lockout") == [{"username": "mallory", "address": ELSEWHERE, "user_agent": BROWSER,
                                        "failures": 3, "minutes": settings.ADMIN_LOCKOUT_MINUTES}]
    sign_ins = AuditLog.objects.filter(action__startswith="auth.")
    assert sign_ins.count() == 8
    assert set(sign_ins.values_list("org_id", "user_id", "resource")) == {("system", None, "admin")}

    AuditLog.objects.create(org_id="org_1a2b3c4d5e6f", action="export", resource="report", details={})
    listed = admin_client.get(AUDIT_CHANGELIST, {"sign_ins": "yes"}).context["cl"].result_list
    assert sorted(row.pk for row in listed) == sorted(sign_ins.values_list("pk", flat=True))


def test_a_long_user_agent_is_truncated_in_the_audit_row(client, alice):
    sign_in(client, "alice", WRONG)
    client.post(LOGIN, {"username": "alice", "password": WRONG}, REMOTE_ADDR=HOME, HTTP_USER_AGENT="A" * 5000)
    assert [len(row["user_agent"]) for row in details("auth.login_failed")] == [len(BROWSER), 200]


def test_no_password_or_code_in_audit_rows_lockout_records_or_log_lines(client, alice, two_factor_on, settings, log_lines):
    settings.AXES_FAILURE_LIMIT = 4
    app, recovery = two_factor.enrol(alice)
    bad_code = wrong(totp.code(app.config_url))
    sign_in(client, "alice", WRONG, code=bad_code)
    sign_in(client, "alice", PASSWORD, code=bad_code)
    assert signed_in(sign_in(client, "alice", PASSWORD, code=recovery[0]))
    client.post(LOGOUT)
    for _ in range(4):
        sign_in(client, "alice", WRONG, code=recovery[1])
    assert sign_in(client, "alice", PASSWORD, code=recovery[1]).status_code == 429

    assert len(details("auth.login_failed")) == 7 and details("auth.lockout") and details("auth.login")
    texts = [json.dumps(row) for row in AuditLog.objects.values_list("details", flat=True)]
    texts += [f"{a.get_data} {a.post_data}" for a in AccessAttempt.objects.all()]
    assert any("AXES" in line for line in log_lines)  # the capture was listening
    for secret in (PASSWORD, WRONG, bad_code, recovery[0], recovery[1]):
        assert not [text for text in texts + log_lines if secret in text], secret


def test_two_factor_required_password_alone_is_not_enough(client, alice, two_factor_on):
    app, _ = two_factor.enrol(alice)
    code = totp.code(app.config_url)
    page = client.get(LOGIN).content.decode()
    assert 'name="otp_token"' in page and 'autocomplete="one-time-code"' in page

    for attempt in (sign_in(client, "alice", PASSWORD), sign_in(client, "alice", PASSWORD, code=wrong(code)),
                    sign_in(client, "alice", WRONG, code=code)):
        assert attempt.status_code == 200 and TWO_FACTOR_REFUSAL in attempt.content.decode()
    assert client.get(INDEX).status_code == 302
    assert [row["reason"] for row in details("auth.login_failed")] == ["two_factor", "two_factor", "password"]

    retyped_later()
    assert signed_in(sign_in(client, "alice", PASSWORD, code=code))
    assert client.get(INDEX).status_code == 200
    assert details("auth.login")[0]["second_factor"] == two_factor.APP_DEVICE_NAME


def test_two_factor_required_a_session_without_the_second_factor_is_refused(client, alice, two_factor_on):
    client.force_login(alice)  # signed in some other way, with a password at most
    response = client.get(INDEX)
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_a_recovery_code_works_once_and_an_app_code_only_once(client, alice, two_factor_on):
    app, recovery = two_factor.enrol(alice)
    assert len(recovery) == two_factor.RECOVERY_CODES and not any(code.isdigit() for code in recovery)
    code = totp.code(app.config_url)
    assert signed_in(sign_in(client, "alice", PASSWORD, code=code))
    client.post(LOGOUT)
    assert sign_in(client, "alice", PASSWORD, code=code).status_code == 200  # replayed: refused
    retyped_later()
    assert signed_in(sign_in(client, "alice", PASSWORD, code=recovery[0].upper()))
    assert details("auth.login")[-1]["second_factor"] == two_factor.RECOVERY_DEVICE_NAME
    client.post(LOGOUT)
    assert sign_in(client, "alice", PASSWORD, code=recovery[0]).status_code == 200  # used up
    retyped_later()
    assert signed_in(sign_in(client, "alice", PASSWORD, code=recovery[1]))


def test_two_factor_required_staff_without_a_device_cannot_sign_in(client, alice, two_factor_on):
    response = sign_in(client, "alice", PASSWORD, code="123456")
    assert response.status_code == 200 and TWO_FACTOR_REFUSAL in response.content.decode()


def test_two_factor_off_the_password_is_enough(client, alice, settings):
    settings.ADMIN_REQUIRE_2FA = False
    assert 'name="otp_token"' not in client.get(LOGIN).content.decode()
    assert signed_in(sign_in(client, "alice", PASSWORD))
    assert client.get(INDEX).status_code == 200


def test_non_staff_with_the_right_password_is_a_failed_sign_in(client, django_user_model):
    django_user_model.objects.create_user("customer", password=PASSWORD)
    assert sign_in(client, "customer", PASSWORD).status_code == 200
    assert [row["reason"] for row in details("auth.login_failed")] == ["not_staff"]
    assert AccessAttempt.objects.filter(username="customer").exists()  # counts towards the lockout


def test_an_idle_session_expires_on_the_server(client, alice, settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_COOKIE_AGE == settings.ADMIN_SESSION_IDLE_MINUTES * 60
    assert signed_in(sign_in(client, "alice", PASSWORD))
    key = client.session.session_key
    soon = timezone.now() + datetime.timedelta(minutes=1)
    Session.objects.filter(pk=key).update(expire_date=soon)
    assert client.get(INDEX).status_code == 200
    assert Session.objects.get(pk=key).expire_date > soon  # each request moves the expiry on
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))  # left idle
    response = client.get(INDEX)
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_sign_out_ends_the_session_on_the_server(client, alice):
    assert signed_in(sign_in(client, "alice", PASSWORD))
    key = client.session.session_key
    assert Session.objects.filter(pk=key).exists()
    assert client.post(LOGOUT).status_code == 200
    assert not Session.objects.filter(pk=key).exists()
    replay = Client()
    replay.cookies[django_settings.SESSION_COOKIE_NAME] = key  # the old cookie, kept by someone
    assert replay.get(INDEX).status_code == 302


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(rf, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::/32"]

    def address(peer, forwarded=None):
        headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
        return client_address(rf.get("/", REMOTE_ADDR=peer, **headers))

    assert address(ELSEWHERE, HOME) == ELSEWHERE  # an untrusted peer's header is ignored
    assert address("10.0.0.2", HOME) == HOME
    assert address("10.0.0.2", f"6.6.6.6, {HOME}, 10.1.2.3") == HOME  # forged on the left, our proxies on the right
    assert address("2001:db8::1", f"{HOME}, 2001:db8::2") == HOME
    assert address("10.0.0.2", "not-an-address") == "10.0.0.2"
    assert address("10.0.0.2") == "10.0.0.2"
    settings.TRUSTED_PROXIES = []
    assert address("10.0.0.2", HOME) == "10.0.0.2"


def test_a_forged_forwarded_for_neither_hides_nor_splits_a_client(client, alice, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):  # one untrusted client, three accounts, a new forged address each time
        sign_in(client, f"guess{n}", WRONG, address=ELSEWHERE, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert sign_in(client, "alice", PASSWORD, address=ELSEWHERE, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429
    assert {row["address"] for row in details("auth.login_failed")} == {ELSEWHERE}
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ELSEWHERE}

    for n in range(3):  # behind our proxy: the client it names is locked, not the proxy
        sign_in(client, f"guess{n}", WRONG, address="10.0.0.2", HTTP_X_FORWARDED_FOR=HOME)
    assert sign_in(client, "alice", PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR=HOME).status_code == 429
    assert signed_in(sign_in(Client(), "alice", PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR=OFFICE))
    assert details("auth.login")[0]["address"] == OFFICE


QUERY = "from django.conf import settings as s; print(s.ADMIN_REQUIRE_2FA, s.SESSION_COOKIE_AGE, s.AXES_FAILURE_LIMIT)"


@pytest.mark.parametrize(("env", "shown"), [
    (PRODUCTION, "True 1800 10"),
    ({"DEBUG": "true"}, "False 1800 10"),  # scripts/run-app: one command, a password is enough
    ({**PRODUCTION, "ADMIN_REQUIRE_2FA": "false"}, "False 1800 10"),
    ({"DEBUG": "true", "ADMIN_REQUIRE_2FA": "true", "ADMIN_SESSION_IDLE_MINUTES": "5", "ADMIN_LOCKOUT_FAILURES": "5"},
     "True 300 5"),
])
def test_settings_from_the_environment(env, shown):
    result = manage("shell", "--no-imports", "-c", QUERY, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == shown


@pytest.mark.parametrize(("name", "value"), [
    ("TRUSTED_PROXIES", "10.0.0.1,proxy.internal"), ("ADMIN_LOCKOUT_FAILURES", "0"),
    ("ADMIN_SESSION_IDLE_MINUTES", "half an hour"), ("ADMIN_REQUIRE_2FA", "maybe"),
])
def test_a_bad_sign_in_setting_is_one_line(name, value):
    result = manage("check", env={name: value})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert name in result.stderr and "Traceback" not in result.stderr


def test_production_settings_pass_check_deploy_with_the_sign_in_protections():
    env = {**PRODUCTION, "DATABASE_URL": None, "TRUSTED_PROXIES": "10.0.0.0/8"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
