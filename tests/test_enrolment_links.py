"""Two-factor enrolment through a one-time, expiring link: the command, the admin page, the pages the person uses.

Through Django's test client on the real PostgreSQL, codes computed as an
authenticator app would (tests/totp.py) from the key the page shows. The
key and the recovery codes appear in that person's pages only: never in the
command's output, a log line, an audit row or a URL.
"""

import datetime
import json
import re
from html import unescape
from urllib.parse import unquote, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ecomind_core.models import AuditLog
from ecomind_core.signin import enrolment_links, two_factor
from ecomind_core.signin.qr_code import qr_code_data_uri
from tests import dbtools, totp
from tests.dbtools import manage
from tests.test_signin import BROWSER, HOME, PASSWORD, WRONG, log_lines  # noqa: F401 -- log_lines is a fixture

pytestmark = pytest.mark.django_db

ENROL = reverse("admin:enrolment")
ISSUE = reverse("admin:enrolment_link_issue")
KEY = re.compile(r'id="enrolment-key">([A-Z2-7 ]+)<')


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password=PASSWORD, is_staff=True)


@pytest.fixture
def two_factor_on(settings):
    settings.ADMIN_REQUIRE_2FA = True


def link_path(user, **kwargs):
    return reverse("admin:enrolment_open", args=[enrolment_links.issue(user, **kwargs).token])


def page_key(response):
    """The key as the page shows it (what a person would type into the app), as an otpauth URI for tests/totp.py."""
    key = KEY.search(response.content.decode())[1].replace(" ", "")
    return f"otpauth://totp/x?secret={key}"


def recovery_codes(response):
    return re.findall(r"<li>([a-z0-9]+)</li>", response.content.decode())


def open_and_sign_in(client, path, password=PASSWORD):
    opened = client.get(path, REMOTE_ADDR=HOME)
    assert opened.status_code == 302 and opened["Location"] == ENROL
    return client.post(ENROL, {"password": password}, REMOTE_ADDR=HOME, HTTP_USER_AGENT=BROWSER)


def enrol(client, path):
    assert open_and_sign_in(client, path).status_code == 302
    scan = client.get(ENROL, REMOTE_ADDR=HOME)
    uri = page_key(scan)
    done = client.post(ENROL, {"otp_token": totp.code(uri)}, REMOTE_ADDR=HOME, HTTP_USER_AGENT=BROWSER)
    return scan, done, uri


def audit(action):
    return [row.details for row in AuditLog.objects.filter(action=action).order_by("ts", "id")]


def test_the_whole_path_password_then_key_then_one_code_then_recovery_codes_once(client, alice, two_factor_on, log_lines):
    scan, done, uri = enrol(client, link_path(alice))
    assert scan.status_code == 200 and "no-store" in scan["Cache-Control"]
    assert 'src="data:image/svg+xml' in scan.content.decode()  # the QR code is in the page, not behind a URL
    # The QR code is the otpauth URI of the device the page made, and the key shown is its key.
    [device] = TOTPDevice.objects.filter(user=alice)
    assert device.confirmed and totp.secret(uri) == totp.secret(device.config_url)
    qr_code = unescape(re.search(r'class="enrolment-qr" src="([^"]+)"', scan.content.decode())[1])
    assert qr_code == qr_code_data_uri(device.config_url)  # the QR code is that device's otpauth:// URI
    codes = recovery_codes(done)
    assert done.status_code == 200 and "no-store" in done["Cache-Control"] and len(set(codes)) == 10
    assert sorted(codes) == sorted(StaticToken.objects.filter(device__user=alice).values_list("token", flat=True))
    # Signed in, with the new device: the admin lets the session in under two-factor.
    assert client.get(reverse("admin:index"), REMOTE_ADDR=HOME).status_code == 200
    assert int(client.session[SESSION_KEY]) == alice.pk
    # The recovery codes were shown once: the link is used up, the page shows nothing again.
    again = client.get(ENROL, REMOTE_ADDR=HOME)
    assert again.status_code == 404 and not recovery_codes(again)
    [row] = audit("auth.enrol_totp")
    assert row == {**row, "staff": {"id": alice.pk, "username": "alice"}, "via": "link", "replaced": False,
                   "recovery_codes": 10, "address": HOME}
    # The key and the codes: in her pages only.
    secrets = [totp.secret(uri), device.key, *codes]
    everything = json.dumps([r.details for r in AuditLog.objects.all()]) + "\n".join(log_lines)
    assert not any(secret in everything for secret in secrets)


