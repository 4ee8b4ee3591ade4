"""enrol_totp and unlock_staff as an operator runs them: real processes on a scratch database."""

import base64
import json

import pytest

from tests import dbtools, totp
from tests.dbtools import manage

ADD_USER = (
    "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) "
    "VALUES ('!', false, %s, '', '', '', %s, true, now())"
)
ADD_FAILURES = (
    "INSERT INTO axes_accessattempt (user_agent, ip_address, username, http_accept, path_info, attempt_time, "
    "get_data, post_data, failures_since_start) VALUES ('test', %s, %s, '*/*', '/admin/login/', now(), '', '', 10)"
)
OTP_TABLES = ("otp_totp_totpdevice", "otp_static_staticdevice", "otp_static_statictoken", "audit_logs")


def assert_one_line_refusal(result, *mentions):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for mention in mentions:
        assert mention in lines[0], lines[0]


def audit_details(dbname, action):
    return [json.loads(text) for (text,) in dbtools.execute(
        dbname, "SELECT details::text FROM audit_logs WHERE action = %s ORDER BY ts, id", [action])]


def enrolment(stdout):
    lines = [line.strip() for line in stdout.splitlines()]
    uri = next(line for line in lines if line.startswith("otpauth://"))
    codes = lines[lines.index(next(line for line in lines if line.startswith("Recovery codes"))) + 1:][:10]
    return uri, codes


@pytest.fixture
def staff_db(migrated_db):
    dbtools.execute(migrated_db, ADD_USER, ["alice", True])
    dbtools.execute(migrated_db, ADD_USER, ["customer", False])
    return migrated_db


def test_enrol_prints_a_key_and_recovery_codes_once_and_records_it(staff_db):
    result = manage("enrol_totp", "alice", database=staff_db)
    assert result.returncode == 0, result.stderr
    uri, codes = enrolment(result.stdout)
    assert uri.startswith("otpauth://totp/EcoMind%3Aalice?") and "issuer=EcoMind" in uri
    assert len(codes) == 10 and len(set(codes)) == 10
    [(key, confirmed)] = dbtools.execute(staff_db, "SELECT key, confirmed FROM otp_totp_totpdevice")
    assert confirmed and base64.b32encode(bytes.fromhex(key)).decode() == totp.secret(uri)
    stored = dbtools.execute(staff_db, "SELECT token FROM otp_static_statictoken ORDER BY token")
    assert [token for (token,) in stored] == sorted(codes)
    [row] = audit_details(staff_db, "auth.enrol_totp")
    assert row["staff"]["username"] == "alice" and row == {**row, "replaced": False, "recovery_codes": 10}
    assert not [secret for secret in (totp.secret(uri), *codes) if secret in json.dumps(row)]

    before = dbtools.table_checksums(staff_db, OTP_TABLES)
    again = manage("enrol_totp", "alice", database=staff_db)
    assert_one_line_refusal(again, "'alice' is enrolled already", "--replace")
    assert dbtools.table_checksums(staff_db, OTP_TABLES) == before

    replaced = manage("enrol_totp", "alice", "--replace", "--no-input", database=staff_db)
    assert replaced.returncode == 0, replaced.stderr
    new_uri, new_codes = enrolment(replaced.stdout)
    assert totp.secret(new_uri) != totp.secret(uri) and not set(new_codes) & set(codes)
    assert dbtools.execute(staff_db, "SELECT count(*) FROM otp_static_statictoken")[0][0] == 10
    assert dbtools.execute(staff_db, "SELECT count(*) FROM otp_totp_totpdevice")[0][0] == 1
    assert audit_details(staff_db, "auth.enrol_totp")[-1]["replaced"] is True


@pytest.mark.parametrize(("username", "mention"), [
    ("nobody", "'nobody' is not a staff account"), ("customer", "'customer' is not a staff account"),
])
def test_enrol_refuses_an_account_that_is_not_staff(staff_db, username, mention):
    before = dbtools.table_checksums(staff_db, OTP_TABLES)
    assert_one_line_refusal(manage("enrol_totp", username, database=staff_db), mention)
    assert dbtools.table_checksums(staff_db, OTP_TABLES) == before


def test_enrol_on_an_unreachable_database_is_one_line_without_the_password():
    result = manage("enrol_totp", "alice", env={"DATABASE_URL": "postgres://app:s3cr3t-pw@127.0.0.1:1/ecomind"})
    assert_one_line_refusal(result)
    assert "s3cr3t-pw" not in result.stdout + result.stderr


def test_unlock_by_address_clears_only_that_address(staff_db):
    dbtools.execute(staff_db, ADD_FAILURES, ["203.0.113.5", "alice"])
    dbtools.execute(staff_db, ADD_FAILURES, ["198.51.100.7", "bob"])
    result = manage("unlock_staff", "--address", "203.0.113.5", "--no-input", database=staff_db)
    assert result.returncode == 0, result.stderr
    assert "Unlocked address 203.0.113.5: 1 record of failed sign-ins cleared" in result.stdout
    assert dbtools.execute(staff_db, "SELECT username FROM axes_accessattempt") == [("bob",)]
    assert audit_details(staff_db, "auth.unlock") == [{"username": None, "address": "203.0.113.5", "cleared": 1}]


def test_unlock_with_nothing_locked_changes_nothing(staff_db):
    before = dbtools.table_checksums(staff_db, ("audit_logs", "axes_accessattempt"))
    result = manage("unlock_staff", "alice", "--no-input", database=staff_db)
    assert result.returncode == 0, result.stderr
    assert "nothing to unlock" in result.stdout
    assert dbtools.table_checksums(staff_db, ("audit_logs", "axes_accessattempt")) == before


@pytest.mark.parametrize(("args", "mention"), [
    ((), "name the account to unlock"),
    (("alice", "--address", "localhost"), "--address 'localhost' is not an IP address"),
    (("alice", "--adress", "203.0.113.5"), "unrecognized arguments"),
])
def test_unlock_usage_errors_are_one_line(staff_db, args, mention):
    assert_one_line_refusal(manage("unlock_staff", *args, database=staff_db), mention)