def test_the_link_works_once(client, alice):
    path = link_path(alice)
    enrol(client, path)
    for again in (Client(), client):
        refused = again.get(path, REMOTE_ADDR=HOME)
        assert refused.status_code == 410 and "has been used" in unescape(refused.content.decode())


def test_every_earlier_link_stops_working_once_one_is_used_and_after_enrol_totp(client, alice):
    first, second = link_path(alice), link_path(alice)
    enrol(client, second)
    assert Client().get(first).status_code == 410
    third = link_path(alice)
    two_factor.enrol(alice)  # what enrol_totp --replace does
    assert Client().get(third).status_code == 410


def test_an_expired_a_forged_and_a_password_changed_link_are_refused(client, alice, settings):
    expired = enrolment_links.issue(alice, hours=1)
    payload = enrolment_links.signing.loads(expired.token, salt=enrolment_links.SALT)
    payload["e"] = int((datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)).timestamp())
    stale = enrolment_links.signing.dumps(payload, salt=enrolment_links.SALT, compress=False)
    response = client.get(reverse("admin:enrolment_open", args=[stale]))
    assert response.status_code == 410 and "expired" in response.content.decode()

    forged = expired.token[:-3] + ("aaa" if not expired.token.endswith("aaa") else "bbb")
    assert client.get(reverse("admin:enrolment_open", args=[forged])).status_code == 404

    path = link_path(alice)
    alice.set_password("An0ther-Passphrase-2026")
    alice.save()
    assert client.get(path).status_code == 410


def test_a_link_issued_under_the_previous_secret_key_still_works_during_a_key_rotation(client, alice, settings):
    path = link_path(alice)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-0123456789-abcdefghijklmnop"
    assert client.get(path).status_code == 302


def test_a_wrong_password_counts_towards_the_lockout_and_is_audited(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    path = link_path(alice)
    for _ in range(2):
        response = open_and_sign_in(client, path, password=WRONG)
        assert response.status_code == 400 and not TOTPDevice.objects.exists()
    assert open_and_sign_in(client, path, password=WRONG).status_code == 429  # locked out, as on the login page
    assert open_and_sign_in(client, path).status_code == 429  # even with the right password
    assert [row["reason"] for row in audit("auth.login_failed")] == ["password", "password", "password", "locked_out"]


def test_a_wrong_code_is_refused_and_the_account_keeps_its_old_key_until_a_right_one(client, alice):
    old_app, old_codes = two_factor.enrol(alice)
    assert open_and_sign_in(client, link_path(alice)).status_code == 302
    uri = page_key(client.get(ENROL))
    wrong = str((int(totp.code(uri)) + 1) % 1_000_000).zfill(6)
    refused = client.post(ENROL, {"otp_token": wrong})
    assert refused.status_code == 400 and "does not match" in refused.content.decode()
    # Until a right code, the old key and recovery codes still sign in; the new key does not.
    assert two_factor.verified_device(alice, totp.code(old_app.config_url)) is not None
    assert two_factor.verified_device(alice, totp.code(uri)) is None
    assert TOTPDevice.objects.get(pk=old_app.pk).confirmed


def test_a_replacement_through_a_link_ends_the_old_key_and_codes(client, alice):
    old_app, old_codes = two_factor.enrol(alice)
    _, done, uri = enrol(client, link_path(alice))
    assert "old key" in done.content.decode()
    assert not TOTPDevice.objects.filter(pk=old_app.pk).exists()
    assert two_factor.verified_device(alice, old_codes[0]) is None
    assert audit("auth.enrol_totp")[-1]["replaced"] is True


def test_the_page_without_a_link_or_with_a_used_session_says_to_open_the_link(client, alice):
    response = client.get(ENROL)
    assert response.status_code == 404 and "Open the enrolment link" in response.content.decode()


def test_the_token_leaves_the_address_bar_at_once(client, alice):
    path = link_path(alice)
    opened = client.get(path)
    assert opened.status_code == 302 and urlsplit(opened["Location"]).path == ENROL
    assert path.split("/")[-2] not in opened["Location"]


def test_a_non_staff_account_gets_no_link(django_user_model):
    customer = django_user_model.objects.create_user("customer", password=PASSWORD)
    with pytest.raises(enrolment_links.InvalidLink):
        enrolment_links.issue(customer)


# -- the superuser's page ------------------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(django_user_model):
    root = django_user_model.objects.create_user("root", password=PASSWORD, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(root)
    return client


def test_a_superuser_issues_a_link_in_the_admin_and_it_enrols(superuser_client, alice):
    index = superuser_client.get(reverse("admin:index")).content.decode()
    assert ISSUE in index and "Enrolment links" in index
    form = superuser_client.get(ISSUE)
    assert form.status_code == 200
    issued = superuser_client.post(ISSUE, {"account": "alice", "hours": 48})
    assert issued.status_code == 200 and "no-store" in issued["Cache-Control"]
    url = unescape(re.search(r'id="enrolment-link" value="([^"]+)"', issued.content.decode())[1])
    assert url.startswith("http://testserver/admin/enrol/")
    [row] = audit("auth.enrolment_link")
    assert row["for"] == {"id": alice.pk, "username": "alice"} and row["issued_by"]["username"] == "root"
    assert urlsplit(url).path.split("/")[-2] not in json.dumps(row)  # never the link
    _, done, _ = enrol(Client(), urlsplit(url).path)
    assert len(recovery_codes(done)) == 10


def test_only_superusers_issue_links(client, alice):
    client.force_login(alice)
    assert client.get(ISSUE).status_code == 403
    assert ISSUE not in client.get(reverse("admin:index")).content.decode()


# -- the command, as an operator runs it ---------------------------------------------------------------------------


ADD_STAFF = (
    "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) "
    "VALUES ('!', false, 'alice', '', '', '', true, true, now())"
)


@pytest.mark.parametrize("env", [{}, {"DEBUG": "false", "ALLOWED_HOSTS": "ecomind.example.com"}])
def test_the_command_prints_a_link_and_no_secret(migrated_db, env):
    dbtools.execute(migrated_db, ADD_STAFF)
    result = manage("enrolment_link", "alice", database=migrated_db, env=env)
    assert result.returncode == 0, result.stderr
    [url] = re.findall(r"https?://\S+/admin/enrol/\S+/", result.stdout)
    assert url.startswith("https://ecomind.example.com/" if env else "http://localhost:8000/")
    assert "otpauth" not in result.stdout and "secret" not in unquote(result.stdout).lower()
    assert dbtools.execute(migrated_db, "SELECT count(*) FROM otp_totp_totpdevice") == [(0,)]  # nothing made yet
    [(details,)] = dbtools.execute(migrated_db, "SELECT details::text FROM audit_logs WHERE action = 'auth.enrolment_link'")
    assert url.split("/")[-2] not in details and json.loads(details)["issued_by"] == {"command": "enrolment_link"}


@pytest.mark.parametrize(("args", "mention"), [
    (["bob"], "'bob' is not an active staff account"),
    (["alice", "--hours", "0"], "--hours must be from 1"),
])
def test_the_command_refuses_in_one_line(migrated_db, args, mention):
    dbtools.execute(migrated_db, ADD_STAFF)
    result = manage("enrolment_link", *args, database=migrated_db)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and mention in lines[0], result.stderr


def test_the_command_needs_an_address_for_the_link(migrated_db):
    dbtools.execute(migrated_db, ADD_STAFF)
    result = manage("enrolment_link", "alice", database=migrated_db, env={"DEBUG": "false", "ALLOWED_HOSTS": "*"})
    assert result.returncode == 2 and "--base-url" in result.stderr and "Traceback" not in result.stderr
    given = manage("enrolment_link", "alice", "--base-url", "https://admin.example.com/", database=migrated_db,
                   env={"DEBUG": "false", "ALLOWED_HOSTS": "*"})
    assert given.returncode == 0 and "https://admin.example.com/admin/enrol/" in given.stdout
